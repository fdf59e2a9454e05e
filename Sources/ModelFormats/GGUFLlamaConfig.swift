import Support

/// The hyperparameters of a llama-architecture GGUF (llama.cpp's `llama.*` keys), checked, and
/// the Hugging Face `config.json` / `generation_config.json` they correspond to.
public struct GGUFLlamaConfig: Equatable, Sendable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var rmsNormEps: Double
    public var ropeTheta: Double
    /// Hugging Face `rope_scaling`, or nil.
    public var ropeScaling: JSONObject?
    public var contextLength: Int
    public var vocabSize: Int
    /// No `output.weight` tensor: the LM head reuses the embedding.
    public var tieWordEmbeddings: Bool
    public var bosTokenID: Int?
    /// `tokenizer.ggml.eos_token_id` first, then end-of-turn / end-of-message ids if the file has them.
    public var eosTokenIDs: [Int]
    public var padTokenID: Int?

    public init(file: GGUFFile) throws {
        let keys = GGUFKeys(file: file)
        let architecture = try keys.string("general.architecture")
        guard architecture == "llama" else {
            throw InputError(file: file.path, location: "key general.architecture",
                             "architecture '\(architecture)' is not supported, only 'llama'")
        }
        hiddenSize = try keys.positive("llama.embedding_length")
        intermediateSize = try keys.positive("llama.feed_forward_length")
        layerCount = try keys.positive("llama.block_count")
        headCount = try keys.positive("llama.attention.head_count")
        kvHeadCount = try keys.optionalPositive("llama.attention.head_count_kv") ?? headCount
        guard headCount % kvHeadCount == 0 else {
            throw InputError(file: file.path, location: "key llama.attention.head_count_kv",
                             "\(kvHeadCount) key/value heads do not divide \(headCount) query heads")
        }
        let ropeDimensions = try keys.optionalPositive("llama.rope.dimension_count")
        if let keyLength = try keys.optionalPositive("llama.attention.key_length") {
            headDim = keyLength
        } else if let ropeDimensions {
            headDim = ropeDimensions
        } else {
            guard hiddenSize % headCount == 0 else {
                throw InputError(file: file.path, location: "key llama.attention.head_count",
                                 "\(headCount) heads do not divide embedding length \(hiddenSize)")
            }
            headDim = hiddenSize / headCount
        }
        if let ropeDimensions, ropeDimensions != headDim {
            throw InputError(file: file.path, location: "key llama.rope.dimension_count",
                             "rotary dimension \(ropeDimensions) differs from head dimension \(headDim) (partial rotary is not llama)")
        }
        guard headDim % 2 == 0 else {
            throw InputError(file: file.path, location: "key llama.rope.dimension_count", "head dimension \(headDim) is odd")
        }
        rmsNormEps = try keys.positiveDouble("llama.attention.layer_norm_rms_epsilon")
        ropeTheta = try keys.optionalPositiveDouble("llama.rope.freq_base") ?? 10000
        contextLength = try keys.positive("llama.context_length")
        ropeScaling = try GGUFRopeScaling.huggingFace(file: file, keys: keys, headDim: headDim, ropeTheta: ropeTheta)

        let tokenCount = file.metadata["tokenizer.ggml.tokens"]?.array?.count
        guard let vocab = try keys.optionalPositive("llama.vocab_size") ?? tokenCount else {
            throw InputError(file: file.path, location: "key llama.vocab_size", "missing, and there is no tokenizer.ggml.tokens to count")
        }
        vocabSize = vocab
        tieWordEmbeddings = file.tensor(named: "output.weight") == nil

        bosTokenID = try keys.optionalTokenID("tokenizer.ggml.bos_token_id", vocabularySize: vocab)
        padTokenID = try keys.optionalTokenID("tokenizer.ggml.padding_token_id", vocabularySize: vocab)
        var eos: [Int] = []
        for key in ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"] {
            if let id = try keys.optionalTokenID(key, vocabularySize: vocab), !eos.contains(id) { eos.append(id) }
        }
        eosTokenIDs = eos
    }

    /// Hugging Face `config.json` for `LlamaForCausalLM` with bf16 weights.
    public var configJSON: JSON {
        var c = JSONObject()
        c["architectures"] = .array([.string("LlamaForCausalLM")])
        c["attention_bias"] = .bool(false)
        c["attention_dropout"] = .double(0)
        c["bos_token_id"] = bosTokenID.map(JSON.int) ?? .null
        c["eos_token_id"] = eosTokenIDs.first.map(JSON.int) ?? .null
        if headDim * headCount != hiddenSize { c["head_dim"] = .int(headDim) }
        c["hidden_act"] = .string("silu")
        c["hidden_size"] = .int(hiddenSize)
        c["initializer_range"] = .double(0.02)
        c["intermediate_size"] = .int(intermediateSize)
        c["max_position_embeddings"] = .int(contextLength)
        c["mlp_bias"] = .bool(false)
        c["model_type"] = .string("llama")
        c["num_attention_heads"] = .int(headCount)
        c["num_hidden_layers"] = .int(layerCount)
        c["num_key_value_heads"] = .int(kvHeadCount)
        if let padTokenID { c["pad_token_id"] = .int(padTokenID) }
        c["pretraining_tp"] = .int(1)
        c["rms_norm_eps"] = .double(rmsNormEps)
        c["rope_scaling"] = ropeScaling.map(JSON.object) ?? .null
        c["rope_theta"] = .double(ropeTheta)
        c["tie_word_embeddings"] = .bool(tieWordEmbeddings)
        c["torch_dtype"] = .string("bfloat16")
        c["use_cache"] = .bool(true)
        c["vocab_size"] = .int(vocabSize)
        return .object(c)
    }

    /// `generation_config.json`: the token ids generation starts and stops with.
    public var generationConfigJSON: JSON {
        var g = JSONObject()
        if let bosTokenID { g["bos_token_id"] = .int(bosTokenID) }
        switch eosTokenIDs.count {
        case 0: break
        case 1: g["eos_token_id"] = .int(eosTokenIDs[0])
        default: g["eos_token_id"] = .array(eosTokenIDs.map(JSON.int))
        }
        if let padTokenID { g["pad_token_id"] = .int(padTokenID) }
        return .object(g)
    }
}
