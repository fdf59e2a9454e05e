/// One tensor inside a flat parameter buffer.
public struct TensorSlot: Equatable, Sendable {
    /// Hugging Face name relative to its owner: "self_attn.q_proj.weight" inside a layer,
    /// "model.embed_tokens.weight" at model level.
    public let name: String
    /// Hugging Face shape, row-major; linear weights are [out, in].
    public let shape: [Int]
    /// Element offset from the start of the owner's flat buffer.
    public let offset: Int

    public var count: Int { shape.reduce(1, *) }
    /// AdamW weight decay applies to matrices only, never to 1-D tensors (norms, biases).
    public var decays: Bool { shape.count >= 2 }
}

/// The parameters of one decoder layer packed into ONE flat buffer: the unit the engine moves
/// between host and GPU. Offsets are aligned to `alignment` elements so every tensor starts
/// on a 128-byte (bf16) boundary; the gaps are zero and never read.
public struct LayerLayout: Equatable, Sendable {
    public static let alignment = 64

    public let tensors: [TensorSlot]
    /// Elements in the flat buffer, padding included.
    public let count: Int

    public init(_ c: ModelConfig) {
        var specs: [(String, [Int])] = [("input_layernorm.weight", [c.hiddenSize])]
        specs.append(("self_attn.q_proj.weight", [c.qDim, c.hiddenSize]))
        if c.qkvBias { specs.append(("self_attn.q_proj.bias", [c.qDim])) }
        specs.append(("self_attn.k_proj.weight", [c.kvDim, c.hiddenSize]))
        if c.qkvBias { specs.append(("self_attn.k_proj.bias", [c.kvDim])) }
        specs.append(("self_attn.v_proj.weight", [c.kvDim, c.hiddenSize]))
        if c.qkvBias { specs.append(("self_attn.v_proj.bias", [c.kvDim])) }
        specs.append(("self_attn.o_proj.weight", [c.hiddenSize, c.qDim]))
        if c.outputBias { specs.append(("self_attn.o_proj.bias", [c.hiddenSize])) }
        if c.qkNorm {
            specs.append(("self_attn.q_norm.weight", [c.headDim]))
            specs.append(("self_attn.k_norm.weight", [c.headDim]))
        }
        specs.append(("post_attention_layernorm.weight", [c.hiddenSize]))
        specs.append(("mlp.gate_proj.weight", [c.intermediateSize, c.hiddenSize]))
        if c.mlpBias { specs.append(("mlp.gate_proj.bias", [c.intermediateSize])) }
        specs.append(("mlp.up_proj.weight", [c.intermediateSize, c.hiddenSize]))
        if c.mlpBias { specs.append(("mlp.up_proj.bias", [c.intermediateSize])) }
        specs.append(("mlp.down_proj.weight", [c.hiddenSize, c.intermediateSize]))
        if c.mlpBias { specs.append(("mlp.down_proj.bias", [c.hiddenSize])) }
        (tensors, count) = LayerLayout.pack(specs)
    }

    /// Lays `specs` out one after another, each offset rounded up to `alignment`.
    static func pack(_ specs: [(String, [Int])]) -> ([TensorSlot], Int) {
        var slots: [TensorSlot] = []
        var offset = 0
        for (name, shape) in specs {
            slots.append(TensorSlot(name: name, shape: shape, offset: offset))
            offset += shape.reduce(1, *)
            offset = (offset + alignment - 1) / alignment * alignment
        }
        return (slots, offset)
    }

    public func slot(_ name: String) -> TensorSlot? { tensors.first { $0.name == name } }

    /// The Hugging Face name of a layer tensor: "model.layers.3.self_attn.q_proj.weight".
    public static func hfName(layer: Int, _ name: String) -> String { "model.layers.\(layer).\(name)" }
}

/// Everything outside the decoder layers: the token embedding, the final norm and (untied)
/// the LM head. Each is its own buffer: the embedding and LM head are far larger than a
/// layer and are handled separately by the engine.
public struct ModelLayout: Equatable, Sendable {
    public let config: ModelConfig
    public let layer: LayerLayout
    /// [vocab, hidden]
    public let embedding: TensorSlot
    /// [hidden]
    public let finalNorm: TensorSlot
    /// [vocab, hidden]; nil when tied to the embedding.
    public let lmHead: TensorSlot?

    public init(_ c: ModelConfig) {
        config = c
        layer = LayerLayout(c)
        embedding = TensorSlot(name: "model.embed_tokens.weight", shape: [c.vocabSize, c.hiddenSize], offset: 0)
        finalNorm = TensorSlot(name: "model.norm.weight", shape: [c.hiddenSize], offset: 0)
        lmHead = c.tieWordEmbeddings ? nil
            : TensorSlot(name: "lm_head.weight", shape: [c.vocabSize, c.hiddenSize], offset: 0)
    }

    /// Trainable parameters (padding excluded; a tied head counted once).
    public var parameterCount: Int {
        config.numLayers * layer.tensors.reduce(0) { $0 + $1.count }
            + embedding.count + finalNorm.count + (lmHead?.count ?? 0)
    }
}
