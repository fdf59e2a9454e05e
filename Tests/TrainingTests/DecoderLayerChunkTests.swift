import Backends
import ModelFormats
import Support
import XCTest
@testable import Training

/// A decoder layer whose MLP runs in token chunks computes what the same layer computes over
/// all N tokens at once (CPU backend, f32): the forward output, ∂L/∂input and every weight
/// and bias gradient, which add to the gradients already there. N = 40 in chunks of 16
/// (16, 16, 8: a remainder chunk), for a Llama config with every bias (q/k/v, o, and the MLP's
/// gate/up/down) and for Qwen3 (q/k norm, q/k/v bias).
final class DecoderLayerChunkTests: XCTestCase {
    // Rows are independent through the MLP, so only the sums over tokens change order: each
    // weight/bias gradient is the sum of 3 chunk partial sums instead of one 40-term sum
    // (fp32, ~1e-7 relative per reduction). 1e-6 of each tensor's norm leaves a margin over
    // that noise, while a wrong, missing or doubled chunk is an O(0.1..1) relative error.
    // Measured: the output, ∂L/∂input and the gradients outside the MLP are bit-identical, the
    // MLP's weight and bias gradients differ by ~1.2e-7; skipping the remainder chunk gives 0.35.
    static let tolerance = 1e-6

    func testLlamaWithEveryBias() throws {
        try assertChunkedEqualsWhole(ModelConfig(
            family: .llama, hiddenSize: 32, intermediateSize: 48, numLayers: 1, numHeads: 4, numKVHeads: 2,
            headDim: 8, vocabSize: 97, rmsNormEps: 1e-5, ropeTheta: 10000, maxPositionEmbeddings: 64,
            tieWordEmbeddings: false, qkvBias: true, outputBias: true, mlpBias: true))
    }

    func testQwen3QKNorm() throws {
        try assertChunkedEqualsWhole(SlidingWindowEngineTests.config(layers: 1, qwen3: true))
    }

    private func assertChunkedEqualsWhole(_ c: ModelConfig, file: StaticString = #filePath, line: UInt = #line) throws {
        let backend = CPUBackend(threads: 2)
        let (batch, seqLen, chunk) = (2, 20, 16)
        let n = batch * seqLen, C = c.hiddenSize
        let layout = LayerLayout(c)
        var rng = SplitMix64(seed: 11)
        func uniform(_ count: Int, _ scale: Float) -> [Float] {
            (0..<count).map { _ in (Float(rng.next() >> 40) * 0x1p-24 * 2 - 1) * scale }
        }
        // Weights and biases in ±0.25, norm weights 1 ± 0.25.
        var weightValues = uniform(layout.count, 0.25)
        for slot in layout.tensors where slot.name.hasSuffix("norm.weight") {
            for i in slot.offset..<(slot.offset + slot.count) { weightValues[i] += 1 }
        }
        let weights = DecoderLayerTensors(layout: layout, buffer: try backend.makeBuffer(weightValues))
        let input = try backend.makeBuffer(uniform(n * C, 1))
        let dOutput = uniform(n * C, 1)
        let startingGradients = uniform(layout.count, 0.1)
        let positions = try backend.makeBuffer((0..<n).map { Int32($0 % seqLen) })
        let grid = TokenGrid(batch: batch, seqLen: seqLen, positions: positions.ref())
        let invFreq = try backend.makeBuffer(RopeFrequencies.inverseFrequencies(
            headDim: c.headDim, theta: c.ropeTheta, scaling: RopeFrequencyScaling(c.ropeScaling)))

        /// output (N,C), ∂L/∂input (N,C) and the layer's flat gradient buffer after one
        /// forward and one backward with MLP chunks of `mlpChunkTokens`.
        func run(mlpChunkTokens: Int) throws -> (output: [Float], dInput: [Float], gradients: [Float]) {
            let workspace = try DecoderLayerWorkspace(config: c, maxTokens: n, mlpChunkTokens: mlpChunkTokens,
                                                      storage: .f32, backend: backend)
            // The shared scratch holds the MLP's four (M,I) buffers of one chunk, or the
            // attention block's gradients (dAttention, dq, dk, dv; Qwen3's pre-norm dq, dk)
            // where those are larger.
            let attentionGradients = n * (2 * c.qDim + 2 * c.kvDim + (c.qkNorm ? c.qDim + c.kvDim : 0))
            XCTAssertEqual(workspace.sharedScratch.count,
                           max(4 * min(n, mlpChunkTokens) * c.intermediateSize, attentionGradients),
                           "the MLP buffers hold one chunk", file: file, line: line)
            XCTAssertEqual(workspace.dActivation.offset, 3 * min(n, mlpChunkTokens) * c.intermediateSize,
                           file: file, line: line)
            let layer = DecoderLayer(config: c, backend: backend, workspace: workspace, invFreq: invFreq.ref())
            let output = try backend.makeBuffer(.f32, count: n * C)
            layer.forward(input: input.ref(), output: output.ref(), weights: weights, grid: grid)
            let dResidual = try backend.makeBuffer(dOutput)
            let gradients = try backend.makeBuffer(startingGradients)
            layer.backward(input: input.ref(), dResidual: dResidual.ref(), weights: weights,
                           gradients: DecoderLayerTensors(layout: layout, buffer: gradients), grid: grid)
            return (backend.downloadFloats(output.ref(), count: n * C),
                    backend.downloadFloats(dResidual.ref(), count: n * C),
                    backend.downloadFloats(gradients.ref(), count: layout.count))
        }
        let whole = try run(mlpChunkTokens: n)
        let chunked = try run(mlpChunkTokens: chunk)

        XCTAssertLessThanOrEqual(relativeL2Error(chunked.output, whole.output), Self.tolerance, "output",
                                 file: file, line: line)
        XCTAssertLessThanOrEqual(relativeL2Error(chunked.dInput, whole.dInput), Self.tolerance, "∂L/∂input",
                                 file: file, line: line)
        for slot in layout.tensors {
            // What this backward added to the starting gradients.
            let range = slot.offset..<(slot.offset + slot.count)
            let added = { (g: [Float]) in range.map { g[$0] - startingGradients[$0] } }
            let reference = added(whole.gradients)
            XCTAssertGreaterThan(reference.map { Double($0 * $0) }.reduce(0, +), 0, "\(slot.name) got a gradient",
                                 file: file, line: line)
            XCTAssertLessThanOrEqual(relativeL2Error(added(chunked.gradients), reference), Self.tolerance, slot.name,
                                     file: file, line: line)
        }
    }
}
