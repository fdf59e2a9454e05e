#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Datasets
import ModelFormats
import Support
import TestSupport
@testable import Training

/// A tiny Llama-shaped model folder (byte-level tokenizer, random init) and a small text
/// dataset, so trainer tests run in a fraction of a second each.
struct TrainerFixture {
    static let config = ModelConfig(
        family: .llama, hiddenSize: 16, intermediateSize: 32, numLayers: 2, numHeads: 2, numKVHeads: 1, headDim: 8,
        vocabSize: ByteLevelTokenizerFiles.vocabularySize, rmsNormEps: 1e-5, ropeTheta: 10000,
        maxPositionEmbeddings: 64, tieWordEmbeddings: false, bosTokenId: 256, eosTokenIds: [256])

    let root: String
    var model: String { root + "/model" }
    var data: String { root + "/data.jsonl" }

    init() throws {
        root = try TestPaths.temporaryDirectory("trainer")
        try DemoModel.writeFolder(model, config: Self.config, seed: 7)
        let rows = DemoText.paragraphs.prefix(3).map { JSON.object(JSONObject([("text", .string($0))])).serialized() }
        try AtomicOutput.write(rows.joined(separator: "\n") + "\n", to: data)
    }

    /// Options for a short run into `root/<output>`: 8-token rows, micro-batches of 2, 2 per step.
    func options(output: String, steps: Int = 6) -> TrainOptions {
        var o = TrainOptions(modelDirectory: model, dataPath: data, outputDirectory: root + "/" + output,
                             data: DataLoaderOptions(seqLen: 16, batchSize: 2, seed: 3))
        o.device = .cpu
        o.gradAccum = 2
        o.length = .steps(steps)
        o.learningRate = 1e-2
        o.warmupSteps = 2
        o.adamW.weightDecay = 0.1
        o.saveEvery = 0
        o.logEvery = 1000
        return o
    }

    func run(_ options: TrainOptions) throws -> TrainResult {
        try Trainer(options: options, log: { _ in }).run()
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}
