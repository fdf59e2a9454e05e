import Backends
import ModelFormats
import XCTest
@testable import Training

/// With bf16 storage the engine's layers read their RMSNorm weights (input, post-attention,
/// q/k norms) and the final norm from f32 buffers holding the fp32 masters' exact values, as
/// resident training does (`DecoderModel`'s `NormWeightCopies`, autocast); the GEMM weights
/// are bf16. Checked on the CPU backend by inspecting the tensors the engine hands to
/// `DecoderLayer` after loading them (the CPU cannot run the bf16 engine's step).
final class SlidingWindowNormWeightTests: XCTestCase {
    private func download(_ ref: TensorRef, count: Int, _ backend: any Backend) -> [Float] {
        var out = [Float](repeating: .nan, count: count)
        out.withUnsafeMutableBytes { backend.download(ref, into: $0) }
        return out
    }

    func testBF16EngineReadsF32NormWeightsFromTheMasters() throws {
        let config = SlidingWindowEngineTests.config(layers: 4, qwen3: true)
        let layout = ModelLayout(config)
        let host = HostTrainingState(masters: TrainingBenchmark.randomWeights(config, pool: .shared))
        let backend = CPUBackend(threads: 1)
        // Layer 0 resident; layers 1...3 streamed through 2 slots (layer 3 shares layer 1's slot).
        let engine = try SlidingWindowEngine(host: host, backend: backend, storage: .bf16, window: 2, residentLayers: 1,
                                             landingBuffers: 2, maxBatch: 1, maxSeqLen: 6,
                                             hyperparameters: AdamWHyperparameters(), optimizerThreads: 1)
        let norms = ["input_layernorm.weight", "post_attention_layernorm.weight", "self_attn.q_norm.weight",
                     "self_attn.k_norm.weight"]
        for j in [0, 1, 2, 3] {
            engine.loadWeights(j, version: engine.updates)
            let t = engine.weights(j)
            let refs = [t.inputNorm, t.postAttentionNorm, try XCTUnwrap(t.qNorm), try XCTUnwrap(t.kNorm)]
            let masters = try XCTUnwrap(host.buffers.first { $0.name == "model.layers.\(j)" }).weights
            for (name, ref) in zip(norms, refs) {
                let slot = try XCTUnwrap(layout.layer.slot(name))
                XCTAssertEqual(ref.elementType, .f32, "layer \(j) \(name)")
                let expected = Array(masters.pointer[slot.offset..<(slot.offset + slot.count)])
                XCTAssertEqual(download(ref, count: slot.count, backend).map(\.bitPattern), expected.map(\.bitPattern),
                               "layer \(j) \(name)")
            }
            XCTAssertEqual(t.qProj.elementType, .bf16, "GEMM weights stay bf16")
            XCTAssertEqual(try XCTUnwrap(t.qBias).elementType, .bf16, "biases bf16, as in resident training")
        }
        engine.loadModelWeights(engine.model.finalNorm, version: engine.updates)
        let finalNorm = engine.model.finalNorm.deviceWeights
        XCTAssertEqual(finalNorm.elementType, .f32)
        let masters = try XCTUnwrap(host.buffers.first { $0.name == layout.finalNorm.name }).weights
        XCTAssertEqual(download(finalNorm.ref(), count: masters.count, backend).map(\.bitPattern),
                       Array(masters.pointer).map(\.bitPattern))
        XCTAssertEqual(engine.model.embedding.deviceWeights.elementType, .bf16)
        engine.drain()
    }
}
