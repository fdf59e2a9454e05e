/// The op set one decoder-only training step needs (forward and backward of embedding,
/// decoder layers, final norm and fused linear cross-entropy), on memory the backend owns.
///
/// Conventions, for every op:
/// - Shapes are explicit integers; tensors are row-major and contiguous from their offset.
///   Shape comments use N = tokens (B·T), C = channels, H = query heads, Hkv = key/value heads,
///   D = head dim, V = vocabulary, I = MLP intermediate size.
/// - Floating-point operands are `f32` or `bf16` storage (the CPU backend takes `f32` only);
///   `rstd`, `lse`, `invFreq`, loss and sum-of-squares results are always `f32`; ids, targets
///   and positions are `i32`. Math is fp32 (accumulation included) whatever the storage.
/// - Outputs are overwritten unless the doc says "accumulated" (`+=`). Weight gradients are
///   always accumulated, so micro-batches and token chunks add up; zero them with `fill`.
/// - An output must not overlap an input unless the doc allows it.
/// - Integer operands (ids, targets) must be in range; callers validate user data before it
///   reaches a backend. Misuse (wrong element type, out-of-range ref) is a programming error.
///
/// Ordering and streams: every op is enqueued, in call order, on the backend's one default
/// queue; ops run in that order and `download`/`synchronize` wait for everything queued before
/// them. The CPU backend runs each op to completion before returning (multi-threaded inside).
/// Streams will come as queue-bound views: a backend will offer `onQueue(_:) -> any Backend`,
/// a view that shares the device, buffers and kernels but enqueues on another queue, plus
/// events to order queues against each other. Layer code keeps calling these same methods on
/// whichever view the engine hands it, so op signatures do not change.
public protocol Backend: AnyObject {
    /// Human-readable device name, for logs.
    var name: String { get }

    // MARK: Memory

    /// A new buffer of `count` elements. Contents are unspecified until written.
    func makeBuffer(_ type: ElementType, count: Int) throws -> any DeviceBuffer

    /// A buffer of `count` elements of `type` over `buffer`'s memory from `byteOffset` (a
    /// multiple of 256; the elements must lie within it): no memory of its own, it keeps
    /// `buffer` alive. For phases of a step that use the same memory at different times.
    func makeView(_ type: ElementType, count: Int, of buffer: any DeviceBuffer, byteOffset: Int) -> any DeviceBuffer

    /// Copies host bytes into `dst`. `bytes` holds elements of `dst`'s element type (raw
    /// 16-bit values for bf16); `bytes.count` must be a multiple of the element size.
    func upload(_ bytes: UnsafeRawBufferPointer, to dst: TensorRef)

    /// Copies elements from `src` into host memory, after all queued work has finished.
    /// Reads `bytes.count / elementSize` elements of `src`'s element type.
    func download(_ src: TensorRef, into bytes: UnsafeMutableRawBufferPointer)

    /// Waits until every queued op has finished.
    func synchronize()

    /// dst[0..<count] = value (converted to dst's element type; i32 takes the value truncated).
    func fill(_ dst: TensorRef, count: Int, value: Float)

    /// dst[0..<count] = src[0..<count], converting between f32 and bf16 (round to nearest
    /// even) when the element types differ. i32 copies only to i32.
    func copy(_ src: TensorRef, to dst: TensorRef, count: Int)

    // MARK: Linear algebra

    /// C = alpha · op(A) · op(B) + beta · C, row-major, fp32 accumulation.
    /// op(A) is (M,K): A is stored (M,K), or (K,M) when `transA`.
    /// op(B) is (K,N): B is stored (K,N), or (N,K) when `transB`. C is (M,N).
    /// beta = 0 ignores C's previous contents (even NaN). With HF linear weights W (out,in):
    ///   forward  y = x Wᵀ:    gemm(transA: false, transB: true,  m: N, n: out, k: in, a: x, b: W)
    ///   input    dX = dY W:   gemm(transA: false, transB: false, m: N, n: in, k: out, a: dY, b: W)
    ///   weight   dW += dYᵀ X: gemm(transA: true,  transB: false, m: out, n: in, k: N, a: dY, b: x, beta: 1)
    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
              alpha: Float, a: TensorRef, b: TensorRef, beta: Float, c: TensorRef)

    /// out (M,N) = op(A) op(B) + addend (M,N), shapes and operand layouts as in `gemm`: the
    /// residual add done in the GEMM's epilogue (cuBLASLt reads `addend` as its C), the sum
    /// rounded once into `out`'s type. `out` and `addend` are distinct buffers of one type.
    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
              a: TensorRef, b: TensorRef, adding addend: TensorRef, out: TensorRef)

    /// out (N,C) += bias (C), every row. In place.
    func addBias(_ out: TensorRef, bias: TensorRef, rows: Int, cols: Int)

    /// dBias (C) += Σ_rows dOut (N,C): the gradient of `addBias`. Accumulated.
    func biasBackward(dBias: TensorRef, dOut: TensorRef, rows: Int, cols: Int)

    // MARK: Elementwise

    /// out = a + b over `count` elements (the residual add). `out` may alias `a` or `b`.
    func add(_ out: TensorRef, _ a: TensorRef, _ b: TensorRef, count: Int)

    /// x *= factor over `count` elements, in place.
    func scale(_ x: TensorRef, count: Int, by factor: Float)

    /// Accumulates Σ x² over `count` elements into `result` (one f32 element): result += Σ x².
    /// Summed in fp64 (CPU) or with fp32 pairwise/Kahan (GPU): for global-norm clipping.
    func sumOfSquares(_ x: TensorRef, count: Int, into result: TensorRef)

    // MARK: Optimizer

    /// One AdamW update of `count` elements (torch.optim.AdamW, `AdamWScalars` for the order of
    /// operations): params (fp32 master weights), m, v (f32) updated in place from grads (f32);
    /// `computeCopy`, when given (bf16), receives the updated params rounded to nearest even:
    /// the compute weights of the next step, written in the same pass.
    func adamW(params: TensorRef, m: TensorRef, v: TensorRef, grads: TensorRef, computeCopy: TensorRef?,
               count: Int, scalars: AdamWScalars)

    // MARK: Embedding

    /// out (N,C) = table (V,C)[ids (N)]. ids are i32 in 0..<vocab.
    func embeddingForward(out: TensorRef, ids: TensorRef, table: TensorRef, tokens: Int, channels: Int, vocab: Int)

    /// dTable (V,C) [ids[i]] += dOut (N,C)[i] for every token (scatter-add; repeated ids add up).
    /// Accumulated.
    func embeddingBackward(dTable: TensorRef, dOut: TensorRef, ids: TensorRef, tokens: Int, channels: Int, vocab: Int)

    /// The embedding's gradient from tokens grouped by row (`BatchRows`: group k holds tokens
    /// `tokenOrder[rowStarts[k] ..< rowStarts[k + 1]]`, ascending): for each group k in `groups`,
    /// dRows (R,C)[destination] += the sum of dOut (N,C)[t] over its tokens, added in f32 in
    /// token order; destination = `groupRows`[k] − `firstRow` (a chunk of the vocabulary whose
    /// rows start at `firstRow`), or k − `groups.lowerBound` without `groupRows` (the groups'
    /// rows one after the other). `rows` (R) bounds dRows. Accumulated.
    func embeddingBackwardGroups(dRows: TensorRef, dOut: TensorRef, tokenOrder: TensorRef, rowStarts: TensorRef,
                                 groupRows: TensorRef?, groups: Range<Int>, tokens: Int, channels: Int,
                                 firstRow: Int, rows: Int)

    // MARK: RMSNorm (also per-head q/k norm of Qwen3: rows = N·heads, cols = D)

    /// out (R,C) = inp · rstd · weight (C), rstd (R) = 1 / sqrt(mean(inp²) + eps), stored for
    /// the backward (as HF LlamaRMSNorm: normalize in fp32, then multiply by weight).
    func rmsNormForward(out: TensorRef, rstd: TensorRef, inp: TensorRef, weight: TensorRef,
                        rows: Int, cols: Int, eps: Float)

    /// The gradient of `rmsNormForward`, from the stored `rstd`.
    /// dInp (R,C) = dInp (if `accumulate`, e.g. the residual stream's gradient) + ∂L/∂inp;
    /// dWeight (C) += Σ_rows dOut · inp · rstd (accumulated). dInp may not alias dOut.
    func rmsNormBackward(dInp: TensorRef, dWeight: TensorRef, dOut: TensorRef, inp: TensorRef,
                         weight: TensorRef, rstd: TensorRef, rows: Int, cols: Int, accumulate: Bool)

    // MARK: Rotary position embedding (HF "rotate_half": pairs (i, i + D/2))

    /// out (N,heads,D) = inp · cos + rotate_half(inp) · sin with angle[t][i] = positions[t] ·
    /// invFreq[i mod D/2], both in fp32 (invFreq (D/2) f32 from `RopeFrequencies`; positions
    /// (N) i32). `out` may alias `inp` (in place).
    func ropeForward(out: TensorRef, inp: TensorRef, positions: TensorRef, invFreq: TensorRef,
                     tokens: Int, heads: Int, headDim: Int)

    /// The gradient of `ropeForward` (rotation by the negative angle). dInp may alias dOut.
    func ropeBackward(dInp: TensorRef, dOut: TensorRef, positions: TensorRef, invFreq: TensorRef,
                      tokens: Int, heads: Int, headDim: Int)

    // MARK: Attention (causal, grouped-query, scale 1/sqrt(D))

    /// Whether the attention ops take this head dimension (models are refused up front otherwise).
    func supportsAttention(headDim: Int) -> Bool

    /// out (B,T,H,D) = softmax(q kᵀ / sqrt(D) + causal mask) v, per batch row and head; query
    /// head h reads key/value head h / (H / Hkv). q (B,T,H,D); k, v (B,T,Hkv,D);
    /// lse (B,H,T) f32 = log Σ_j exp(score), stored for the backward. Never materializes a
    /// (T,T) score matrix per head beyond one block (flash-attention style).
    func attentionForward(out: TensorRef, lse: TensorRef, q: TensorRef, k: TensorRef, v: TensorRef,
                          batch: Int, seqLen: Int, heads: Int, kvHeads: Int, headDim: Int)

    /// The gradient of `attentionForward`, recomputing scores from q, k and the stored lse.
    /// dq (B,T,H,D), dk and dv (B,T,Hkv,D) are overwritten (the kv gradient sums over the
    /// query heads of its group). dOut and out are (B,T,H,D).
    func attentionBackward(dq: TensorRef, dk: TensorRef, dv: TensorRef, dOut: TensorRef,
                           q: TensorRef, k: TensorRef, v: TensorRef, out: TensorRef, lse: TensorRef,
                           batch: Int, seqLen: Int, heads: Int, kvHeads: Int, headDim: Int)

    // MARK: SwiGLU MLP activation

    /// out = silu(gate) · up over `count` elements (gate, up, out (N,I)).
    func swigluForward(out: TensorRef, gate: TensorRef, up: TensorRef, count: Int)

    /// dGate, dUp (N,I) = the gradient of `swigluForward` (overwritten).
    func swigluBackward(dGate: TensorRef, dUp: TensorRef, dOut: TensorRef, gate: TensorRef, up: TensorRef, count: Int)

    // MARK: LM head + cross-entropy, fused and chunked

    /// Linear LM head + token cross-entropy, forward and backward in one pass, `chunkTokens`
    /// tokens at a time, so at most (chunkTokens, V) logits exist at once.
    /// hidden (N,C) is the final-normed hidden state; weight (V,C) the LM head (or the tied
    /// embedding). targets (N) i32 are ALREADY SHIFTED: targets[t] is the token position t
    /// must predict (HF labels[t+1]; -100 = ignored; in 0..<V otherwise).
    /// For each chunk: logits = hidden Wᵀ (fp32), lse = logsumexp(logits);
    ///   lossSum (one f32) += Σ_{t: target ≠ -100} (lse_t - logits[t, target_t])  (accumulated)
    ///   dlogits = (softmax(logits) - onehot(target)) · scale   (zero rows for ignored targets)
    ///   dHidden (N,C) = dlogits W  (overwritten)
    ///   dWeight (V,C) += dlogitsᵀ hidden  (accumulated)
    /// `scale` = 1 / (target tokens of the whole optimizer step), so gradients of all
    /// micro-batches add up to the gradient of the token-weighted mean loss.
    func linearCrossEntropy(lossSum: TensorRef, dHidden: TensorRef, dWeight: TensorRef,
                            hidden: TensorRef, weight: TensorRef, targets: TensorRef,
                            tokens: Int, channels: Int, vocab: Int, scale: Float, chunkTokens: Int)

    // MARK: LM head + cross-entropy over vocabulary chunks (the head's weights streamed)

    /// Pass 1 over one chunk of the LM head, rows v0 = `vocabStart` ..< v0 + Vc (`vocabRows`):
    /// logits (N,Vc) f32 = hidden (N,C) weight (Vc,C)ᵀ (overwritten: workspace), then, for every
    /// token whose target ≠ -100, the running logsumexp state (N) f32 takes in the chunk:
    ///   m = max(rowMax, max_j logits[t,j]);  rowSum = rowSum · exp(rowMax − m) + Σ_j exp(logits[t,j] − m);  rowMax = m
    /// and targetLogit (N) f32 = logits[t, target − v0] where the target falls in the chunk.
    /// Start from rowMax = -inf and rowSum = 0; ignored tokens keep their state. targets as in
    /// `linearCrossEntropy` (shifted, -100 = ignored).
    func vocabChunkStatistics(rowMax: TensorRef, rowSum: TensorRef, targetLogit: TensorRef, logits: TensorRef,
                              hidden: TensorRef, weight: TensorRef, targets: TensorRef,
                              tokens: Int, channels: Int, vocabStart: Int, vocabRows: Int)

    /// lossSum (one f32) += Σ_{t: target ≠ -100} (rowMax + log rowSum − targetLogit), summed in
    /// fp64: the cross-entropy of pass 1's complete statistics. Accumulated.
    func vocabChunkLoss(lossSum: TensorRef, rowMax: TensorRef, rowSum: TensorRef, targetLogit: TensorRef,
                        targets: TensorRef, tokens: Int)

    /// Pass 2 over one chunk (after pass 1 over every chunk): logits (N,Vc) f32 = hidden weightᵀ
    /// again, lse = rowMax + log rowSum, then
    ///   dlogits (N,Vc) = (exp(logits − lse) − onehot(target − v0)) · scale  (zero rows for ignored targets)
    ///   dHidden (N,C) = (`accumulate` ? dHidden : 0) + dlogits weight
    ///   dWeight (Vc,C) += dlogitsᵀ hidden  (accumulated)
    /// dlogits has weight's element type (the GEMMs run on like operands); it may be `logits`
    /// itself when that is f32. dHidden should be f32: it sums over the chunks.
    func vocabChunkBackward(dHidden: TensorRef, dWeight: TensorRef, logits: TensorRef, dlogits: TensorRef,
                            hidden: TensorRef, weight: TensorRef, targets: TensorRef, rowMax: TensorRef, rowSum: TensorRef,
                            tokens: Int, channels: Int, vocabStart: Int, vocabRows: Int, scale: Float, accumulate: Bool)
}

/// Label value that contributes no loss and no gradient (HF / PyTorch `ignore_index`).
public let ignoredTarget: Int32 = -100

extension Backend {
    /// `gemm(adding:out:)` as two ops: the product into `out`, then the add (the CPU's form, and
    /// the GPU's for operand mixes its fused GEMM does not take). Same values for f32 `out`.
    public func gemmThenAdd(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                            a: TensorRef, b: TensorRef, adding addend: TensorRef, out: TensorRef) {
        gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, b: b, beta: 0, c: out)
        add(out, out, addend, count: m * n)
    }
}
