import Backends
import ModelFormats

/// One pre-norm decoder layer (Llama / Mistral / Qwen2 / Qwen3), forward and backward with
/// explicit backend ops:
///
///     h   = x + o_proj(attention(rope(norm_qk(q_proj(n1))), rope(norm_qk(k_proj(n1))), v_proj(n1)))
///           with n1 = input_layernorm(x)
///     out = h + down_proj(silu(gate_proj(n2)) · up_proj(n2))   with n2 = post_attention_layernorm(h)
///
/// The backward takes only the layer's input (the activation checkpoint) and recomputes the
/// forward's activations before backpropagating, as the sliding-window engine does per layer;
/// given a `KeptAttention` the forward writes the attention output and lse there and the
/// backward's recompute reads them instead of running the attention again.
/// The MLP runs in chunks of `workspace.mlpChunkTokens` token rows (forward, and recompute +
/// backward), so its (·, I) activations exist for one chunk at a time.
/// A layer's attention output (N,H·D) of the storage type and lse (B,H,T) f32, kept from its
/// forward for its backward.
struct KeptAttention {
    let out: TensorRef
    let lse: TensorRef
}

struct DecoderLayer {
    let config: ModelConfig
    let backend: any Backend
    let workspace: DecoderLayerWorkspace
    /// (D/2) f32 RoPE inverse frequencies.
    let invFreq: TensorRef

    private var eps: Float { Float(config.rmsNormEps) }
    /// The workspace's attention output and lse, where layers without a `KeptAttention` put them.
    private var workspaceAttention: KeptAttention { KeptAttention(out: workspace.attention, lse: workspace.lse) }

    /// output (N,C) = the layer applied to input (N,C). output may not alias input.
    func forward(input: TensorRef, output: TensorRef, weights w: DecoderLayerTensors, grid: TokenGrid,
                 keep: KeptAttention? = nil) {
        let c = config, n = grid.tokens, C = c.hiddenSize
        attentionBlockAndPostNorm(input: input, weights: w, grid: grid, attention: keep ?? workspaceAttention,
                                  compute: true)
        for rows in mlpChunks(tokens: n) {
            mlpActivation(rows: rows, weights: w)
            let t = rows.lowerBound * C
            backend.linearForward(out: output.advanced(by: t), inp: workspace.activation,
                                  weight: w.downProj, bias: w.downBias, adding: workspace.residual.advanced(by: t),
                                  tokens: rows.count, inFeatures: c.intermediateSize, outFeatures: C)
        }
    }

    /// Backpropagates through the layer whose input was `input` (N,C): on entry `dResidual`
    /// (N,C) holds ∂L/∂output, on return ∂L/∂input. Weight gradients are accumulated into `g`.
    /// `kept`: what this layer's forward kept (its attention is not recomputed).
    func backward(input: TensorRef, dResidual: TensorRef, weights w: DecoderLayerTensors,
                  gradients g: DecoderLayerTensors, grid: TokenGrid, kept: KeptAttention? = nil) {
        let c = config, n = grid.tokens, ws = workspace, b = backend
        let C = c.hiddenSize, I = c.intermediateSize
        let attention = kept ?? workspaceAttention
        attentionBlockAndPostNorm(input: input, weights: w, grid: grid, attention: attention, compute: kept == nil)

        // MLP block: out = h + down(silu(gate) · up); dResidual is ∂L/∂out = ∂L/∂down. Chunk by
        // chunk of tokens: recompute the chunk's activation, backpropagate it into the chunk's
        // rows of dNormed; weight and bias gradients add up over the chunks.
        let dOut = outputGradient(dResidual, count: n * C)
        for rows in mlpChunks(tokens: n) {
            let t = rows.lowerBound * C, m = rows.count
            mlpActivation(rows: rows, weights: w)
            b.linearBackward(dInp: ws.dActivation, dWeight: g.downProj, dBias: g.downBias, dOut: dOut.advanced(by: t),
                             inp: ws.activation, weight: w.downProj, tokens: m, inFeatures: I, outFeatures: C,
                             accumulate: false)
            b.swigluBackward(dGate: ws.dGate, dUp: ws.dUp, dOut: ws.dActivation, gate: ws.gate, up: ws.up, count: m * I)
            b.linearBackward(dInp: ws.dNormed.advanced(by: t), dWeight: g.gateProj, dBias: g.gateBias, dOut: ws.dGate,
                             inp: ws.normedPost.advanced(by: t), weight: w.gateProj, tokens: m, inFeatures: C,
                             outFeatures: I, accumulate: false)
            b.linearBackward(dInp: ws.dNormed.advanced(by: t), dWeight: g.upProj, dBias: g.upBias, dOut: ws.dUp,
                             inp: ws.normedPost.advanced(by: t), weight: w.upProj, tokens: m, inFeatures: C,
                             outFeatures: I, accumulate: true)
        }
        // dResidual becomes ∂L/∂h: the skip path plus the path through the norm.
        b.rmsNormBackward(dInp: dResidual, dWeight: g.postAttentionNorm, dOut: ws.dNormed, inp: ws.residual,
                          weight: w.postAttentionNorm, rstd: ws.rstdPost, rows: n, cols: C, accumulate: true)

        // Attention block: h = x + o_proj(attention).
        b.linearBackward(dInp: ws.dAttention, dWeight: g.oProj, dBias: g.oBias,
                         dOut: outputGradient(dResidual, count: n * C),
                         inp: attention.out, weight: w.oProj, tokens: n, inFeatures: c.qDim, outFeatures: C,
                         accumulate: false)
        b.attentionBackward(dq: ws.dq, dk: ws.dk, dv: ws.dv, dOut: ws.dAttention, q: ws.q, k: ws.k, v: ws.v,
                            out: attention.out, lse: attention.lse, batch: grid.batch, seqLen: grid.seqLen,
                            heads: c.numHeads, kvHeads: c.numKVHeads, headDim: c.headDim)
        b.ropeBackward(dInp: ws.dq, dOut: ws.dq, positions: grid.positions, invFreq: invFreq,
                       tokens: n, heads: c.numHeads, headDim: c.headDim)
        b.ropeBackward(dInp: ws.dk, dOut: ws.dk, positions: grid.positions, invFreq: invFreq,
                       tokens: n, heads: c.numKVHeads, headDim: c.headDim)
        let (dqProj, dkProj) = qkNormBackward(weights: w, gradients: g, tokens: n)
        b.linearBackward(dInp: ws.dNormed, dWeight: g.qProj, dBias: g.qBias, dOut: dqProj,
                         inp: ws.normedInput, weight: w.qProj, tokens: n, inFeatures: C, outFeatures: c.qDim,
                         accumulate: false)
        b.linearBackward(dInp: ws.dNormed, dWeight: g.kProj, dBias: g.kBias, dOut: dkProj,
                         inp: ws.normedInput, weight: w.kProj, tokens: n, inFeatures: C, outFeatures: c.kvDim,
                         accumulate: true)
        b.linearBackward(dInp: ws.dNormed, dWeight: g.vProj, dBias: g.vBias, dOut: ws.dv,
                         inp: ws.normedInput, weight: w.vProj, tokens: n, inFeatures: C, outFeatures: c.kvDim,
                         accumulate: true)
        // dResidual becomes ∂L/∂x.
        b.rmsNormBackward(dInp: dResidual, dWeight: g.inputNorm, dOut: ws.dNormed, inp: input,
                          weight: w.inputNorm, rstd: ws.rstdInput, rows: n, cols: C, accumulate: true)
    }

    /// The residual-stream gradient as the output gradient of a projection that writes into the
    /// stream: rounded to the storage type when that is not f32 (autocast's bf16 grad_output).
    private func outputGradient(_ dResidual: TensorRef, count: Int) -> TensorRef {
        guard let dOutput = workspace.dOutput else { return dResidual }
        backend.copy(dResidual, to: dOutput, count: count)
        return dOutput
    }

    /// The attention block and the post-attention norm over all N tokens: everything the
    /// backward reads outside the MLP (residual = h, normedPost and rstdPost). The attention's
    /// output and lse are in `attention`: computed into it, or (`compute` false) there already.
    private func attentionBlockAndPostNorm(input: TensorRef, weights w: DecoderLayerTensors, grid: TokenGrid,
                                           attention: KeptAttention, compute: Bool) {
        let c = config, n = grid.tokens, ws = workspace, b = backend
        let C = c.hiddenSize
        b.rmsNormForward(out: ws.normedInput, rstd: ws.rstdInput, inp: input, weight: w.inputNorm,
                         rows: n, cols: C, eps: eps)
        // With q/k norm the projections land before the norm; otherwise straight in q, k.
        let qProj = ws.qPreNorm ?? ws.q, kProj = ws.kPreNorm ?? ws.k
        b.linearForward(out: qProj, inp: ws.normedInput, weight: w.qProj, bias: w.qBias,
                        tokens: n, inFeatures: C, outFeatures: c.qDim)
        b.linearForward(out: kProj, inp: ws.normedInput, weight: w.kProj, bias: w.kBias,
                        tokens: n, inFeatures: C, outFeatures: c.kvDim)
        b.linearForward(out: ws.v, inp: ws.normedInput, weight: w.vProj, bias: w.vBias,
                        tokens: n, inFeatures: C, outFeatures: c.kvDim)
        if let qNorm = w.qNorm, let kNorm = w.kNorm, let rstdQ = ws.rstdQ, let rstdK = ws.rstdK {
            // Per-head RMSNorm: rows = N·heads, cols = D.
            b.rmsNormForward(out: ws.q, rstd: rstdQ, inp: qProj, weight: qNorm,
                             rows: n * c.numHeads, cols: c.headDim, eps: eps)
            b.rmsNormForward(out: ws.k, rstd: rstdK, inp: kProj, weight: kNorm,
                             rows: n * c.numKVHeads, cols: c.headDim, eps: eps)
        }
        b.ropeForward(out: ws.q, inp: ws.q, positions: grid.positions, invFreq: invFreq,
                      tokens: n, heads: c.numHeads, headDim: c.headDim)
        b.ropeForward(out: ws.k, inp: ws.k, positions: grid.positions, invFreq: invFreq,
                      tokens: n, heads: c.numKVHeads, headDim: c.headDim)
        if compute {
            b.attentionForward(out: attention.out, lse: attention.lse, q: ws.q, k: ws.k, v: ws.v,
                               batch: grid.batch, seqLen: grid.seqLen,
                               heads: c.numHeads, kvHeads: c.numKVHeads, headDim: c.headDim)
        }
        b.linearForward(out: ws.residual, inp: attention.out, weight: w.oProj, bias: w.oBias, adding: input,
                        tokens: n, inFeatures: c.qDim, outFeatures: C)
        b.rmsNormForward(out: ws.normedPost, rstd: ws.rstdPost, inp: ws.residual, weight: w.postAttentionNorm,
                         rows: n, cols: C, eps: eps)
    }

    /// The token rows of each MLP chunk: `workspace.mlpChunkTokens` each, the last one shorter.
    private func mlpChunks(tokens n: Int) -> some Sequence<Range<Int>> {
        let m = workspace.mlpChunkTokens
        return stride(from: 0, to: n, by: m).lazy.map { $0..<min($0 + m, n) }
    }

    /// gate, up (M,I) = the projections of normedPost's `rows`; activation (M,I) = silu(gate) · up.
    private func mlpActivation(rows: Range<Int>, weights w: DecoderLayerTensors) {
        let ws = workspace, b = backend, C = config.hiddenSize, I = config.intermediateSize
        let normed = ws.normedPost.advanced(by: rows.lowerBound * C)
        b.linearForward(out: ws.gate, inp: normed, weight: w.gateProj, bias: w.gateBias,
                        tokens: rows.count, inFeatures: C, outFeatures: I)
        b.linearForward(out: ws.up, inp: normed, weight: w.upProj, bias: w.upBias,
                        tokens: rows.count, inFeatures: C, outFeatures: I)
        b.swigluForward(out: ws.activation, gate: ws.gate, up: ws.up, count: rows.count * I)
    }

    /// Backpropagates the per-head q/k RMSNorm (Qwen3) and returns the gradients of the q and
    /// k projections' outputs; without q/k norm those are dq, dk themselves.
    private func qkNormBackward(weights w: DecoderLayerTensors, gradients g: DecoderLayerTensors,
                                tokens n: Int) -> (TensorRef, TensorRef) {
        let c = config, ws = workspace
        guard let qNorm = w.qNorm, let kNorm = w.kNorm, let dqNorm = g.qNorm, let dkNorm = g.kNorm,
              let qPre = ws.qPreNorm, let kPre = ws.kPreNorm, let rstdQ = ws.rstdQ, let rstdK = ws.rstdK,
              let dqPre = ws.dqPreNorm, let dkPre = ws.dkPreNorm
        else { return (ws.dq, ws.dk) }
        backend.rmsNormBackward(dInp: dqPre, dWeight: dqNorm, dOut: ws.dq, inp: qPre, weight: qNorm, rstd: rstdQ,
                                rows: n * c.numHeads, cols: c.headDim, accumulate: false)
        backend.rmsNormBackward(dInp: dkPre, dWeight: dkNorm, dOut: ws.dk, inp: kPre, weight: kNorm, rstd: rstdK,
                                rows: n * c.numKVHeads, cols: c.headDim, accumulate: false)
        return (dqPre, dkPre)
    }
}
