import ArgumentParser
import Support
import Training

/// `slideformer demo`: a self-contained training run, no files or network needed.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Train a tiny built-in model on bundled public-domain text, then sample from it.",
        discussion: "Writes the same output folder as `train` (a transformers-loadable model, metrics.csv, loss_curve.svg, checkpoints)."
    )

    @Option(help: "Output folder.")
    var output = Demo.defaultOutput

    @Option(help: "Optimizer steps.")
    var steps = Demo.defaultSteps

    @Option(help: "auto (the GPU when one is usable, else the CPU), cpu or cuda.")
    var device: TrainOptions.Device = .auto

    func run() throws {
        let r = try Demo.run(output: output, steps: steps, device: device)
        print("loss \(Format.fixed(r.firstLoss, 3)) at step 1 -> \(Format.fixed(r.lastLoss, 3)) at step \(r.train.step)")
        print("output: \(output) (config.json, model.safetensors, tokenizer files, metrics.csv, loss_curve.svg, checkpoints/)")
        print("sample: \(r.prompt)\(r.sample)")
    }
}
