import Backends
import ModelFormats
import XCTest
@testable import Training

/// One forward/backward of each family's tiny random model against PyTorch + transformers
/// (fp32, eager attention): logits, mean loss and every parameter gradient; with the MLP over
/// all tokens at once and in chunks of 5 tokens (2x16 tokens: 6 chunks and a remainder of 2).
final class DecoderModelGoldenTests: XCTestCase {
    // fp32 everywhere on both sides; the only differences are summation orders (GEMM
    // blocking, flash-style attention, chunked cross-entropy), each ~1e-7 relative per
    // reduction, compounded over 2 layers: logits and loss land near 1e-6.
    static let logitsTolerance = 1e-5
    static let lossTolerance = 1e-5
    // Gradients pass through more reductions (backward GEMMs over all tokens, attention
    // backward, norms' backward) and small gradients of bias/norm vectors amplify the
    // relative error: 1e-4 of the tensor's norm still catches any wrong term (a missing or
    // misplaced contribution is O(1) relative).
    static let gradientTolerance = 1e-4

    func testEveryFamilyMatchesPyTorch() throws {
        let backend = CPUBackend(threads: 2)
        for name in GoldenReference.modelNames {
            for mlpChunkTokens in [MemoryPlanner.mlpChunkTokens, 5] {
                try assertMatchesPyTorch(name, mlpChunkTokens: mlpChunkTokens, backend: backend)
            }
        }
    }

    private func assertMatchesPyTorch(_ name: String, mlpChunkTokens: Int, backend: any Backend) throws {
        let what = "\(name), MLP chunks of \(mlpChunkTokens)"
        let golden = try GoldenReference(name)
        let shape = try golden.shape("input_ids")
        let (batch, seqLen) = (shape[0], shape[1])
        let ids = try golden.tokens("input_ids"), labels = try golden.tokens("labels")
        let model = try DecoderModel(layout: golden.weights.layout, backend: backend,
                                     maxBatch: batch, maxSeqLen: seqLen, mlpChunkTokens: mlpChunkTokens)
        model.loadParameters(golden.weights)

        let logits = try model.allLogits(inputIds: ids, batch: batch, seqLen: seqLen)
        let logitsError = relativeL2Error(logits, try golden.floats("logits"))
        XCTAssertLessThanOrEqual(logitsError, Self.logitsTolerance, "\(what): logits")

        // lastLogits: the same numbers for the last position of row 0.
        let V = golden.weights.config.vocabSize
        let last = try model.lastLogits(inputIds: Array(ids[0..<seqLen]), seqLen: seqLen)
        XCTAssertLessThanOrEqual(relativeL2Error(last, logits[((seqLen - 1) * V)..<(seqLen * V)]), 1e-6,
                                 "\(what): lastLogits")

        let targets = targetCount(labels: labels, seqLen: seqLen)
        XCTAssertEqual(targets, golden.json["targets"]?.int)
        model.zeroGradients()
        let lossSum = try model.forwardBackward(inputIds: ids, labels: labels, batch: batch, seqLen: seqLen,
                                                lossScale: 1 / Float(targets))
        let loss = lossSum / Double(targets)
        let referenceLoss = Double(try golden.floats("loss")[0])
        let lossError = abs(loss - referenceLoss) / referenceLoss
        XCTAssertLessThanOrEqual(lossError, Self.lossTolerance, "\(what): loss \(loss) vs \(referenceLoss)")

        let forwardOnly = try model.loss(inputIds: ids, labels: labels, batch: batch, seqLen: seqLen)
        XCTAssertEqual(forwardOnly.targets, targets)
        XCTAssertEqual(forwardOnly.lossSum, lossSum, accuracy: 1e-6 * lossSum, "\(what): forward-only loss")

        let gradients = HostParameters(config: golden.weights.config)
        model.readGradients(into: gradients)
        var worst = (error: 0.0, tensor: "")
        for t in gradients.namedTensors {
            let error = relativeL2Error(t.values, try golden.floats("grad." + t.name))
            XCTAssertLessThanOrEqual(error, Self.gradientTolerance, "\(what): gradient of \(t.name)")
            if error > worst.error { worst = (error, t.name) }
        }
        print("golden \(what): logits \(logitsError), loss \(lossError), worst gradient \(worst.error) (\(worst.tensor))")
    }
}
