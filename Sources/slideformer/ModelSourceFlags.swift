import ArgumentParser
import Support

/// `--model DIR | --config FILE`: a model folder, or a config.json alone (a shape without weights).
struct ModelSourceFlags: ParsableArguments {
    @Option(help: "A Hugging Face model folder (config.json, and safetensors where weights are used).")
    var model: String?

    @Option(help: "A Hugging Face config.json alone (e.g. bench/configs/llama-1.5b.json): random weights where weights are used.")
    var config: String?

    /// The config.json to read; exactly one of the two flags must be given.
    func configPath() throws -> String {
        guard (model == nil) != (config == nil) else { throw UsageError("give exactly one of --model and --config") }
        return config ?? (model ?? "") + "/config.json"
    }
}
