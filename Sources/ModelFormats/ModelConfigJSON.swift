import Support

/// Reading and writing Hugging Face `config.json`, with the defaults transformers (5.x) applies
/// per model class when a key is absent.
extension ModelConfig {
    public static func load(path: String) throws -> ModelConfig {
        try ModelConfig(json: readJSONFile(path), file: path)
    }

    /// Parses a config.json; anything that would change the math and is not modelled here
    /// (MoE, other activations, partial rotary, yarn/dynamic RoPE, ...) is an InputError.
    public init(json: JSON, file: String) throws {
        guard let object = json.object else { throw InputError(file: file, "expected a JSON object") }
        let keys = ConfigKeys(object: object, file: file)
        guard let typeName = try keys.string("model_type") else { throw keys.error("model_type", "missing") }
        guard let family = Family(rawValue: typeName) else {
            throw keys.error("model_type", "'\(typeName)' is not supported (supported: llama, qwen2, qwen3, mistral)")
        }
        try Self.rejectUnsupportedFeatures(keys)

        let hidden = try keys.positiveInt("hidden_size")
        let heads = try keys.positiveInt("num_attention_heads")
        // Class defaults when the key is absent; null means "same as num_attention_heads".
        let kvDefault: Int = [.llama: heads, .qwen2: 32, .qwen3: 32, .mistral: 8][family]!
        let kvHeads = keys.object["num_key_value_heads"]?.isNull == true ? heads
            : try keys.positiveInt("num_key_value_heads", default: kvDefault)
        guard heads % kvHeads == 0 else {
            throw keys.error("num_key_value_heads", "\(kvHeads) does not divide num_attention_heads \(heads)")
        }
        let headDim: Int
        var derivedHeadDim = false
        if family == .qwen3 && keys.object["head_dim"] == nil {
            headDim = 128  // Qwen3Config's class default, not hidden / heads
        } else if keys.value("head_dim") != nil {
            headDim = try keys.positiveInt("head_dim")
        } else {
            headDim = hidden / heads
            derivedHeadDim = true
        }
        // transformers validates this for Llama always; elsewhere it matters when deriving head_dim.
        if family == .llama || derivedHeadDim {
            guard hidden % heads == 0 else {
                throw keys.error("num_attention_heads", "\(heads) does not divide hidden_size \(hidden)")
            }
        }
        let maxPositions = try keys.positiveInt("max_position_embeddings",
                                                default: [.llama: 2048, .qwen2: 32768, .qwen3: 32768, .mistral: 131072][family]!)
        let attentionBias = try keys.bool("attention_bias") ?? false
        let mlpBias = try keys.bool("mlp_bias") ?? false

        self.init(
            family: family, hiddenSize: hidden, intermediateSize: try keys.positiveInt("intermediate_size"),
            numLayers: try keys.positiveInt("num_hidden_layers"), numHeads: heads, numKVHeads: kvHeads,
            headDim: headDim, vocabSize: try keys.positiveInt("vocab_size"),
            rmsNormEps: try keys.positiveDouble("rms_norm_eps", default: 1e-6),
            ropeTheta: 0, maxPositionEmbeddings: maxPositions,
            tieWordEmbeddings: try keys.bool("tie_word_embeddings") ?? false,
            qkvBias: family == .qwen2 || (attentionBias && (family == .llama || family == .qwen3)),
            outputBias: attentionBias && (family == .llama || family == .qwen3),
            mlpBias: family == .llama && mlpBias,
            qkNorm: family == .qwen3,
            // An absent key takes transformers' default; an explicit null means "no BOS token".
            bosTokenId: keys.object["bos_token_id"] == nil ? [.llama: 1, .mistral: 1][family] : try keys.int("bos_token_id"),
            eosTokenIds: try Self.eosTokenIds(keys, default: family == .llama || family == .mistral ? [2] : []),
            padTokenId: try Self.padTokenId(keys, vocab: try keys.positiveInt("vocab_size")))
        (ropeTheta, ropeScaling) = try Self.rope(keys, maxPositions: maxPositions)
        slidingWindow = try Self.slidingWindow(keys, family: family, layers: numLayers)
    }

    /// Keys whose non-trivial value selects math this code does not implement.
    static func rejectUnsupportedFeatures(_ keys: ConfigKeys) throws {
        if let act = try keys.string("hidden_act"), act != "silu" {
            throw keys.error("hidden_act", "activation '\(act)' is not supported (only silu)")
        }
        for key in ["num_experts", "num_local_experts", "n_routed_experts", "num_experts_per_tok"] {
            if let n = try keys.int(key), n > 0 { throw keys.error(key, "mixture-of-experts models are not supported") }
        }
        for key in ["attn_logit_softcapping", "final_logit_softcapping"] where keys.value(key) != nil {
            throw keys.error(key, "logit soft-capping is not supported")
        }
        if let p = try keys.double("partial_rotary_factor"), p != 1 {
            throw keys.error("partial_rotary_factor", "partial rotary embeddings are not supported")
        }
    }

    static func eosTokenIds(_ keys: ConfigKeys, default fallback: [Int]) throws -> [Int] {
        guard let v = keys.object["eos_token_id"] else { return fallback }
        switch v {
        case .null: return []
        case .array(let items):
            return try items.map { item in
                guard let i = item.int else { throw keys.error("eos_token_id", "expected integers, found \(item.serialized())") }
                return i
            }
        default:
            guard let i = v.int else { throw keys.error("eos_token_id", "expected an integer or a list, found \(v.serialized())") }
            return [i]
        }
    }

    /// The embedding's padding index as `nn.Embedding` takes it: -vocab..<vocab, a negative
    /// one counting from the end.
    static func padTokenId(_ keys: ConfigKeys, vocab: Int) throws -> Int? {
        guard let id = try keys.int("pad_token_id") else { return nil }
        guard (-vocab..<vocab).contains(id) else {
            throw keys.error("pad_token_id", "\(id) is outside the vocabulary of \(vocab) tokens")
        }
        return id < 0 ? vocab + id : id
    }

    /// RoPE as transformers resolves it: `rope_scaling` (legacy) wins over `rope_parameters`;
    /// `rope_theta` inside the dict wins over the top-level key; default 10000.
    static func rope(_ keys: ConfigKeys, maxPositions: Int) throws -> (Double, RopeScaling) {
        let legacy = try keys.nested("rope_scaling")
        let dict = (legacy?.object.count ?? 0) > 0 ? legacy : try keys.nested("rope_parameters")
        let topTheta = try keys.positiveDouble("rope_theta", default: 10000)
        guard let rope = dict else { return (topTheta, .none) }
        for layerType in ["full_attention", "sliding_attention"] where rope.object[layerType] != nil {
            throw rope.error(layerType, "per-layer-type RoPE parameters are not supported")
        }
        let theta = try rope.positiveDouble("rope_theta", default: topTheta)
        if let p = try rope.double("partial_rotary_factor"), p != 1 {
            throw rope.error("partial_rotary_factor", "partial rotary embeddings are not supported")
        }
        let typeKey = rope.value("rope_type") != nil ? "rope_type" : "type"
        switch try rope.string(typeKey) ?? "default" {
        case "default":
            return (theta, .none)
        case "linear":
            return (theta, .linear(factor: try rope.positiveDouble("factor")))
        case "llama3":
            let low = try rope.positiveDouble("low_freq_factor")
            let high = try rope.positiveDouble("high_freq_factor")
            guard high > low else { throw rope.error("high_freq_factor", "must be greater than low_freq_factor") }
            // transformers lets a top-level original_max_position_embeddings override the dict's.
            let original = try keys.int("original_max_position_embeddings") != nil
                ? try keys.positiveInt("original_max_position_embeddings")
                : try rope.positiveInt("original_max_position_embeddings", default: maxPositions)
            return (theta, .llama3(factor: try rope.positiveDouble("factor"), lowFreqFactor: low,
                                   highFreqFactor: high, originalMaxPositions: original))
        case let other:
            throw rope.error(typeKey, "RoPE type '\(other)' is not supported (supported: default, linear, llama3)")
        }
    }

    /// The attention window, when any layer uses one (nil: full causal attention everywhere).
    /// Mistral applies `sliding_window` to every layer; Qwen2/3 only with `use_sliding_window`,
    /// to the layers `layer_types` marks (by default those from `max_window_layers` on).
    static func slidingWindow(_ keys: ConfigKeys, family: Family, layers: Int) throws -> Int? {
        var layerTypes: [String]? = nil
        if let v = keys.value("layer_types") {
            guard let items = v.array, items.count == layers else {
                throw keys.error("layer_types", "expected a list of \(layers) layer types")
            }
            layerTypes = try items.map { item in
                guard let s = item.string, s == "full_attention" || s == "sliding_attention" else {
                    throw keys.error("layer_types", "unsupported layer type \(item.serialized())")
                }
                return s
            }
        }
        switch family {
        case .llama:
            return nil
        case .mistral:
            // Absent: MistralConfig's class default 4096; null: no window.
            if keys.object["sliding_window"] == nil { return 4096 }
            return keys.value("sliding_window") == nil ? nil : try keys.positiveInt("sliding_window")
        case .qwen2, .qwen3:
            guard try keys.bool("use_sliding_window") == true, keys.value("sliding_window") != nil else { return nil }
            let window = try keys.positiveInt("sliding_window")
            let firstSliding = try keys.int("max_window_layers") ?? 28
            let anySliding = layerTypes.map { $0.contains("sliding_attention") } ?? (firstSliding < layers)
            return anySliding ? window : nil
        }
    }
}

extension ModelConfig {
    /// A config.json that transformers (5.x, and 4.x through the legacy `rope_theta` /
    /// `rope_scaling` / `torch_dtype` keys) loads as this model. Keys of `base` (the original
    /// config) are kept in their order, the modelled ones overwritten, so nothing the file
    /// carried beyond the math (pad token, initializer range, ...) is lost.
    public func jsonObject(dtype: DType = .bf16, preserving base: JSONObject? = nil) -> JSONObject {
        var o = base ?? JSONObject()
        let architecture = [Family.llama: "LlamaForCausalLM", .qwen2: "Qwen2ForCausalLM",
                            .qwen3: "Qwen3ForCausalLM", .mistral: "MistralForCausalLM"][family]!
        o["architectures"] = .array([.string(architecture)])
        o["model_type"] = .string(family.rawValue)
        o["vocab_size"] = .int(vocabSize)
        o["hidden_size"] = .int(hiddenSize)
        o["intermediate_size"] = .int(intermediateSize)
        o["num_hidden_layers"] = .int(numLayers)
        o["num_attention_heads"] = .int(numHeads)
        o["num_key_value_heads"] = .int(numKVHeads)
        o["head_dim"] = .int(headDim)
        o["hidden_act"] = .string("silu")
        o["max_position_embeddings"] = .int(maxPositionEmbeddings)
        o["rms_norm_eps"] = .double(rmsNormEps)
        o["rope_theta"] = .double(ropeTheta)
        var rope = JSONObject()
        switch ropeScaling {
        case .none:
            rope["rope_type"] = .string("default")
        case .linear(let factor):
            rope["rope_type"] = .string("linear")
            rope["factor"] = .double(factor)
        case .llama3(let factor, let low, let high, let original):
            rope["rope_type"] = .string("llama3")
            rope["factor"] = .double(factor)
            rope["low_freq_factor"] = .double(low)
            rope["high_freq_factor"] = .double(high)
            rope["original_max_position_embeddings"] = .int(original)
        }
        o["rope_scaling"] = ropeScaling == .none ? .null : .object(rope)
        rope["rope_theta"] = .double(ropeTheta)
        o["rope_parameters"] = .object(rope)
        o["original_max_position_embeddings"] = nil  // would override the value in rope_parameters
        o["tie_word_embeddings"] = .bool(tieWordEmbeddings)
        switch family {
        case .llama:
            o["attention_bias"] = .bool(outputBias)
            o["mlp_bias"] = .bool(mlpBias)
        case .qwen3:
            o["attention_bias"] = .bool(outputBias)
        case .qwen2, .mistral:
            break
        }
        switch family {
        case .llama:
            break
        case .mistral:
            o["sliding_window"] = slidingWindow.map { .int($0) } ?? .null
        case .qwen2, .qwen3:
            // The window's layer placement comes from the base when there is one; otherwise
            // every layer gets it, which is the same math for sequences within the window.
            let baseWindow = base.flatMap { try? ModelConfig.slidingWindow(ConfigKeys(object: $0, file: ""), family: family, layers: numLayers) }
            if baseWindow != slidingWindow || base == nil {
                o["use_sliding_window"] = .bool(slidingWindow != nil)
                o["sliding_window"] = slidingWindow.map { .int($0) } ?? .null
                o["max_window_layers"] = .int(0)
                o["layer_types"] = nil
            }
        }
        o["bos_token_id"] = bosTokenId.map { .int($0) } ?? .null
        switch eosTokenIds.count {
        case 0: o["eos_token_id"] = .null
        case 1: o["eos_token_id"] = .int(eosTokenIds[0])
        default: o["eos_token_id"] = .array(eosTokenIds.map { .int($0) })
        }
        o["pad_token_id"] = padTokenId.map { .int($0) } ?? .null
        let dtypeName = dtype == .f32 ? "float32" : dtype == .f16 ? "float16" : "bfloat16"
        o["dtype"] = .string(dtypeName)
        o["torch_dtype"] = .string(dtypeName)
        return o
    }
}
