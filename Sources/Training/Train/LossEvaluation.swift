import Datasets
import ModelFormats
import Support

/// The mean target-token loss of a model over one epoch of a dataset (`slideformer loss`).
public enum LossEvaluation {
    public struct Result: Equatable, Sendable {
        /// Σ cross-entropy / target tokens.
        public let loss: Double
        /// Target tokens scored.
        public let tokens: Int
    }

    public static func run(modelDirectory: String, dataPath: String, data: DataLoaderOptions,
                           device: TrainOptions.Device = .auto) throws -> Result {
        let config = try ModelConfig.load(path: modelDirectory + "/config.json")
        try data.check(against: config)
        let tokenizer = try ModelTokenizer.load(directory: modelDirectory)
        let loader = try DataLoader(path: dataPath, encoder: tokenizer.encoder, chatTemplate: tokenizer.chatTemplate, options: data)
        let model = try device.modelFactory()(ModelLayout(config), data.batchSize, data.seqLen)
        try model.loadParameters(try ModelWeights.load(directory: modelDirectory))
        return try evaluate(model, loader: loader)
    }

    /// Σ loss / Σ targets over the loader's next epoch of micro-batches.
    public static func evaluate(_ model: any TrainableModel, loader: DataLoader) throws -> Result {
        var lossSum = 0.0
        var targets = 0
        for _ in 0..<loader.batchesPerEpoch {
            let b = try loader.next()
            let r = try model.loss(inputIds: b.inputIds, labels: b.labels, batch: b.batchSize, seqLen: b.seqLen)
            lossSum += r.lossSum
            targets += r.targets
        }
        return Result(loss: targets > 0 ? lossSum / Double(targets) : .nan, tokens: targets)
    }
}
