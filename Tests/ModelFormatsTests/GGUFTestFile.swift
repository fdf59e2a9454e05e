import Support

/// Builds small GGUF files byte by byte (the layout of the GGUF specification), so tests can
/// make well-formed files of any shape and then break them in chosen ways.
struct GGUFTestFile {
    enum Value {
        case u32(UInt32), i32(Int32), u64(UInt64), f32(Float), bool(Bool), string(String)
        case strings([String]), i32s([Int32]), f32s([Float])
    }

    struct Tensor {
        var name: String
        /// ggml order: fastest-varying first.
        var dimensions: [UInt64]
        var type: UInt32
        var data: [UInt8]
        /// Written instead of the computed offset, to make broken files.
        var offsetOverride: UInt64? = nil
    }

    var magic = Array("GGUF".utf8)
    var version: UInt32 = 3
    var metadata: [(String, Value)] = []
    var tensors: [Tensor] = []
    var alignment = 32

    subscript(key: String) -> Value? {
        get { metadata.first { $0.0 == key }?.1 }
        set {
            metadata.removeAll { $0.0 == key }
            if let newValue { metadata.append((key, newValue)) }
        }
    }

    mutating func addF32(_ name: String, shape: [Int], _ values: [Float]) {
        precondition(values.count == shape.reduce(1, *))
        var data: [UInt8] = []
        for v in values { append(v.bitPattern, to: &data) }
        tensors.append(Tensor(name: name, dimensions: shape.reversed().map(UInt64.init), type: 0, data: data))
    }

    func bytes() -> [UInt8] {
        var out = magic
        append(version, to: &out)
        append(UInt64(tensors.count), to: &out)
        append(UInt64(metadata.count), to: &out)
        for (key, value) in metadata {
            appendString(key, to: &out)
            switch value {
            case .u32(let v): append(UInt32(4), to: &out); append(v, to: &out)
            case .i32(let v): append(UInt32(5), to: &out); append(v, to: &out)
            case .u64(let v): append(UInt32(10), to: &out); append(v, to: &out)
            case .f32(let v): append(UInt32(6), to: &out); append(v.bitPattern, to: &out)
            case .bool(let v): append(UInt32(7), to: &out); out.append(v ? 1 : 0)
            case .string(let v): append(UInt32(8), to: &out); appendString(v, to: &out)
            case .strings(let v):
                append(UInt32(9), to: &out); append(UInt32(8), to: &out); append(UInt64(v.count), to: &out)
                for s in v { appendString(s, to: &out) }
            case .i32s(let v):
                append(UInt32(9), to: &out); append(UInt32(5), to: &out); append(UInt64(v.count), to: &out)
                for x in v { append(x, to: &out) }
            case .f32s(let v):
                append(UInt32(9), to: &out); append(UInt32(6), to: &out); append(UInt64(v.count), to: &out)
                for x in v { append(x.bitPattern, to: &out) }
            }
        }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset += (t.data.count + alignment - 1) / alignment * alignment
        }
        for (t, o) in zip(tensors, offsets) {
            appendString(t.name, to: &out)
            append(UInt32(t.dimensions.count), to: &out)
            for d in t.dimensions { append(d, to: &out) }
            append(t.type, to: &out)
            append(t.offsetOverride ?? UInt64(o), to: &out)
        }
        out += [UInt8](repeating: 0, count: (alignment - out.count % alignment) % alignment)
        let dataBase = out.count
        for (t, o) in zip(tensors, offsets) {
            out += [UInt8](repeating: 0, count: dataBase + o - out.count)
            out += t.data
        }
        return out
    }

    func write(to path: String) throws {
        try AtomicOutput.write(bytes(), to: path)
    }

    private func append<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out += $0 }
    }

    private func appendString(_ s: String, to out: inout [UInt8]) {
        append(UInt64(s.utf8.count), to: &out)
        out += Array(s.utf8)
    }
}

/// A two-layer llama with 8-wide hidden states, written as an F32 GGUF the way
/// convert_hf_to_gguf.py writes one (q/k rows permuted), with the Hugging Face tensors it stands for.
enum TinyLlama {
    static let hidden = 8, heads = 2, kvHeads = 1, headDim = 4, intermediate = 12, layers = 2
    static let tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "a", "b", "ab", "Ġ", "Ġa", "é", "x y", "<think>", "<not byte level>"]
    static let tokenTypes: [Int32] = [3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 4, 3]

    /// llama.cpp's permutation (convert_hf_to_gguf.py `LlamaModel.permute`):
    /// reshape(heads, 2, n, cols).swapaxes(1, 2): output row h·2n + 2j + i is input row h·2n + i·n + j.
    static func permuteLikeLlamaCpp(_ w: [Float], rows: Int, columns: Int, heads: Int) -> [Float] {
        let n = rows / heads / 2
        var out = [Float](repeating: 0, count: w.count)
        for h in 0..<heads {
            for i in 0..<2 {
                for j in 0..<n {
                    let to = h * 2 * n + 2 * j + i, from = h * 2 * n + i * n + j
                    for c in 0..<columns { out[to * columns + c] = w[from * columns + c] }
                }
            }
        }
        return out
    }

    /// The GGUF, and for each Hugging Face tensor name its shape and values.
    static func make(tied: Bool = true) -> (file: GGUFTestFile, expected: [String: (shape: [Int], values: [Float])]) {
        var file = GGUFTestFile()
        file["general.architecture"] = .string("llama")
        file["llama.block_count"] = .u32(UInt32(layers))
        file["llama.context_length"] = .u32(256)
        file["llama.embedding_length"] = .u32(UInt32(hidden))
        file["llama.feed_forward_length"] = .u32(UInt32(intermediate))
        file["llama.attention.head_count"] = .u32(UInt32(heads))
        file["llama.attention.head_count_kv"] = .u32(UInt32(kvHeads))
        file["llama.rope.freq_base"] = .f32(10000)
        file["llama.attention.layer_norm_rms_epsilon"] = .f32(1e-6)
        file["llama.rope.dimension_count"] = .u32(UInt32(headDim))
        file["tokenizer.ggml.model"] = .string("gpt2")
        file["tokenizer.ggml.pre"] = .string("smollm")
        file["tokenizer.ggml.tokens"] = .strings(tokens)
        file["tokenizer.ggml.token_type"] = .i32s(tokenTypes)
        file["tokenizer.ggml.merges"] = .strings(["a b", "Ġ a"])
        file["tokenizer.ggml.bos_token_id"] = .u32(1)
        file["tokenizer.ggml.eos_token_id"] = .u32(2)
        file["tokenizer.ggml.padding_token_id"] = .u32(0)
        file["tokenizer.ggml.add_bos_token"] = .bool(true)
        file["tokenizer.chat_template"] = .string("{{ messages }}")

        var expected: [String: (shape: [Int], values: [Float])] = [:]
        var seed: UInt64 = 42
        func values(_ count: Int) -> [Float] {
            // Multiples of 1/16 in [-2, 2): exact in bf16, so conversion must reproduce them exactly.
            (0..<count).map { _ in
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                return Float(Int(seed >> 33) % 64 - 32) / 16
            }
        }
        func add(_ gguf: String, _ hf: String, _ shape: [Int], permuteHeads: Int? = nil) {
            let w = values(shape.reduce(1, *))
            expected[hf] = (shape, w)
            let stored = permuteHeads.map { permuteLikeLlamaCpp(w, rows: shape[0], columns: shape.count > 1 ? shape[1] : 1, heads: $0) } ?? w
            file.addF32(gguf, shape: shape, stored)
        }
        add("token_embd.weight", "model.embed_tokens.weight", [tokens.count, hidden])
        for l in 0..<layers {
            let g = "blk.\(l).", h = "model.layers.\(l)."
            add(g + "attn_norm.weight", h + "input_layernorm.weight", [hidden])
            add(g + "attn_q.weight", h + "self_attn.q_proj.weight", [heads * headDim, hidden], permuteHeads: heads)
            add(g + "attn_k.weight", h + "self_attn.k_proj.weight", [kvHeads * headDim, hidden], permuteHeads: kvHeads)
            add(g + "attn_v.weight", h + "self_attn.v_proj.weight", [kvHeads * headDim, hidden])
            add(g + "attn_output.weight", h + "self_attn.o_proj.weight", [hidden, heads * headDim])
            add(g + "ffn_norm.weight", h + "post_attention_layernorm.weight", [hidden])
            add(g + "ffn_gate.weight", h + "mlp.gate_proj.weight", [intermediate, hidden])
            add(g + "ffn_up.weight", h + "mlp.up_proj.weight", [intermediate, hidden])
            add(g + "ffn_down.weight", h + "mlp.down_proj.weight", [hidden, intermediate])
        }
        add("output_norm.weight", "model.norm.weight", [hidden])
        if !tied { add("output.weight", "lm_head.weight", [tokens.count, hidden]) }
        return (file, expected)
    }
}
