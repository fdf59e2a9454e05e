import ArgumentParser
import ModelFormats
import Support
import Training

/// `slideformer bench train`: end-to-end training steps of a random-init model from a config.
struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training throughput (tok/s, TFLOPS, peak GPU memory) of a random-init model built from a config.json alone."
    )

    @Option(help: "A Hugging Face config.json (e.g. bench/configs/llama-1.5b.json).")
    var config: String

    @OptionGroup var step: BenchStepFlags

    @Flag(help: "Also time every op of one more step with device events (GPU only) and print where the time goes.")
    var profile = false

    @Flag(help: "Forward + backward only, every weight and gradient resident, no optimizer state or update: the compute bound.")
    var computeOnly = false

    func run() throws {
        let bench = try TrainingBenchmark(config: try ModelConfig.load(path: config), batch: step.batchSize, seqLen: step.seqLen, steps: step.steps,
                                          computeOnly: computeOnly)
        let r = try bench.run(device: try ComputeDevice.open(step.device), profile: profile)
        let gib = { (b: Int) in Format.fixed(Double(b) / Double(1 << 30), 2) + " GiB" }
        print("\(step.batchSize)x\(step.seqLen) tokens, \(r.parameters) parameters: \(Format.fixed(r.secondsPerStep * 1e3, 1)) ms/step, "
              + "\(Format.fixed(r.tokensPerSecond, 0)) tok/s, loss \(Format.fixed(r.lastLoss, 3))")
        print("TFLOPS: \(Format.named(r.tflops))")
        if let pool = r.peakPoolBytes, let used = r.deviceUsedBytes {
            print("GPU memory: pool peak \(gib(pool)), device in use \(gib(used)) (cuMemGetInfo, all processes)")
        }
        if let ops = r.profile { printOpProfile(ops) }
    }
}
