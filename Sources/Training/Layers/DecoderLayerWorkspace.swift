import Backends
import ModelFormats

/// The activations of one decoder layer's forward (kept for its backward) and the scratch
/// of the backward, sized once for `maxTokens` tokens and reused by every layer: layers run
/// one at a time, and a layer's backward first recomputes its forward into these buffers.
/// Shapes below are for N tokens; every buffer holds maxTokens rows, except the MLP's
/// (·, I) buffers, which hold `mlpChunkTokens` rows (M): the MLP runs chunk by chunk of
/// tokens, so its intermediate activations, the largest per token, never exist for all N.
///
/// Element types: GEMM operands and outputs that feed GEMMs are in the model's `storage` type
/// (bf16 on the GPU, as autocast computes); the residual stream (`residual`), norms' rstd and
/// attention's lse stay f32.
final class DecoderLayerWorkspace {
    // Forward (attention block)
    let rstdInput: TensorRef      // (N) f32
    let normedInput: TensorRef    // (N,C) input_layernorm output
    let qPreNorm: TensorRef?      // (N,H·D) q projection before q_norm (Qwen3)
    let kPreNorm: TensorRef?      // (N,Hkv·D)
    let rstdQ: TensorRef?         // (N·H)
    let rstdK: TensorRef?         // (N·Hkv)
    let q: TensorRef              // (N,H·D) after norm and RoPE
    let k: TensorRef              // (N,Hkv·D) after norm and RoPE
    let v: TensorRef              // (N,Hkv·D)
    let attention: TensorRef      // (N,H·D) softmax(q kᵀ) v
    let lse: TensorRef            // (B,H,T)
    let residual: TensorRef       // (N,C) input + o_proj(attention)
    // Forward (MLP block); the (M,I) buffers are in `sharedScratch`
    let rstdPost: TensorRef       // (N)
    let normedPost: TensorRef     // (N,C) post_attention_layernorm output
    let gate: TensorRef           // (M,I)
    let up: TensorRef             // (M,I)
    let activation: TensorRef     // (M,I) silu(gate) · up
    // Backward scratch
    let dNormed: TensorRef        // (N,C) gradient of either norm's output
    let dActivation: TensorRef    // (M,I), in `sharedScratch`
    /// (M,I) written over `gate` and `up` by the SwiGLU backward (each element is read before
    /// it is written), which is the last reader of both in a chunk.
    var dGate: TensorRef { gate }
    var dUp: TensorRef { up }
    // Attention block's backward, in `sharedScratch` (the MLP's chunks are done by then)
    let dAttention: TensorRef     // (N,H·D)
    let dq: TensorRef             // (N,H·D)
    let dk: TensorRef             // (N,Hkv·D)
    let dv: TensorRef             // (N,Hkv·D)
    let dqPreNorm: TensorRef?     // (N,H·D) (Qwen3)
    let dkPreNorm: TensorRef?     // (N,Hkv·D)
    /// (N,C) the f32 residual-stream gradient rounded to the storage type, as the output
    /// gradient of o_proj and down_proj; nil when the storage is f32 (the stream itself is used).
    let dOutput: TensorRef?
    /// Rows of the MLP's (·, I) buffers: the requested chunk, or maxTokens when that is fewer.
    let mlpChunkTokens: Int
    /// One buffer of the storage type that the MLP's chunks use (gate, up, activation,
    /// dActivation) and, after them in a layer's backward, the attention block's gradients:
    /// the two never hold live values at once, so they share memory (as does the streamed LM
    /// head, which runs between the last layer's forward and its backward).
    let sharedScratch: any DeviceBuffer

    /// Elements of `sharedScratch` (`elementSize` bytes each): max(4·M·I, the attention block's
    /// gradients 2·N·H·D + 2·N·Hkv·D, and with q/k norm N·H·D + N·Hkv·D more, `leastBytes`).
    static func sharedScratchElements(_ c: ModelConfig, tokens n: Int, mlpChunkTokens m: Int, leastBytes: Int = 0,
                                      elementSize: Int = 2) -> Int {
        let attention = n * (2 * c.qDim + 2 * c.kvDim) + (c.qkNorm ? n * (c.qDim + c.kvDim) : 0)
        return max(4 * m * c.intermediateSize, attention, (leastBytes + elementSize - 1) / elementSize)
    }

    /// `mlpChunkTokens` ≥ 1: tokens per MLP chunk; `sharedScratchBytes`: the least size of
    /// `sharedScratch`, for a user between the layers' runs (the streamed LM head's logits).
    init(config c: ModelConfig, maxTokens n: Int, mlpChunkTokens: Int, storage: ElementType,
         sharedScratchBytes: Int = 0, backend: any Backend) throws {
        precondition(n >= 1 && mlpChunkTokens >= 1, "token counts are positive")
        let m = min(n, mlpChunkTokens)
        self.mlpChunkTokens = m
        // Each reference keeps its buffer alive.
        func make(_ count: Int, _ type: ElementType = storage) throws -> TensorRef {
            try backend.makeBuffer(type, count: count).ref()
        }
        let qk = c.qkNorm
        rstdInput = try make(n, .f32)
        normedInput = try make(n * c.hiddenSize)
        qPreNorm = try qk ? make(n * c.qDim) : nil
        kPreNorm = try qk ? make(n * c.kvDim) : nil
        rstdQ = try qk ? make(n * c.numHeads, .f32) : nil
        rstdK = try qk ? make(n * c.numKVHeads, .f32) : nil
        q = try make(n * c.qDim)
        k = try make(n * c.kvDim)
        v = try make(n * c.kvDim)
        attention = try make(n * c.qDim)
        lse = try make(n * c.numHeads, .f32)
        residual = try make(n * c.hiddenSize, .f32)
        rstdPost = try make(n, .f32)
        normedPost = try make(n * c.hiddenSize)
        dNormed = try make(n * c.hiddenSize)
        let shared = try backend.makeBuffer(storage, count: Self.sharedScratchElements(
            c, tokens: n, mlpChunkTokens: m, leastBytes: sharedScratchBytes, elementSize: storage.byteSize))
        sharedScratch = shared
        let mlp = m * c.intermediateSize
        gate = shared.ref(0)
        up = shared.ref(mlp)
        activation = shared.ref(2 * mlp)
        dActivation = shared.ref(3 * mlp)
        let qElements = n * c.qDim, kvElements = n * c.kvDim
        dAttention = shared.ref(0)
        dq = shared.ref(qElements)
        dk = shared.ref(2 * qElements)
        dv = shared.ref(2 * qElements + kvElements)
        dqPreNorm = qk ? shared.ref(2 * qElements + 2 * kvElements) : nil
        dkPreNorm = qk ? shared.ref(3 * qElements + 2 * kvElements) : nil
        dOutput = try storage == .f32 ? nil : make(n * c.hiddenSize)
    }
}
