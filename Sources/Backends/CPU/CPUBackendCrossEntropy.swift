#if canImport(Glibc)
import Glibc
#endif

extension CPUBackend {
    public func linearCrossEntropy(lossSum: TensorRef, dHidden: TensorRef, dWeight: TensorRef,
                                   hidden: TensorRef, weight: TensorRef, targets: TensorRef,
                                   tokens: Int, channels: Int, vocab: Int, scale: Float, chunkTokens: Int) {
        precondition(chunkTokens > 0, "linearCrossEntropy: chunkTokens must be positive")
        let loss = floats(lossSum, 1), dh = floats(dHidden, tokens * channels), dw = floats(dWeight, vocab * channels)
        let x = floats(hidden, tokens * channels), w = floats(weight, vocab * channels), tg = ints(targets, tokens)
        for t in 0..<tokens {
            precondition(tg[t] == ignoredTarget || (tg[t] >= 0 && Int(tg[t]) < vocab),
                         "linearCrossEntropy: target \(tg[t]) outside 0..<\(vocab)")
        }
        let chunk = min(chunkTokens, max(1, tokens))
        var total: Double = 0
        // One (chunk, V) logits block, reused: it becomes dlogits in place.
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: chunk * vocab)
        defer { logits.deallocate() }
        var rowLoss = [Double](repeating: 0, count: chunk)
        for t0 in stride(from: 0, to: tokens, by: chunk) {
            let n = min(chunk, tokens - t0)
            let xc = x + t0 * channels, dhc = dh + t0 * channels
            if !(t0..<t0 + n).contains(where: { tg[$0] != ignoredTarget }) {
                (dhc).update(repeating: 0, count: n * channels)
                continue
            }
            // logits (n, V) = x Wᵀ
            parallelGemm(transA: false, transB: true, m: n, n: vocab, k: channels, alpha: 1,
                         a: xc, lda: channels, b: w, ldb: channels, beta: 0, c: logits, ldc: vocab)
            rowLoss.withUnsafeMutableBufferPointer { rl in
                forEachPiece(n, minChunk: 1) { _, r in
                    for i in r {
                        let row = logits + i * vocab, target = tg[t0 + i]
                        if target == ignoredTarget {
                            row.update(repeating: 0, count: vocab)
                            rl[i] = 0
                            continue
                        }
                        var m = -Float.infinity
                        for j in 0..<vocab { m = max(m, row[j]) }
                        // The sum runs in fp64: in fp32, once the few likely tokens have made it
                        // ~1, each of the tens of thousands of unlikely tokens' terms (< 6e-8)
                        // rounds away, so the sum and the loss come out systematically low.
                        var sum: Double = 0
                        for j in 0..<vocab { sum += Double(expf(row[j] - m)) }
                        let lse = Double(m) + log(sum)
                        rl[i] = lse - Double(row[Int(target)])
                        // dlogits = (softmax − onehot) · scale
                        let lse32 = Float(lse)
                        for j in 0..<vocab { row[j] = expf(row[j] - lse32) * scale }
                        row[Int(target)] -= scale
                    }
                }
                for i in 0..<n { total += rl[i] }
            }
            // dHidden (n, C) = dlogits W ; dW (V, C) += dlogitsᵀ x
            parallelGemm(transA: false, transB: false, m: n, n: channels, k: vocab, alpha: 1,
                         a: logits, lda: vocab, b: w, ldb: channels, beta: 0, c: dhc, ldc: channels)
            parallelGemm(transA: true, transB: false, m: vocab, n: channels, k: n, alpha: 1,
                         a: logits, lda: vocab, b: xc, ldb: channels, beta: 1, c: dw, ldc: channels)
        }
        loss[0] += Float(total)
    }
}
