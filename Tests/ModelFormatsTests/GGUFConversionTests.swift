import XCTest
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Support
import TestSupport
@testable import ModelFormats

final class GGUFConversionTests: XCTestCase {
    func testTinyLlamaBecomesAHuggingFaceFolder() throws {
        let (gguf, expected) = TinyLlama.make(tied: true)
        let out = try convert(gguf)

        let weights = try SafeTensorsFile(path: out + "/model.safetensors")
        XCTAssertEqual(Set(weights.tensors.map(\.name)), Set(expected.keys))
        XCTAssertNil(weights.info("lm_head.weight"), "no output.weight in the GGUF: tied")
        for (name, (shape, values)) in expected {
            let info = try XCTUnwrap(weights.info(name), name)
            XCTAssertEqual(info.dtype, .bf16, name)
            XCTAssertEqual(info.shape, shape, name)
            var read = [Float](repeating: .nan, count: values.count)
            try read.withUnsafeMutableBufferPointer { try weights.readFloat32(name, into: $0) }
            // Values are exact in bf16, and q/k rows must be back in Hugging Face order.
            XCTAssertEqual(read, values, name)
        }

        let config = try readJSONFile(out + "/config.json")
        XCTAssertEqual(config["architectures"]?[0]?.string, "LlamaForCausalLM")
        XCTAssertEqual(config["model_type"]?.string, "llama")
        XCTAssertEqual(config["hidden_size"]?.int, TinyLlama.hidden)
        XCTAssertEqual(config["intermediate_size"]?.int, TinyLlama.intermediate)
        XCTAssertEqual(config["num_hidden_layers"]?.int, TinyLlama.layers)
        XCTAssertEqual(config["num_attention_heads"]?.int, TinyLlama.heads)
        XCTAssertEqual(config["num_key_value_heads"]?.int, TinyLlama.kvHeads)
        XCTAssertNil(config["head_dim"], "head_dim = hidden / heads is implied")
        XCTAssertEqual(config["rms_norm_eps"], .double(1e-6))
        XCTAssertEqual(config["rope_theta"], .double(10000))
        XCTAssertEqual(config["rope_scaling"], .null)
        XCTAssertEqual(config["max_position_embeddings"]?.int, 256)
        XCTAssertEqual(config["vocab_size"]?.int, TinyLlama.tokens.count)
        XCTAssertEqual(config["tie_word_embeddings"]?.bool, true)
        XCTAssertEqual(config["bos_token_id"]?.int, 1)
        XCTAssertEqual(config["eos_token_id"]?.int, 2)
        XCTAssertEqual(config["torch_dtype"]?.string, "bfloat16")
        // The project's own config reader accepts it with the same numbers.
        let parsed = try ModelConfig.load(path: out + "/config.json")
        XCTAssertEqual(parsed.family, .llama)
        XCTAssertEqual(parsed.headDim, TinyLlama.headDim)
        XCTAssertEqual(parsed.numKVHeads, TinyLlama.kvHeads)
        XCTAssertTrue(parsed.tieWordEmbeddings)

        let generation = try readJSONFile(out + "/generation_config.json")
        XCTAssertEqual(generation["bos_token_id"]?.int, 1)
        XCTAssertEqual(generation["eos_token_id"]?.int, 2)
        XCTAssertEqual(generation["pad_token_id"]?.int, 0)
    }

    func testTokenizerFiles() throws {
        let out = try convert(TinyLlama.make().file)
        let tokenizer = try readJSONFile(out + "/tokenizer.json")
        let model = try XCTUnwrap(tokenizer["model"])
        XCTAssertEqual(model["type"]?.string, "BPE")
        let vocab = try XCTUnwrap(model["vocab"]?.object)
        XCTAssertEqual(vocab.count, TinyLlama.tokens.count)
        XCTAssertEqual(vocab["Ġa"]?.int, 7)
        XCTAssertEqual(vocab["é"]?.int, 8, "é is a byte-level character itself")
        XCTAssertEqual(vocab["xĠy"]?.int, 9, "a token with a plain space is respelled in the byte alphabet")
        XCTAssertEqual(model["merges"], .array([.array([.string("a"), .string("b")]), .array([.string("Ġ"), .string("a")])]))

        let added = try XCTUnwrap(tokenizer["added_tokens"]?.array)
        let summary = added.map { "\($0["id"]?.int ?? -1):\($0["content"]?.string ?? ""):\($0["special"]?.bool ?? false)" }
        // Control tokens are special, user-defined ones added but not special; a "control" token
        // outside the byte alphabet is llama.cpp's mislabel and is left out.
        XCTAssertEqual(summary, ["0:<|endoftext|>:true", "1:<|im_start|>:true", "2:<|im_end|>:true", "10:<think>:false"])

        let pre = try XCTUnwrap(tokenizer["pre_tokenizer"]?["pretokenizers"]?.array)
        XCTAssertEqual(pre.first?["type"]?.string, "Digits", "smollm splits digits one by one, as llama.cpp does")
        XCTAssertEqual(pre.last?["type"]?.string, "ByteLevel")
        XCTAssertEqual(tokenizer["decoder"]?["type"]?.string, "ByteLevel")
        // add_bos_token: the post-processor prepends <|im_start|>.
        let single = try XCTUnwrap(tokenizer["post_processor"]?["single"]?.array)
        XCTAssertEqual(single.first?["SpecialToken"]?["id"]?.string, "<|im_start|>")
        XCTAssertEqual(tokenizer["post_processor"]?["special_tokens"]?["<|im_start|>"]?["ids"], .array([.int(1)]))

        let config = try readJSONFile(out + "/tokenizer_config.json")
        XCTAssertEqual(config["add_bos_token"]?.bool, true)
        XCTAssertEqual(config["add_eos_token"]?.bool, false)
        XCTAssertEqual(config["bos_token"]?.string, "<|im_start|>")
        XCTAssertEqual(config["eos_token"]?.string, "<|im_end|>")
        XCTAssertEqual(config["pad_token"]?.string, "<|endoftext|>")
        XCTAssertNil(config["unk_token"])
        XCTAssertEqual(config["chat_template"]?.string, "{{ messages }}")
        XCTAssertEqual(config["model_max_length"]?.int, 256)
    }

    func testPreTokenizerFollowsTokenizerGGMLPre() throws {
        for (pre, regexStart) in [("llama-bpe", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"),
                                  ("qwen2", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|")] {
            let split = try XCTUnwrap(GGUFTokenizer.preTokenizerJSON(pre)?["pretokenizers"]?[0])
            XCTAssertEqual(split["type"]?.string, "Split")
            XCTAssertEqual(split["behavior"]?.string, "Isolated")
            XCTAssertTrue(split["pattern"]?["Regex"]?.string?.hasPrefix(regexStart) ?? false, pre)
        }
        XCTAssertEqual(GGUFTokenizer.preTokenizerJSON("gpt2")?["use_regex"]?.bool, true)
        XCTAssertNil(GGUFTokenizer.preTokenizerJSON("some-new-pre"))
    }

    func testSeparateLMHead() throws {
        let (gguf, expected) = TinyLlama.make(tied: false)
        let out = try convert(gguf)
        let weights = try SafeTensorsFile(path: out + "/model.safetensors")
        XCTAssertEqual(weights.info("lm_head.weight")?.shape, expected["lm_head.weight"]?.shape)
        XCTAssertEqual(try readJSONFile(out + "/config.json")["tie_word_embeddings"]?.bool, false)
    }

    func testHeadDimAndRopeScalingKeys() throws {
        var gguf = TinyLlama.make().file
        gguf["llama.rope.scaling.type"] = .string("linear")
        gguf["llama.rope.scaling.factor"] = .f32(4)
        let config = try GGUFLlamaConfig(file: try open(gguf))
        XCTAssertEqual(config.configJSON["rope_scaling"],
                       .object(JSONObject([("factor", .double(4)), ("rope_type", .string("linear"))])))

        var yarn = TinyLlama.make().file
        yarn["llama.rope.scaling.type"] = .string("yarn")
        yarn["llama.rope.scaling.factor"] = .f32(2)
        yarn["llama.rope.scaling.original_context_length"] = .u32(128)
        XCTAssertEqual(try GGUFLlamaConfig(file: try open(yarn)).configJSON["rope_scaling"]?["original_max_position_embeddings"]?.int, 128)
    }

    /// Llama 3.1 GGUFs carry their rope scaling only as `rope_freqs.weight`; the parameters come back out.
    func testLlama3RopeScalingFromRopeFreqs() throws {
        let headDim = 128
        var gguf = GGUFTestFile()
        gguf["general.architecture"] = .string("llama")
        gguf["llama.embedding_length"] = .u32(256)
        gguf["llama.attention.head_count"] = .u32(2)
        gguf["llama.block_count"] = .u32(1)
        gguf["llama.feed_forward_length"] = .u32(8)
        gguf["llama.context_length"] = .u32(131072)
        gguf["llama.attention.layer_norm_rms_epsilon"] = .f32(1e-5)
        gguf["llama.rope.freq_base"] = .f32(500000)
        gguf["llama.vocab_size"] = .u32(4)
        // Llama 3.2's divisors as transformers computes them (scripts/make_gguf_fixture.py).
        let fixture = try GGUFFile(path: TestPaths.fixture("gguf/dequant.gguf"))
        let freqs = try XCTUnwrap(fixture.tensor(named: "rope_freqs.llama3"))
        var divisors = [Float](repeating: 0, count: freqs.elementCount)
        try divisors.withUnsafeMutableBufferPointer { try fixture.dequantize(freqs, into: $0) }
        XCTAssertTrue(divisors.contains { $0 > 1 && $0 < 32 }, "some frequencies are blended")
        gguf.addF32("rope_freqs.weight", shape: [headDim / 2], divisors)
        let scaling = try GGUFLlamaConfig(file: try open(gguf)).configJSON["rope_scaling"]
        XCTAssertEqual(scaling?["rope_type"]?.string, "llama3")
        XCTAssertEqual(scaling?["factor"], .double(32))
        XCTAssertEqual(scaling?["low_freq_factor"], .double(1))
        XCTAssertEqual(scaling?["high_freq_factor"], .double(4))
        XCTAssertEqual(scaling?["original_max_position_embeddings"]?.int, 8192)

        gguf.tensors[0] = .init(name: "rope_freqs.weight", dimensions: [UInt64(headDim / 2)], type: 0,
                                data: divisors.enumerated().flatMap { i, d in withUnsafeBytes(of: (i == 30 ? d * 1.5 : d).bitPattern) { Array($0) } })
        XCTAssertThrowsError(try GGUFLlamaConfig(file: try open(gguf))) { error in
            XCTAssertEqual((error as? InputError)?.location, "tensor rope_freqs.weight")
            XCTAssertTrue("\(error)".contains("divisor 30"), "\(error)")
        }
    }

    // MARK: bad input: InputError naming the file and place, and no output folder

    func testNonLlamaArchitecture() throws {
        var gguf = TinyLlama.make().file
        gguf["general.architecture"] = .string("qwen2")
        try assertFails(gguf, location: "key general.architecture", contains: "qwen2")
    }

    func testMissingTensor() throws {
        var gguf = TinyLlama.make().file
        gguf.tensors.removeAll { $0.name == "blk.1.ffn_up.weight" }
        try assertFails(gguf, location: "tensor blk.1.ffn_up.weight", contains: "missing")
    }

    func testUnexpectedTensor() throws {
        var gguf = TinyLlama.make().file
        gguf.addF32("blk.2.attn_q.weight", shape: [1], [0])
        try assertFails(gguf, location: "tensor blk.2.attn_q.weight", contains: "not part of a llama model")
    }

    func testWrongShape() throws {
        var gguf = TinyLlama.make().file
        let i = try XCTUnwrap(gguf.tensors.firstIndex { $0.name == "blk.0.ffn_norm.weight" })
        gguf.tensors[i].dimensions = [4, 2]
        try assertFails(gguf, location: "tensor blk.0.ffn_norm.weight", contains: "expected [8]")
    }

    func testUnsupportedTensorType() throws {
        var gguf = TinyLlama.make().file
        let i = try XCTUnwrap(gguf.tensors.firstIndex { $0.name == "output_norm.weight" })
        // F64 is a valid ggml type (the reader accepts it) that conversion does not decode.
        gguf.tensors[i] = .init(name: "output_norm.weight", dimensions: [8], type: 28, data: [UInt8](repeating: 0, count: 64))
        try assertFails(gguf, location: "tensor output_norm.weight", contains: "F64")
    }

    func testSentencePieceTokenizerIsRefused() throws {
        var gguf = TinyLlama.make().file
        gguf["tokenizer.ggml.model"] = .string("llama")
        try assertFails(gguf, location: "key tokenizer.ggml.model", contains: "'llama'")
    }

    func testUnknownPreTokenizerIsRefused() throws {
        var gguf = TinyLlama.make().file
        gguf["tokenizer.ggml.pre"] = .string("deepseek-coder")
        try assertFails(gguf, location: "key tokenizer.ggml.pre", contains: "deepseek-coder")
    }

    func testTokenIDOutsideVocabulary() throws {
        var gguf = TinyLlama.make().file
        gguf["tokenizer.ggml.eos_token_id"] = .u32(99)
        try assertFails(gguf, location: "key tokenizer.ggml.eos_token_id", contains: "99")
    }

    func testTruncatedFileLeavesNoFolder() throws {
        let bytes = TinyLlama.make().file.bytes()
        let dir = try TestPaths.temporaryDirectory("gguf-convert")
        try AtomicOutput.write(bytes[0..<(bytes.count - 10)], to: dir + "/cut.gguf")
        XCTAssertThrowsError(try GGUFToHuggingFace.convert(ggufPath: dir + "/cut.gguf", outputDirectory: dir + "/out")) { error in
            XCTAssertTrue(error is InputError, "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["cut.gguf"])
    }

    // MARK: the real SmolLM2-135M-Instruct Q4_1 GGUF

    func testSmolLM2() throws {
        let path = try TestPaths.asset("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
        let out = try TestPaths.temporaryDirectory("gguf-smollm2") + "/hf"
        let summary = try GGUFToHuggingFace.convert(ggufPath: path, outputDirectory: out)
        XCTAssertEqual(summary.tensorCount, 272)
        XCTAssertEqual(summary.parameterCount, 134_515_008)

        let config = try ModelConfig.load(path: out + "/config.json")
        XCTAssertEqual(config.family, .llama)
        XCTAssertEqual(config.hiddenSize, 576)
        XCTAssertEqual(config.intermediateSize, 1536)
        XCTAssertEqual(config.numLayers, 30)
        XCTAssertEqual(config.numHeads, 9)
        XCTAssertEqual(config.numKVHeads, 3)
        XCTAssertEqual(config.headDim, 64)
        XCTAssertEqual(config.vocabSize, 49152)
        XCTAssertEqual(config.rmsNormEps, 1e-5)
        XCTAssertEqual(config.ropeTheta, 100000)
        XCTAssertEqual(config.maxPositionEmbeddings, 8192)
        XCTAssertTrue(config.tieWordEmbeddings)

        let weights = try SafeTensorsFile(path: out + "/model.safetensors")
        XCTAssertEqual(weights.tensors.count, 272)
        XCTAssertTrue(weights.tensors.allSatisfy { $0.dtype == .bf16 })
        XCTAssertEqual(weights.info("model.embed_tokens.weight")?.shape, [49152, 576])
        XCTAssertEqual(weights.info("model.layers.29.self_attn.q_proj.weight")?.shape, [576, 576])
        XCTAssertEqual(weights.info("model.layers.0.self_attn.k_proj.weight")?.shape, [192, 576])
        XCTAssertEqual(weights.info("model.layers.0.mlp.down_proj.weight")?.shape, [576, 1536])
        XCTAssertNil(weights.info("lm_head.weight"))

        // An F32 norm converts to exactly its bf16 rounding.
        let gguf = try GGUFFile(path: path)
        let norm = try XCTUnwrap(gguf.tensor(named: "output_norm.weight"))
        var source = [Float](repeating: 0, count: norm.elementCount), converted = source
        try source.withUnsafeMutableBufferPointer { try gguf.dequantize(norm, into: $0) }
        try converted.withUnsafeMutableBufferPointer { try weights.readFloat32("model.norm.weight", into: $0) }
        XCTAssertEqual(converted, source.map { BFloat16.toFloat(BFloat16.fromFloat($0)) })

        let tokenizerConfig = try readJSONFile(out + "/tokenizer_config.json")
        XCTAssertEqual(tokenizerConfig["eos_token"]?.string, "<|im_end|>")
        XCTAssertEqual(tokenizerConfig["add_bos_token"]?.bool, false)
        XCTAssertTrue(tokenizerConfig["chat_template"]?.string?.contains("<|im_start|>") ?? false)
        let vocab = try readJSONFile(out + "/tokenizer.json")["model"]?["vocab"]?.object
        XCTAssertEqual(vocab?.count, 49152)
    }

    // MARK: helpers

    private func open(_ gguf: GGUFTestFile) throws -> GGUFFile {
        let path = try TestPaths.temporaryDirectory("gguf-convert") + "/model.gguf"
        try gguf.write(to: path)
        return try GGUFFile(path: path)
    }

    private func convert(_ gguf: GGUFTestFile) throws -> String {
        let dir = try TestPaths.temporaryDirectory("gguf-convert")
        try gguf.write(to: dir + "/model.gguf")
        try GGUFToHuggingFace.convert(ggufPath: dir + "/model.gguf", outputDirectory: dir + "/hf")
        return dir + "/hf"
    }

    private func assertFails(_ gguf: GGUFTestFile, location: String, contains text: String,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try TestPaths.temporaryDirectory("gguf-convert")
        try gguf.write(to: dir + "/model.gguf")
        XCTAssertThrowsError(try GGUFToHuggingFace.convert(ggufPath: dir + "/model.gguf", outputDirectory: dir + "/hf"),
                             file: file, line: line) { error in
            guard let e = error as? InputError else { return XCTFail("not an InputError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.file, dir + "/model.gguf", file: file, line: line)
            XCTAssertEqual(e.location, location, file: file, line: line)
            XCTAssertTrue(e.message.contains(text), e.description, file: file, line: line)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["model.gguf"], "no output folder", file: file, line: line)
    }
}
