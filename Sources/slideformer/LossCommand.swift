import ArgumentParser
import Support
import Training

/// `slideformer loss`: a model's mean target-token loss over one pass of a dataset.
struct LossCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loss",
        abstract: "Print a model's mean target-token loss over a dataset as JSON: {\"loss\": L, \"tokens\": N}."
    )

    @Option(help: "Model folder: config.json, safetensors weights, tokenizer.json.")
    var model: String

    @OptionGroup var dataFlags: DataFlags

    @Option(help: "Compute device: auto (cuda when a usable GPU is found, else cpu), cpu or cuda.")
    var device = TrainOptions.defaults.device

    func run() throws {
        let r = try LossEvaluation.run(modelDirectory: model, dataPath: dataFlags.data, data: dataFlags.loaderOptions, device: device)
        let json = JSON.object(JSONObject([("loss", .double(r.loss)), ("tokens", .int(r.tokens))]))
        print(json.serialized(.init()))
    }
}
