#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Backends
import Datasets
import ModelFormats
import Support
import Tokenization
import XCTest
@testable import Training

final class TrainerStepTests: XCTestCase {
    /// The logged loss of a step is Σ CE over its micro-batches / their total targets, measured
    /// before the update; the grad norm is that of the gradient of this mean.
    func testFirstStepLossIsTheTokenWeightedMeanBeforeTheUpdate() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        var o = f.options(output: "out", steps: 1)
        o.data.pack = false  // rows of different lengths: a per-micro-batch mean would differ
        _ = try f.run(o)
        let row = try XCTUnwrap(try MetricsLog.read(f.root + "/out/metrics.csv").first)

        let loader = try DataLoader(path: f.data, encoder: try Tokenizer(path: f.model), chatTemplate: nil, options: o.data)
        let weights = try ModelWeights.load(directory: f.model)
        let model = try DecoderModel(layout: weights.layout, backend: CPUBackend(threads: 1), maxBatch: 2, maxSeqLen: 16)
        model.loadParameters(weights)
        var sum = 0.0, targets = 0
        for _ in 0..<2 {
            let b = try loader.next()
            let r = try model.loss(inputIds: b.inputIds, labels: b.labels, batch: 2, seqLen: 16)
            XCTAssertEqual(r.targets, b.targetTokenCount)
            sum += r.lossSum
            targets += r.targets
        }
        XCTAssertEqual(row.loss, sum / Double(targets), accuracy: 1e-9 * row.loss)
    }

    func testTrainingLowersTheLoss() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        var o = f.options(output: "out", steps: 40)
        o.learningRate = 1e-2
        o.schedule = .constant
        let result = try f.run(o)
        let rows = try MetricsLog.read(f.root + "/out/metrics.csv")
        let before = try LossEvaluation.run(modelDirectory: f.model, dataPath: f.data, data: o.data)
        let after = try LossEvaluation.run(modelDirectory: f.root + "/out", dataPath: f.data, data: o.data)
        XCTAssertEqual(before.tokens, after.tokens)
        XCTAssertLessThan(rows.last!.loss, rows.first!.loss - 1.0, "\(rows.map(\.loss))")
        XCTAssertLessThan(after.loss, before.loss - 1.0)
        XCTAssertEqual(result.lastLoss, rows.last!.loss)
        // Random init: the loss starts near ln(vocab).
        XCTAssertEqual(before.loss, log(Double(TrainerFixture.config.vocabSize)), accuracy: 0.1)
    }
}
