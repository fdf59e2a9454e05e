import XCTest
import Support
import TestSupport
@testable import ModelFormats

final class ModelConfigTests: XCTestCase {
    /// Every fixture parses to what transformers built from it (scripts/make_config_fixtures.py).
    func testFixturesMatchTransformers() throws {
        let expected = try XCTUnwrap(readJSONFile(TestPaths.fixture("configs/expected.json")).object)
        XCTAssertGreaterThanOrEqual(expected.count, 9)
        for (name, e) in expected.pairs {
            let c = try ModelConfig.load(path: TestPaths.fixture("configs/\(name).json"))
            func int(_ k: String) -> Int? { e[k]?.int }
            XCTAssertEqual(c.family.rawValue, e["model_type"]?.string, name)
            XCTAssertEqual(c.hiddenSize, int("hidden_size"), name)
            XCTAssertEqual(c.intermediateSize, int("intermediate_size"), name)
            XCTAssertEqual(c.numLayers, int("num_hidden_layers"), name)
            XCTAssertEqual(c.numHeads, int("num_attention_heads"), name)
            XCTAssertEqual(c.numKVHeads, int("num_key_value_heads"), name)
            XCTAssertEqual(c.headDim, int("head_dim"), name)
            XCTAssertEqual(c.vocabSize, int("vocab_size"), name)
            XCTAssertEqual(c.rmsNormEps, e["rms_norm_eps"]?.double, name)
            XCTAssertEqual(c.ropeTheta, e["rope_theta"]?.double, name)
            XCTAssertEqual(c.maxPositionEmbeddings, int("max_position_embeddings"), name)
            XCTAssertEqual(c.tieWordEmbeddings, e["tie_word_embeddings"]?.bool, name)
            XCTAssertEqual(c.qkvBias, e["qkv_bias"]?.bool, name)
            XCTAssertEqual(c.outputBias, e["o_bias"]?.bool, name)
            XCTAssertEqual(c.mlpBias, e["mlp_bias"]?.bool, name)
            XCTAssertEqual(c.qkNorm, e["qk_norm"]?.bool, name)
            XCTAssertEqual(c.slidingWindow, int("sliding_window"), name)
            XCTAssertEqual(c.bosTokenId, int("bos_token_id"), name)
            XCTAssertEqual(c.eosTokenIds, e["eos_token_ids"]?.array?.compactMap(\.int), name)
            XCTAssertEqual(c.padTokenId, int("padding_idx"), name)
            let rope: ModelConfig.RopeScaling
            switch e["rope_type"]?.string {
            case "linear": rope = .linear(factor: e["rope_factor"]?.double ?? -1)
            case "llama3":
                rope = .llama3(factor: e["rope_factor"]?.double ?? -1, lowFreqFactor: e["low_freq_factor"]?.double ?? -1,
                               highFreqFactor: e["high_freq_factor"]?.double ?? -1,
                               originalMaxPositions: int("original_max_position_embeddings") ?? -1)
            default: rope = .none
            }
            XCTAssertEqual(c.ropeScaling, rope, name)
        }
    }

    /// What we write parses back to the same config, with and without the original as base.
    func testWrittenConfigRoundTrips() throws {
        let expected = try XCTUnwrap(readJSONFile(TestPaths.fixture("configs/expected.json")).object)
        for name in expected.keys {
            let path = TestPaths.fixture("configs/\(name).json")
            let c = try ModelConfig.load(path: path)
            let original = try XCTUnwrap(readJSONFile(path).object)
            for base in [nil, original] {
                let written = JSON.object(c.jsonObject(preserving: base))
                let reparsed = try ModelConfig(json: JSON.parse(written.serialized(.pretty)), file: "written")
                XCTAssertEqual(reparsed, c, name)
                XCTAssertEqual(written["dtype"]?.string, "bfloat16")
            }
        }
    }

    func testNullBOSStaysAbsentAcrossSaveAndLoad() throws {
        let fixture = try XCTUnwrap(readJSONFile(TestPaths.fixture("configs/expected.json")).object).keys.first!
        var o = try XCTUnwrap(readJSONFile(TestPaths.fixture("configs/\(fixture).json")).object)
        o["model_type"] = .string("llama")
        o["bos_token_id"] = .null
        let c = try ModelConfig(json: .object(o), file: "cfg.json")
        XCTAssertNil(c.bosTokenId)
        XCTAssertNil(try ModelConfig(json: .object(c.jsonObject()), file: "written").bosTokenId)
        o["bos_token_id"] = nil  // absent: transformers' Llama default
        XCTAssertEqual(try ModelConfig(json: .object(o), file: "cfg.json").bosTokenId, 1)
    }

    // MARK: bad input

    func mutated(_ fixture: String, _ change: (inout JSONObject) -> Void) throws -> JSON {
        var o = try XCTUnwrap(readJSONFile(TestPaths.fixture("configs/\(fixture).json")).object)
        change(&o)
        return .object(o)
    }

    func assertRejected(_ fixture: String, key: String, _ change: (inout JSONObject) -> Void,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let json = try mutated(fixture, change)
        XCTAssertThrowsError(try ModelConfig(json: json, file: "cfg.json"), file: file, line: line) { e in
            guard let ie = e as? InputError else { return XCTFail("not an InputError: \(e)", file: file, line: line) }
            XCTAssertEqual(ie.file, "cfg.json", file: file, line: line)
            XCTAssertEqual(ie.location, "key \(key)", "\(ie)", file: file, line: line)
        }
    }

    func testUnsupportedFeaturesRejected() throws {
        try assertRejected("qwen3", key: "model_type") { $0["model_type"] = .string("qwen3_moe") }
        try assertRejected("qwen3", key: "model_type") { $0["model_type"] = nil }
        try assertRejected("mistral", key: "num_local_experts") { $0["num_local_experts"] = .int(8) }
        try assertRejected("qwen2", key: "num_experts") { $0["num_experts"] = .int(60) }
        try assertRejected("llama3_scaled", key: "hidden_act") { $0["hidden_act"] = .string("gelu") }
        try assertRejected("llama3_scaled", key: "rope_parameters.rope_type") {
            $0["rope_parameters"] = .object(JSONObject([("rope_type", .string("yarn")), ("factor", .double(4))]))
        }
        try assertRejected("llama_legacy_minimal", key: "rope_scaling.type") {
            $0["rope_scaling"] = .object(JSONObject([("type", .string("dynamic")), ("factor", .double(2))]))
        }
        try assertRejected("llama3_scaled", key: "partial_rotary_factor") { $0["partial_rotary_factor"] = .double(0.5) }
        try assertRejected("qwen2", key: "layer_types") {
            $0["layer_types"] = .array([.string("full_attention"), .string("chunked_attention")])
        }
    }

    func testBadValuesRejected() throws {
        try assertRejected("qwen2", key: "hidden_size") { $0["hidden_size"] = .string("32") }
        try assertRejected("qwen2", key: "vocab_size") { $0["vocab_size"] = nil }
        try assertRejected("qwen2", key: "num_hidden_layers") { $0["num_hidden_layers"] = .int(0) }
        try assertRejected("qwen2", key: "intermediate_size") { $0["intermediate_size"] = .double(1.5) }
        try assertRejected("qwen2", key: "num_key_value_heads") { $0["num_key_value_heads"] = .int(3) }
        try assertRejected("llama3_scaled", key: "num_attention_heads") { $0["num_attention_heads"] = .int(6) }
        try assertRejected("llama3_scaled", key: "tie_word_embeddings") { $0["tie_word_embeddings"] = .int(1) }
        try assertRejected("llama3_scaled", key: "eos_token_id") { $0["eos_token_id"] = .array([.string("x")]) }
        try assertRejected("llama3_scaled", key: "rms_norm_eps") { $0["rms_norm_eps"] = .double(-1) }
        try assertRejected("llama_bias", key: "rope_parameters.factor") {
            $0["rope_parameters"] = .object(JSONObject([("rope_type", .string("linear"))]))
        }
        try assertRejected("mistral", key: "sliding_window") { $0["sliding_window"] = .int(-4) }
        try assertRejected("qwen2", key: "pad_token_id") { $0["pad_token_id"] = .int(64) }
        try assertRejected("qwen2", key: "pad_token_id") { $0["pad_token_id"] = .int(-65) }
        XCTAssertThrowsError(try ModelConfig(json: .array([]), file: "cfg.json")) { XCTAssertEqual(($0 as? InputError)?.file, "cfg.json") }
    }

    func testLoadNamesFileOnBadJSON() throws {
        let dir = try TestPaths.temporaryDirectory("cfg")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicOutput.write("{\"model_type\": ", to: dir + "/config.json")
        XCTAssertThrowsError(try ModelConfig.load(path: dir + "/config.json")) {
            XCTAssertEqual(($0 as? InputError)?.file, dir + "/config.json")
        }
    }

    /// A Mistral window is recorded (training must keep sequences within it); null means none.
    func testSlidingWindowRecorded() throws {
        XCTAssertEqual(try ModelConfig(json: mutated("mistral") { $0["sliding_window"] = .int(64) }, file: "m").slidingWindow, 64)
        XCTAssertNil(try ModelConfig(json: mutated("qwen2_legacy") { $0["use_sliding_window"] = .bool(false) }, file: "q").slidingWindow)
        // All layers below max_window_layers: no layer slides.
        XCTAssertNil(try ModelConfig(json: mutated("qwen2_legacy") { $0["max_window_layers"] = .int(3) }, file: "q").slidingWindow)
    }
}
