/// The architecture of a decoder-only model, as read from a Hugging Face `config.json`.
/// Every field here changes the math; anything in a config that would change the math and is
/// not modelled here must be rejected when the config is read, never ignored.
public struct ModelConfig: Equatable, Sendable {
    public enum Family: String, Sendable, CaseIterable {
        case llama, qwen2, qwen3, mistral
    }

    /// RoPE frequency scaling (`rope_scaling` / `rope_parameters`).
    public enum RopeScaling: Equatable, Sendable {
        case none
        /// Positions divided by `factor`.
        case linear(factor: Double)
        /// Llama 3.1 piecewise frequency scaling.
        case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositions: Int)
    }

    public var family: Family
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var numKVHeads: Int
    /// Per-head dimension; may differ from hiddenSize / numHeads (Qwen3, some Mistral).
    public var headDim: Int
    public var vocabSize: Int
    public var rmsNormEps: Double
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling
    public var maxPositionEmbeddings: Int
    public var tieWordEmbeddings: Bool
    /// Bias on q/k/v projections (Qwen2 always; Llama/Mistral with `attention_bias`).
    public var qkvBias: Bool
    /// Bias on o_proj (Llama with `attention_bias`; never Qwen2).
    public var outputBias: Bool
    /// Bias on gate/up/down projections (Llama `mlp_bias`).
    public var mlpBias: Bool
    /// RMSNorm over each head's q and k before RoPE (Qwen3).
    public var qkNorm: Bool
    /// Sliding-window attention span (Mistral `sliding_window`, Qwen `use_sliding_window`).
    /// Not implemented as a mask: attention is full, which equals the windowed attention only
    /// while every sequence has at most this many tokens, so training must refuse longer ones.
    public var slidingWindow: Int?
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]
    /// `pad_token_id`, in 0..<vocabSize. transformers builds the embedding as
    /// `nn.Embedding(padding_idx: pad_token_id)`: looking this id up never adds to its row's
    /// gradient (a tied LM head still does), so training must skip those lookups too.
    public var padTokenId: Int?

    public init(family: Family, hiddenSize: Int, intermediateSize: Int, numLayers: Int, numHeads: Int,
                numKVHeads: Int, headDim: Int, vocabSize: Int, rmsNormEps: Double, ropeTheta: Double,
                ropeScaling: RopeScaling = .none, maxPositionEmbeddings: Int, tieWordEmbeddings: Bool,
                qkvBias: Bool = false, outputBias: Bool = false, mlpBias: Bool = false, qkNorm: Bool = false,
                slidingWindow: Int? = nil, bosTokenId: Int? = nil, eosTokenIds: [Int] = [], padTokenId: Int? = nil) {
        self.family = family
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numLayers = numLayers
        self.numHeads = numHeads
        self.numKVHeads = numKVHeads
        self.headDim = headDim
        self.vocabSize = vocabSize
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.tieWordEmbeddings = tieWordEmbeddings
        self.qkvBias = qkvBias
        self.outputBias = outputBias
        self.mlpBias = mlpBias
        self.qkNorm = qkNorm
        self.slidingWindow = slidingWindow
        self.bosTokenId = bosTokenId
        self.eosTokenIds = eosTokenIds
        self.padTokenId = padTokenId
    }

    /// Width of the concatenated query heads: numHeads * headDim.
    public var qDim: Int { numHeads * headDim }
    /// Width of the concatenated key (or value) heads: numKVHeads * headDim.
    public var kvDim: Int { numKVHeads * headDim }
}
