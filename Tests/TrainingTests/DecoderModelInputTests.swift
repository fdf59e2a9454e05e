import Backends
import ModelFormats
import Support
import XCTest
@testable import Training

/// Batch shapes other than the buffers' maximum, forward-only passes, and bad input.
final class DecoderModelInputTests: XCTestCase {
    private let backend = CPUBackend(threads: 2)

    /// A model with room for more and longer rows than the golden batch.
    private func goldenModel(_ name: String) throws -> (GoldenReference, DecoderModel) {
        let golden = try GoldenReference(name)
        let model = try DecoderModel(layout: golden.weights.layout, backend: backend, maxBatch: 3, maxSeqLen: 20)
        model.loadParameters(golden.weights)
        return (golden, model)
    }

    func testShorterRowsThanTheBuffersMatchPyTorchPrefixes() throws {
        let (golden, model) = try goldenModel("qwen3")
        let seqLen = try golden.shape("input_ids")[1], V = golden.weights.config.vocabSize
        let ids = try golden.tokens("input_ids"), logits = try golden.floats("logits")
        // Causal attention: the logits at position t of a prefix are PyTorch's at t.
        for (row, length) in [(0, 1), (0, 7), (1, seqLen)] {
            let prefix = Array(ids[(row * seqLen)..<(row * seqLen + length)])
            let reference = logits[((row * seqLen + length - 1) * V)..<((row * seqLen + length) * V)]
            let last = try model.lastLogits(inputIds: prefix, seqLen: length)
            XCTAssertLessThanOrEqual(relativeL2Error(last, reference), 1e-5, "row \(row), \(length) tokens")
        }
    }

    func testMicroBatchesAccumulateToTheWholeBatchGradient() throws {
        let (golden, model) = try goldenModel("llama_untied_bias")
        let seqLen = try golden.shape("input_ids")[1]
        let ids = try golden.tokens("input_ids"), labels = try golden.tokens("labels")
        let scale = 1 / Float(targetCount(labels: labels, seqLen: seqLen))
        let whole = HostParameters(config: golden.weights.config), split = HostParameters(config: golden.weights.config)

        model.zeroGradients()
        let wholeLoss = try model.forwardBackward(inputIds: ids, labels: labels, batch: 2, seqLen: seqLen, lossScale: scale)
        model.readGradients(into: whole)
        model.zeroGradients()
        var splitLoss = 0.0
        for row in 0..<2 {
            let r = (row * seqLen)..<((row + 1) * seqLen)
            splitLoss += try model.forwardBackward(inputIds: Array(ids[r]), labels: Array(labels[r]), batch: 1,
                                                   seqLen: seqLen, lossScale: scale)
        }
        model.readGradients(into: split)
        XCTAssertEqual(splitLoss, wholeLoss, accuracy: 1e-5 * wholeLoss)
        for (a, b) in zip(split.namedTensors, whole.namedTensors) {
            XCTAssertLessThanOrEqual(relativeL2Error(a.values, b.values), 1e-5, a.name)
        }
    }

    func testForwardOnlyLossLeavesGradientsZero() throws {
        let (golden, model) = try goldenModel("qwen2")
        let seqLen = try golden.shape("input_ids")[1]
        let labels = try golden.tokens("labels")
        model.zeroGradients()
        let result = try model.loss(inputIds: try golden.tokens("input_ids"), labels: labels, batch: 2, seqLen: seqLen)
        XCTAssertEqual(result.targets, targetCount(labels: labels, seqLen: seqLen))
        XCTAssertEqual(result.lossSum / Double(result.targets), Double(try golden.floats("loss")[0]), accuracy: 1e-5 * result.lossSum)
        let gradients = HostParameters(config: golden.weights.config)
        model.readGradients(into: gradients)
        for t in gradients.namedTensors { XCTAssertTrue(t.values.allSatisfy { $0 == 0 }, t.name) }
    }

    func testBadBatchesAreRejectedWithTheirPlace() throws {
        let (golden, model) = try goldenModel("mistral")
        let ids = [Int32](repeating: 5, count: 8), labels = [Int32](repeating: 7, count: 8)
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "no error"
        }
        let pass = { (ids: [Int32], labels: [Int32], batch: Int, seqLen: Int) in
            _ = try model.forwardBackward(inputIds: ids, labels: labels, batch: batch, seqLen: seqLen, lossScale: 1)
        }
        var badId = ids
        badId[6] = 128
        XCTAssertEqual(message { try pass(badId, labels, 2, 4) },
                       "input id 128 at row 1, position 2 is outside the vocabulary (0..<128)")
        var badLabel = labels
        badLabel[3] = -1
        XCTAssertEqual(message { try pass(ids, badLabel, 2, 4) },
                       "label -1 at row 0, position 3 is neither a token (0..<128) nor -100")
        XCTAssertEqual(message { try pass(ids, labels, 3, 4) }, "8 input ids for 12 tokens")
        XCTAssertEqual(message { try pass(ids, Array(labels.prefix(4)), 2, 4) }, "4 labels for 8 tokens")
        XCTAssertEqual(message { try pass(ids, labels, 4, 2) }, "batch 4 × 2 tokens exceeds the model's buffers (3 × 20)")
        XCTAssertEqual(message { try pass([], [], 0, 4) }, "a batch needs at least one row of one token (got 0 × 4)")
        XCTAssertEqual(message { _ = try model.lastLogits(inputIds: ids, seqLen: 21) },
                       "batch 1 × 21 tokens exceeds the model's buffers (3 × 20)")

        var windowed = golden.weights.config
        windowed.slidingWindow = 16
        XCTAssertEqual(message { _ = try DecoderModel(layout: ModelLayout(windowed), backend: self.backend, maxBatch: 1, maxSeqLen: 17) },
                       "sequences of 17 tokens exceed the model's sliding window of 16")
        XCTAssertNoThrow(try DecoderModel(layout: ModelLayout(windowed), backend: backend, maxBatch: 1, maxSeqLen: 16))
    }
}
