#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Datasets
import ModelFormats
import Support
import Tokenization

/// `slideformer demo`: trains a tiny built-in Llama-shaped model on the bundled text (on the GPU
/// when one is usable, else the CPU), with no files or network needed, and writes the same output
/// folder as `train`.
public enum Demo {
    public struct Result: Sendable {
        public let train: TrainResult
        /// Mean target-token loss of the first step (before any update) and of the last.
        public let firstLoss: Double
        public let lastLoss: Double
        public let prompt: String
        public let sample: String
    }

    public static let defaultOutput = "slideformer-demo"
    public static let defaultSteps = 500
    static let seed: UInt64 = 1234

    public static func options(output: String, steps: Int, modelDirectory: String, dataPath: String,
                               device: TrainOptions.Device = .auto) -> TrainOptions {
        var o = TrainOptions(modelDirectory: modelDirectory, dataPath: dataPath, outputDirectory: output,
                             data: DataLoaderOptions(seqLen: 64, batchSize: 8, seed: seed))
        o.device = device
        o.length = .steps(steps)
        o.learningRate = 3e-3
        o.minLearningRate = 3e-4
        o.warmupSteps = min(20, steps / 10)
        o.adamW.weightDecay = 0.01
        o.saveEvery = 100
        o.logEvery = 25
        return o
    }

    public static func run(output: String = defaultOutput, steps: Int = defaultSteps, device: TrainOptions.Device = .auto,
                           log: @escaping (String) -> Void = { print($0) }) throws -> Result {
        guard steps >= 1 else { throw UsageError("--steps must be at least 1, got \(steps)") }
        try removePreviousDemo(output, log: log)
        let inputs = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: inputs) }
        let modelDirectory = inputs + "/model", dataPath = inputs + "/data.jsonl"
        try DemoModel.writeFolder(modelDirectory, seed: seed)
        let rows = DemoText.paragraphs.map { JSON.object(JSONObject([("text", .string($0))])).serialized() }
        try AtomicOutput.write(rows.joined(separator: "\n") + "\n", to: dataPath)
        log("demo: a \(DemoModel.config.numLayers)-layer Llama-shaped model (random init, seed \(seed)), byte-level tokenizer, "
            + "\(DemoText.paragraphs.count) public-domain texts")

        let options = options(output: output, steps: steps, modelDirectory: modelDirectory, dataPath: dataPath, device: device)
        let trainer = try Trainer(options: options, log: log)
        let train = try trainer.run()
        let curve = try MetricsLog.read(output + "/" + OutputFolder.metricsFile)

        // Sample from the saved (bf16) model, as a user of the output folder would.
        let tokenizer = try Tokenizer(path: output)
        let window = options.data.seqLen
        let weights = try ModelWeights.load(directory: output)
        let model = try options.device.modelFactory()(weights.layout, 1, window)
        try model.loadParameters(weights)
        let prompt = "The Lion and the"
        let ids = try TextSampler(temperature: 0.7, seed: seed).generate(
            model, prompt: tokenizer.encode(prompt, addSpecialTokens: false), maxNewTokens: 160, window: window,
            stopToken: tokenizer.eosTokenId)
        return Result(train: train, firstLoss: curve.first?.loss ?? .nan, lastLoss: curve.last?.loss ?? .nan,
                      prompt: prompt, sample: tokenizer.decode(ids, skipSpecialTokens: true))
    }

    /// A previous demo's checkpoints in `output` would block a fresh run; they are removed,
    /// but only from a folder that holds the demo's model.
    private static func removePreviousDemo(_ output: String, log: (String) -> Void) throws {
        let checkpoints = output + "/" + Checkpoint.folderName
        guard FileManager.default.fileExists(atPath: checkpoints),
              (try? ModelConfig.load(path: output + "/config.json")) == DemoModel.config else { return }
        log("replacing the previous demo run in \(output)")
        try FileManager.default.removeItem(atPath: checkpoints)
    }

    private static func makeTemporaryDirectory() throws -> String {
        var template = Array((FileManager.default.temporaryDirectory.path + "/slideformer-demo-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw UsageError("cannot create a temporary folder: \(errnoText())") }
        return String(cString: made)
    }
}
