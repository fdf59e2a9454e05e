import XCTest
@testable import ModelFormats

final class LayerLayoutTests: XCTestCase {
    // SmolLM2-135M's shape: 576 hidden, 1536 ffn, 9/3 heads of 64, 30 layers, tied 49152 vocab.
    let smol = ModelConfig(family: .llama, hiddenSize: 576, intermediateSize: 1536, numLayers: 30, numHeads: 9,
                           numKVHeads: 3, headDim: 64, vocabSize: 49152, rmsNormEps: 1e-5, ropeTheta: 100000,
                           maxPositionEmbeddings: 8192, tieWordEmbeddings: true)

    func testParameterCountMatchesSmolLM2() {
        // 134,515,008 is SmolLM2-135M's published parameter count (embedding counted once).
        XCTAssertEqual(ModelLayout(smol).parameterCount, 134_515_008)
    }

    func testOffsetsAlignedAndDisjoint() {
        var c = smol
        c.family = .qwen3; c.qkNorm = true; c.qkvBias = true
        let l = LayerLayout(c)
        var end = 0
        for t in l.tensors {
            XCTAssertEqual(t.offset % LayerLayout.alignment, 0, t.name)
            XCTAssertGreaterThanOrEqual(t.offset, end, t.name)
            end = t.offset + t.count
        }
        XCTAssertGreaterThanOrEqual(l.count, end)
        XCTAssertEqual(l.slot("self_attn.k_proj.weight")?.shape, [192, 576])
        XCTAssertEqual(l.slot("self_attn.q_norm.weight")?.shape, [64])
        XCTAssertEqual(l.slot("self_attn.q_proj.bias")?.decays, false)
        XCTAssertEqual(l.slot("mlp.down_proj.weight")?.decays, true)
    }
}
