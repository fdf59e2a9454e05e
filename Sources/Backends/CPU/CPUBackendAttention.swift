#if canImport(Glibc)
import Glibc
#endif

/// Causal grouped-query attention, flash-attention style: work is split per (batch, head,
/// block of queries); scores exist for one block at a time (blockSize × keys), never (T,T)
/// per head. The forward stores the log-sum-exp of each query's scores; the backward
/// recomputes probabilities from it.
extension CPUBackend {
    /// Any head dimension.
    public func supportsAttention(headDim: Int) -> Bool { headDim > 0 }

    /// Queries (or keys) per task.
    static let attentionBlock = 64

    public func attentionForward(out: TensorRef, lse: TensorRef, q: TensorRef, k: TensorRef, v: TensorRef,
                                 batch: Int, seqLen: Int, heads: Int, kvHeads: Int, headDim: Int) {
        let shape = AttentionShape(batch: batch, seqLen: seqLen, heads: heads, kvHeads: kvHeads, headDim: headDim)
        let o = floats(out, shape.qCount), l = floats(lse, batch * heads * seqLen)
        let pq = floats(q, shape.qCount), pk = floats(k, shape.kvCount), pv = floats(v, shape.kvCount)
        let bs = Self.attentionBlock, blocks = (seqLen + bs - 1) / bs
        pool.parallelFor(batch * heads * blocks) { task in
            let (b, h, blk) = (task / (heads * blocks), (task / blocks) % heads, task % blocks)
            let q0 = blk * bs, rows = min(bs, seqLen - q0), keys = q0 + rows
            let qb = pq + shape.qIndex(b, q0, h), kb = pk + shape.kvIndex(b, 0, shape.group(h))
            let vb = pv + shape.kvIndex(b, 0, shape.group(h))
            scratch.withFloats(rows * keys) { s in
                // s (rows, keys) = q kᵀ / sqrt(D); then each row becomes its causal softmax.
                serialGemm(transA: false, transB: true, m: rows, n: keys, k: headDim, alpha: shape.scale,
                           a: qb, lda: shape.qStride, b: kb, ldb: shape.kvStride, beta: 0, c: s, ldc: keys)
                for r in 0..<rows {
                    let row = s + r * keys, valid = q0 + r + 1
                    var m = -Float.infinity
                    for j in 0..<valid { m = max(m, row[j]) }
                    // fp64 sum: behind a dominant key (an attention sink), an fp32 running
                    // sum would round away each of thousands of faint keys' terms.
                    var sum: Double = 0
                    for j in 0..<valid {
                        row[j] = expf(row[j] - m)
                        sum += Double(row[j])
                    }
                    let inv = Float(1 / sum)
                    for j in 0..<valid { row[j] *= inv }
                    for j in valid..<keys { row[j] = 0 }
                    l[(b * heads + h) * seqLen + q0 + r] = Float(Double(m) + log(sum))
                }
                // out (rows, D) = p v
                serialGemm(transA: false, transB: false, m: rows, n: headDim, k: keys, alpha: 1,
                           a: s, lda: keys, b: vb, ldb: shape.kvStride, beta: 0,
                           c: o + shape.qIndex(b, q0, h), ldc: shape.qStride)
            }
        }
    }

    public func attentionBackward(dq: TensorRef, dk: TensorRef, dv: TensorRef, dOut: TensorRef,
                                  q: TensorRef, k: TensorRef, v: TensorRef, out: TensorRef, lse: TensorRef,
                                  batch: Int, seqLen: Int, heads: Int, kvHeads: Int, headDim: Int) {
        let shape = AttentionShape(batch: batch, seqLen: seqLen, heads: heads, kvHeads: kvHeads, headDim: headDim)
        let pdq = floats(dq, shape.qCount), pdk = floats(dk, shape.kvCount), pdv = floats(dv, shape.kvCount)
        let pdo = floats(dOut, shape.qCount), po = floats(out, shape.qCount)
        let pq = floats(q, shape.qCount), pk = floats(k, shape.kvCount), pv = floats(v, shape.kvCount)
        let l = floats(lse, batch * heads * seqLen)
        let bs = Self.attentionBlock, blocks = (seqLen + bs - 1) / bs
        let rowCount = batch * heads * seqLen
        scratch.withFloats(rowCount) { delta in
            // delta (B,H,T) = Σ_d dOut · out: the softmax backward's row term.
            forEachPiece(batch * seqLen, minChunk: 16) { _, r in
                for bt in r {
                    let (b, t) = (bt / seqLen, bt % seqLen)
                    for h in 0..<heads {
                        let i = shape.qIndex(b, t, h)
                        var s: Float = 0
                        for d in 0..<headDim { s += pdo[i + d] * po[i + d] }
                        delta[(b * heads + h) * seqLen + t] = s
                    }
                }
            }
            // Pass 1, per (batch, head, query block): dq = scale · dS k.
            pool.parallelFor(batch * heads * blocks) { task in
                let (b, h, blk) = (task / (heads * blocks), (task / blocks) % heads, task % blocks)
                let q0 = blk * bs, rows = min(bs, seqLen - q0), keys = q0 + rows
                let g = shape.group(h)
                scratch.withFloats(2 * rows * keys) { p in
                    let dp = p + rows * keys
                    probabilitiesAndScoreGrads(p: p, dp: dp, shape: shape, b: b, h: h, q0: q0, rows: rows,
                                               k0: 0, keys: keys, q: pq, k: pk, v: pv, dOut: pdo, lse: l, delta: delta)
                    serialGemm(transA: false, transB: false, m: rows, n: headDim, k: keys, alpha: shape.scale,
                               a: dp, lda: keys, b: pk + shape.kvIndex(b, 0, g), ldb: shape.kvStride, beta: 0,
                               c: pdq + shape.qIndex(b, q0, h), ldc: shape.qStride)
                }
            }
            // Pass 2, per (batch, kv head, key block): dv = Σ_heads pᵀ dOut, dk = scale · Σ_heads dSᵀ q,
            // over the queries at or after the block (the causal ones). Largest tasks come first.
            let perGroup = heads / kvHeads
            pool.parallelFor(batch * kvHeads * blocks) { task in
                let (b, g, blk) = (task / (kvHeads * blocks), (task / blocks) % kvHeads, task % blocks)
                let k0 = blk * bs, keys = min(bs, seqLen - k0), rows = seqLen - k0
                scratch.withFloats(2 * rows * keys) { p in
                    let dp = p + rows * keys
                    for hi in 0..<perGroup {
                        let h = g * perGroup + hi
                        probabilitiesAndScoreGrads(p: p, dp: dp, shape: shape, b: b, h: h, q0: k0, rows: rows,
                                                   k0: k0, keys: keys, q: pq, k: pk, v: pv, dOut: pdo, lse: l, delta: delta)
                        let beta: Float = hi == 0 ? 0 : 1
                        serialGemm(transA: true, transB: false, m: keys, n: headDim, k: rows, alpha: 1,
                                   a: p, lda: keys, b: pdo + shape.qIndex(b, k0, h), ldb: shape.qStride, beta: beta,
                                   c: pdv + shape.kvIndex(b, k0, g), ldc: shape.kvStride)
                        serialGemm(transA: true, transB: false, m: keys, n: headDim, k: rows, alpha: shape.scale,
                                   a: dp, lda: keys, b: pq + shape.qIndex(b, k0, h), ldb: shape.qStride, beta: beta,
                                   c: pdk + shape.kvIndex(b, k0, g), ldc: shape.kvStride)
                    }
                }
            }
        }
    }

    /// For queries q0..<q0+rows and keys k0..<k0+keys of head h: p (rows, keys) = the causal
    /// softmax probabilities (from the stored lse) and dp = p · (dOut vᵀ − delta), the gradient
    /// of the scaled scores (scale not yet applied).
    private func probabilitiesAndScoreGrads(
        p: UnsafeMutablePointer<Float>, dp: UnsafeMutablePointer<Float>, shape: AttentionShape,
        b: Int, h: Int, q0: Int, rows: Int, k0: Int, keys: Int,
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
        lse: UnsafePointer<Float>, delta: UnsafePointer<Float>
    ) {
        let g = shape.group(h), d = shape.headDim
        serialGemm(transA: false, transB: true, m: rows, n: keys, k: d, alpha: shape.scale,
                   a: q + shape.qIndex(b, q0, h), lda: shape.qStride, b: k + shape.kvIndex(b, k0, g), ldb: shape.kvStride,
                   beta: 0, c: p, ldc: keys)
        serialGemm(transA: false, transB: true, m: rows, n: keys, k: d, alpha: 1,
                   a: dOut + shape.qIndex(b, q0, h), lda: shape.qStride, b: v + shape.kvIndex(b, k0, g), ldb: shape.kvStride,
                   beta: 0, c: dp, ldc: keys)
        let rowBase = (b * shape.heads + h) * shape.seqLen + q0
        for r in 0..<rows {
            let pr = p + r * keys, dpr = dp + r * keys
            let rowLse = lse[rowBase + r], rowDelta = delta[rowBase + r]
            // Keys after the query are masked: j ≤ q0 + r.
            let valid = max(0, min(keys, q0 + r - k0 + 1))
            for j in 0..<valid {
                pr[j] = expf(pr[j] - rowLse)
                dpr[j] = pr[j] * (dpr[j] - rowDelta)
            }
            for j in valid..<keys {
                pr[j] = 0
                dpr[j] = 0
            }
        }
    }
}

/// Index arithmetic for q/out (B,T,H,D) and k/v (B,T,Hkv,D) in row-major storage.
struct AttentionShape {
    let batch: Int, seqLen: Int, heads: Int, kvHeads: Int, headDim: Int

    init(batch: Int, seqLen: Int, heads: Int, kvHeads: Int, headDim: Int) {
        precondition(kvHeads > 0 && heads % kvHeads == 0, "attention: \(heads) heads not a multiple of \(kvHeads) kv heads")
        self.batch = batch
        self.seqLen = seqLen
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
    }

    var scale: Float { 1 / Float(headDim).squareRoot() }
    var qStride: Int { heads * headDim }
    var kvStride: Int { kvHeads * headDim }
    var qCount: Int { batch * seqLen * qStride }
    var kvCount: Int { batch * seqLen * kvStride }
    /// The kv head that query head h reads.
    func group(_ h: Int) -> Int { h / (heads / kvHeads) }
    func qIndex(_ b: Int, _ t: Int, _ h: Int) -> Int { (b * seqLen + t) * qStride + h * headDim }
    func kvIndex(_ b: Int, _ t: Int, _ g: Int) -> Int { (b * seqLen + t) * kvStride + g * headDim }
}
