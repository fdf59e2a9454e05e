import Support

/// Converts a llama-architecture GGUF into a Hugging Face model folder: bf16
/// `model.safetensors` (sharded above 5 GB), `config.json`, `generation_config.json`,
/// `tokenizer.json`, `tokenizer_config.json`. The folder appears complete or not at all.
public enum GGUFToHuggingFace {
    public struct Summary: Sendable {
        public var config: GGUFLlamaConfig
        public var tensorCount: Int
        public var parameterCount: Int
    }

    /// One output tensor and where its rows come from.
    struct TensorPlan {
        var spec: TensorSpec
        var source: GGUFTensorInfo
        /// llama.cpp interleaves the two rotary halves of each head's q/k rows; undo it for this many heads.
        var interleavedHeads: Int?
    }

    @discardableResult
    public static func convert(ggufPath: String, outputDirectory: String) throws -> Summary {
        let file = try GGUFFile(path: ggufPath)
        let config = try GGUFLlamaConfig(file: file)
        let tokenizer = try GGUFTokenizer(file: file)
        guard tokenizer.tokens.count <= config.vocabSize else {
            throw InputError(file: ggufPath, location: "key tokenizer.ggml.tokens",
                             "\(tokenizer.tokens.count) tokens, more than the vocabulary size \(config.vocabSize)")
        }
        let plans = try tensorPlans(file, config)
        try AtomicOutput.writeDirectory(at: outputDirectory) { dir in
            try SafeTensorsWriter.write(plans.map(\.spec), toDirectory: dir) { index, destination in
                writeBF16(plans[index], from: file, into: destination)
            }
            let pretty = JSON.WriteOptions(indent: 2)
            try AtomicOutput.write(config.configJSON.serialized(pretty) + "\n", to: dir + "/config.json")
            try AtomicOutput.write(config.generationConfigJSON.serialized(pretty) + "\n", to: dir + "/generation_config.json")
            try AtomicOutput.write(tokenizer.tokenizerJSON.serialized(pretty) + "\n", to: dir + "/tokenizer.json")
            try AtomicOutput.write(tokenizer.tokenizerConfigJSON(modelMaxLength: config.contextLength).serialized(pretty) + "\n",
                                   to: dir + "/tokenizer_config.json")
        }
        return Summary(config: config, tensorCount: plans.count,
                       parameterCount: plans.reduce(0) { $0 + $1.spec.elementCount })
    }

    /// Every tensor a llama model needs, in Hugging Face order, checked for presence, shape
    /// and a decodable type; a GGUF tensor the model has no place for is an error.
    static func tensorPlans(_ file: GGUFFile, _ c: GGUFLlamaConfig) throws -> [TensorPlan] {
        var plans: [TensorPlan] = []
        var used: Set<String> = ["rope_freqs.weight"]  // already folded into config.json's rope_scaling
        func add(_ ggufName: String, _ hfName: String, _ shape: [Int], interleavedHeads: Int? = nil) throws {
            let place = "tensor \(ggufName)"
            guard let source = file.tensor(named: ggufName) else {
                throw InputError(file: file.path, location: place, "missing (a llama model needs it as \(hfName))")
            }
            guard source.shape == shape else {
                throw InputError(file: file.path, location: place, "has shape \(source.shape), expected \(shape) from the metadata")
            }
            guard GGUFQuantization.isSupported(source.type) else {
                let supported = GGUFQuantization.supportedTypes.map(\.name).joined(separator: ", ")
                throw InputError(file: file.path, location: place,
                                 "tensor type \(source.type) cannot be converted (supported: \(supported))")
            }
            used.insert(ggufName)
            plans.append(TensorPlan(spec: TensorSpec(name: hfName, dtype: .bf16, shape: shape), source: source,
                                    interleavedHeads: interleavedHeads))
        }
        let hidden = c.hiddenSize, qRows = c.headCount * c.headDim, kvRows = c.kvHeadCount * c.headDim
        try add("token_embd.weight", "model.embed_tokens.weight", [c.vocabSize, hidden])
        for layer in 0..<c.layerCount {
            let g = "blk.\(layer).", h = "model.layers.\(layer)."
            try add(g + "attn_norm.weight", h + "input_layernorm.weight", [hidden])
            try add(g + "attn_q.weight", h + "self_attn.q_proj.weight", [qRows, hidden], interleavedHeads: c.headCount)
            try add(g + "attn_k.weight", h + "self_attn.k_proj.weight", [kvRows, hidden], interleavedHeads: c.kvHeadCount)
            try add(g + "attn_v.weight", h + "self_attn.v_proj.weight", [kvRows, hidden])
            try add(g + "attn_output.weight", h + "self_attn.o_proj.weight", [hidden, qRows])
            try add(g + "ffn_norm.weight", h + "post_attention_layernorm.weight", [hidden])
            try add(g + "ffn_gate.weight", h + "mlp.gate_proj.weight", [c.intermediateSize, hidden])
            try add(g + "ffn_up.weight", h + "mlp.up_proj.weight", [c.intermediateSize, hidden])
            try add(g + "ffn_down.weight", h + "mlp.down_proj.weight", [hidden, c.intermediateSize])
        }
        try add("output_norm.weight", "model.norm.weight", [hidden])
        if !c.tieWordEmbeddings { try add("output.weight", "lm_head.weight", [c.vocabSize, hidden]) }
        if let extra = file.tensors.first(where: { !used.contains($0.name) }) {
            throw InputError(file: file.path, location: "tensor \(extra.name)", "not part of a llama model (\(c.layerCount) layers)")
        }
        return plans
    }

    /// Decodes the tensor row by row into bf16, taking q/k rows in Hugging Face order.
    static func writeBF16(_ plan: TensorPlan, from file: GGUFFile, into destination: UnsafeMutableRawBufferPointer) {
        let source = file.data(of: plan.source)
        let columns = plan.source.dimensions[0]
        let rows = plan.source.elementCount / columns
        let sourceRowBytes = columns / plan.source.type.blockSize * plan.source.type.blockBytes
        let output = destination.bindMemory(to: UInt16.self)
        var row = [Float](repeating: 0, count: columns)
        row.withUnsafeMutableBufferPointer { row in
            for r in 0..<rows {
                let s = plan.interleavedHeads.map { sourceRow(forRow: r, rows: rows, heads: $0) } ?? r
                let bytes = UnsafeRawBufferPointer(rebasing: source[(s * sourceRowBytes)..<((s + 1) * sourceRowBytes)])
                _ = GGUFQuantization.dequantize(bytes, type: plan.source.type, into: row)  // type checked in tensorPlans
                BFloat16.convert(UnsafeBufferPointer(row),
                                 to: UnsafeMutableBufferPointer(rebasing: output[(r * columns)..<((r + 1) * columns)]))
            }
        }
    }

    /// convert_hf_to_gguf.py stores q/k rows of each head as (head, half, pair) where Hugging
    /// Face has (head, pair, half): Hugging Face row h·2n + i·n + j is GGUF row h·2n + 2j + i,
    /// with n = rows / heads / 2 (i in 0..<2, j in 0..<n).
    public static func sourceRow(forRow row: Int, rows: Int, heads: Int) -> Int {
        let n = rows / heads / 2
        let head = row / (2 * n), within = row % (2 * n)
        return head * 2 * n + 2 * (within % n) + within / n
    }
}
