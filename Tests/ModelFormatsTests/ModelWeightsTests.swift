import XCTest
import Support
import TestSupport
@testable import ModelFormats

final class ModelWeightsTests: XCTestCase {
    let fixture = TestPaths.fixture("safetensors/sharded")

    func temporary(_ tag: String) throws -> String {
        let dir = try TestPaths.temporaryDirectory(tag)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func allValues(_ w: ModelWeights) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: w.namedTensors.map { ($0.name, Array($0.values)) })
    }

    /// The transformers-saved sharded Llama lands in the packed buffers with torch's values.
    func testLoadShardedTransformersModel() throws {
        let w = try ModelWeights.load(directory: fixture)
        let expected = try XCTUnwrap(readJSONFile(TestPaths.fixture("safetensors/sharded.expected.json")).object)
        let tensors = w.namedTensors
        XCTAssertEqual(Set(tensors.map(\.name)), Set(expected.keys))
        for t in tensors {
            let e = try XCTUnwrap(expected[t.name])
            XCTAssertEqual(t.shape, e["shape"]?.array?.compactMap(\.int), t.name)
            XCTAssertEqual(t.values.prefix(4).map(Double.init), e["first"]?.array?.compactMap(\.double), t.name)
            XCTAssertEqual(t.values.reduce(0.0) { $0 + Double($1) }, try XCTUnwrap(e["sum"]?.double), accuracy: 1e-9, t.name)
        }
        // Layer buffers are packed by the layout, padding zero.
        let layer = w.layout.layer
        XCTAssertEqual(w.layers.count, 2)
        let q = try XCTUnwrap(layer.slot("self_attn.q_proj.weight"))
        XCTAssertEqual(Array(w.layers[1].slice(q)), try values(fixture, "model.layers.1.self_attn.q_proj.weight"))
        var used = [Bool](repeating: false, count: layer.count)
        for s in layer.tensors { for i in s.offset..<(s.offset + s.count) { used[i] = true } }
        for b in w.layers { for i in 0..<layer.count where !used[i] { XCTAssertEqual(b.pointer[i], 0) } }
        XCTAssertNotNil(w.lmHead)
    }

    func values(_ dir: String, _ name: String) throws -> [Float] {
        let m = try SafeTensorsModel(directory: dir)
        var v = [Float](repeating: 0, count: try XCTUnwrap(m.info(name)).elementCount)
        try v.withUnsafeMutableBufferPointer { try m.readFloat32(name, into: $0) }
        return v
    }

    /// bf16 in → fp32 → bf16 out is exact; fp32 out is exact; sharding does not change values.
    func testSaveLoadRoundTrip() throws {
        let w = try ModelWeights.load(directory: fixture)
        let original = allValues(w)
        let source = try readJSONFile(fixture + "/config.json").object
        for (dtype, shard) in [(DType.bf16, 5_000_000_000), (.f32, 5_000_000_000), (.bf16, 3000)] {
            let out = try temporary("weights") + "/model"
            try w.save(to: out, dtype: dtype, maxShardBytes: shard, sourceConfig: source)
            let files = try FileManager.default.contentsOfDirectory(atPath: out)
            XCTAssertEqual(files.contains("model.safetensors.index.json"), shard < 5_000_000_000, "\(files)")
            let back = try ModelWeights.load(directory: out)
            XCTAssertEqual(back.config, w.config)
            XCTAssertEqual(allValues(back), original)
            let m = try SafeTensorsModel(directory: out)
            XCTAssertEqual(m.info("model.norm.weight")?.dtype, dtype)
            let config = try readJSONFile(out + "/config.json")
            XCTAssertEqual(config["initializer_range"]?.double, 0.02)  // kept from the source config
            XCTAssertEqual(config["dtype"]?.string, dtype == .f32 ? "float32" : "bfloat16")
        }
    }

    /// Tied: no lm_head.weight written; bf16 rounding is what is stored.
    func testTiedModelSave() throws {
        let config = try ModelConfig.load(path: TestPaths.fixture("configs/llama3_scaled.json"))
        XCTAssertTrue(config.tieWordEmbeddings)
        let w = ModelWeights(config: config)
        XCTAssertNil(w.lmHead)
        for (k, t) in w.namedTensors.enumerated() {
            for i in t.values.indices { t.values[i] = Float(i % 97) * 0.013 - Float(k) * 0.1 }
        }
        let out = try temporary("tied") + "/m"
        try w.save(to: out)
        let m = try SafeTensorsModel(directory: out)
        XCTAssertNil(m.info("lm_head.weight"))
        XCTAssertEqual(m.tensorNames.count, w.namedTensors.count)
        let back = try ModelWeights.load(directory: out)
        XCTAssertEqual(back.config, config)
        for (a, b) in zip(w.namedTensors, back.namedTensors) {
            XCTAssertEqual(b.values.map(\.bitPattern), a.values.map { BFloat16.toFloat(BFloat16.fromFloat($0)).bitPattern }, a.name)
        }
    }

    // MARK: bad checkpoints

    /// The fixture's config with tensors rewritten by `edit` (specs in, specs out; values zero).
    func checkpoint(_ edit: (inout [TensorSpec]) -> Void) throws -> String {
        let w = try ModelWeights.load(directory: fixture)
        var specs = w.namedTensors.map { TensorSpec(name: $0.name, dtype: .bf16, shape: $0.shape) }
        edit(&specs)
        let dir = try temporary("bad")
        try SafeTensorsWriter.write(specs, toDirectory: dir) { _, d in d.initializeMemory(as: UInt8.self, repeating: 0) }
        try FileManager.default.copyItem(atPath: fixture + "/config.json", toPath: dir + "/config.json")
        return dir
    }

    func assertLoadFails(_ dir: String, tensor: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ModelWeights.load(directory: dir), file: file, line: line) { e in
            guard let ie = e as? InputError else { return XCTFail("not an InputError: \(e)", file: file, line: line) }
            XCTAssertTrue(ie.file.hasPrefix(dir), "\(ie)", file: file, line: line)
            XCTAssertEqual(ie.location, "tensor \(tensor)", "\(ie)", file: file, line: line)
        }
    }

    func testMissingTensor() throws {
        let name = "model.layers.1.mlp.up_proj.weight"
        assertLoadFails(try checkpoint { $0.removeAll { $0.name == name } }, tensor: name)
        assertLoadFails(try checkpoint { $0.removeAll { $0.name == "lm_head.weight" } }, tensor: "lm_head.weight")
    }

    func testWrongShape() throws {
        let name = "model.layers.0.self_attn.k_proj.weight"
        assertLoadFails(try checkpoint { specs in
            if let i = specs.firstIndex(where: { $0.name == name }) { specs[i].shape = [16, 8] }
        }, tensor: name)
    }

    func testUnexpectedTensors() throws {
        let extraLayer = "model.layers.2.input_layernorm.weight"
        assertLoadFails(try checkpoint { $0.append(TensorSpec(name: extraLayer, dtype: .bf16, shape: [16])) }, tensor: extraLayer)
        let bias = "model.layers.0.self_attn.o_proj.bias"
        assertLoadFails(try checkpoint { $0.append(TensorSpec(name: bias, dtype: .bf16, shape: [16])) }, tensor: bias)
        // Old checkpoints' rotary buffers are ignored.
        let dir = try checkpoint { $0.append(TensorSpec(name: "model.layers.0.self_attn.rotary_emb.inv_freq", dtype: .f32, shape: [2])) }
        XCTAssertNoThrow(try ModelWeights.load(directory: dir))
    }

    /// Set SLIDEFORMER_ROUNDTRIP_IN (folders of transformers models) and SLIDEFORMER_ROUNDTRIP_OUT:
    /// each model is loaded and saved as <out>/<name>-bf16 and <out>/<name>-f32 for
    /// scripts/check_safetensors_roundtrip.py to load back with transformers.
    func testRoundTripThroughTransformers() throws {
        let env = ProcessInfo.processInfo.environment
        guard let input = env["SLIDEFORMER_ROUNDTRIP_IN"], let output = env["SLIDEFORMER_ROUNDTRIP_OUT"] else {
            throw XCTSkip("SLIDEFORMER_ROUNDTRIP_IN / SLIDEFORMER_ROUNDTRIP_OUT not set")
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: input).sorted() {
            let dir = input + "/" + name
            let w = try ModelWeights.load(directory: dir)
            let source = try readJSONFile(dir + "/config.json").object
            try w.save(to: "\(output)/\(name)-bf16", dtype: .bf16, sourceConfig: source)
            try w.save(to: "\(output)/\(name)-f32", dtype: .f32, maxShardBytes: 20_000)
        }
    }
}
