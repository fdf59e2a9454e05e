#if canImport(Glibc)
import Glibc
#endif

/// The LM head's cross-entropy one vocabulary chunk at a time (its weights streamed), and the
/// embedding's gradient from tokens grouped by row, a chunk of rows at a time.
extension CPUBackend {
    public func vocabChunkStatistics(rowMax: TensorRef, rowSum: TensorRef, targetLogit: TensorRef, logits: TensorRef,
                                     hidden: TensorRef, weight: TensorRef, targets: TensorRef,
                                     tokens: Int, channels: Int, vocabStart: Int, vocabRows: Int) {
        let mx = floats(rowMax, tokens), sm = floats(rowSum, tokens), tl = floats(targetLogit, tokens)
        let lg = floats(logits, tokens * vocabRows), tg = checkedTargets(targets, tokens)
        chunkLogits(lg, hidden: hidden, weight: weight, tokens: tokens, channels: channels, vocabRows: vocabRows)
        forEachPiece(tokens, minChunk: 1) { _, r in
            for t in r where tg[t] != ignoredTarget {
                let row = lg + t * vocabRows
                var m = mx[t]
                for j in 0..<vocabRows { m = max(m, row[j]) }
                // The chunk's terms in fp64 (see `linearCrossEntropy`), one rounding per chunk.
                var sum: Double = 0
                for j in 0..<vocabRows { sum += Double(expf(row[j] - m)) }
                sm[t] = Float(Double(sm[t]) * Double(expf(mx[t] - m)) + sum)
                mx[t] = m
                let j = Int(tg[t]) - vocabStart
                if j >= 0 && j < vocabRows { tl[t] = row[j] }
            }
        }
    }

    public func vocabChunkLoss(lossSum: TensorRef, rowMax: TensorRef, rowSum: TensorRef, targetLogit: TensorRef,
                               targets: TensorRef, tokens: Int) {
        let loss = floats(lossSum, 1), mx = floats(rowMax, tokens), sm = floats(rowSum, tokens)
        let tl = floats(targetLogit, tokens), tg = checkedTargets(targets, tokens)
        var total: Double = 0
        for t in 0..<tokens where tg[t] != ignoredTarget {
            total += Double(mx[t]) + log(Double(sm[t])) - Double(tl[t])
        }
        loss[0] += Float(total)
    }

    public func vocabChunkBackward(dHidden: TensorRef, dWeight: TensorRef, logits: TensorRef, dlogits: TensorRef,
                                   hidden: TensorRef, weight: TensorRef, targets: TensorRef, rowMax: TensorRef,
                                   rowSum: TensorRef, tokens: Int, channels: Int, vocabStart: Int, vocabRows: Int,
                                   scale: Float, accumulate: Bool) {
        let dh = floats(dHidden, tokens * channels), dw = floats(dWeight, vocabRows * channels)
        let lg = floats(logits, tokens * vocabRows), dl = floats(dlogits, tokens * vocabRows)
        let mx = floats(rowMax, tokens), sm = floats(rowSum, tokens), tg = checkedTargets(targets, tokens)
        let x = floats(hidden, tokens * channels), w = floats(weight, vocabRows * channels)
        chunkLogits(lg, hidden: hidden, weight: weight, tokens: tokens, channels: channels, vocabRows: vocabRows)
        // dlogits = (softmax − onehot) · scale, row by row (in place when dlogits is logits).
        forEachPiece(tokens, minChunk: 1) { _, r in
            for t in r {
                let row = lg + t * vocabRows, out = dl + t * vocabRows
                guard tg[t] != ignoredTarget else {
                    out.update(repeating: 0, count: vocabRows)
                    continue
                }
                let lse = Float(Double(mx[t]) + log(Double(sm[t])))
                for j in 0..<vocabRows { out[j] = expf(row[j] - lse) * scale }
                let j = Int(tg[t]) - vocabStart
                if j >= 0 && j < vocabRows { out[j] -= scale }
            }
        }
        // dHidden (N,C) (+)= dlogits W ; dW (Vc,C) += dlogitsᵀ x
        parallelGemm(transA: false, transB: false, m: tokens, n: channels, k: vocabRows, alpha: 1,
                     a: dl, lda: vocabRows, b: w, ldb: channels, beta: accumulate ? 1 : 0, c: dh, ldc: channels)
        parallelGemm(transA: true, transB: false, m: vocabRows, n: channels, k: tokens, alpha: 1,
                     a: dl, lda: vocabRows, b: x, ldb: channels, beta: 1, c: dw, ldc: channels)
    }

    public func embeddingBackwardGroups(dRows: TensorRef, dOut: TensorRef, tokenOrder: TensorRef, rowStarts: TensorRef,
                                        groupRows: TensorRef?, groups: Range<Int>, tokens: Int, channels: Int,
                                        firstRow: Int, rows: Int) {
        let dr = floats(dRows, rows * channels), d = floats(dOut, tokens * channels)
        let order = ints(tokenOrder, tokens), starts = ints(rowStarts, groups.upperBound + 1)
        let groupRow = groupRows.map { ints($0, groups.upperBound) }
        // Each piece owns a range of groups, whose destination rows differ: no races.
        forEachPiece(groups.count, minChunk: 1) { _, r in
            for k in r.lowerBound + groups.lowerBound..<r.upperBound + groups.lowerBound {
                let row = groupRow.map { Int($0[k]) - firstRow } ?? k - groups.lowerBound
                precondition(row >= 0 && row < rows, "embeddingBackwardGroups: group \(k) lands outside the \(rows) rows")
                let dst = dr + row * channels
                for j in Int(starts[k])..<Int(starts[k + 1]) {
                    let src = d + Int(order[j]) * channels
                    for c in 0..<channels { dst[c] += src[c] }
                }
            }
        }
    }

    /// logits (N,Vc) = hidden (N,C) weight (Vc,C)ᵀ.
    private func chunkLogits(_ logits: UnsafeMutablePointer<Float>, hidden: TensorRef, weight: TensorRef,
                             tokens: Int, channels: Int, vocabRows: Int) {
        let x = floats(hidden, tokens * channels), w = floats(weight, vocabRows * channels)
        parallelGemm(transA: false, transB: true, m: tokens, n: vocabRows, k: channels, alpha: 1,
                     a: x, lda: channels, b: w, ldb: channels, beta: 0, c: logits, ldc: vocabRows)
    }

    /// The targets, each -100 or non-negative (a chunk's rows are a part of the vocabulary, so
    /// larger ids are valid targets outside it).
    private func checkedTargets(_ targets: TensorRef, _ tokens: Int) -> UnsafeMutablePointer<Int32> {
        let tg = ints(targets, tokens)
        for t in 0..<tokens {
            precondition(tg[t] == ignoredTarget || tg[t] >= 0, "vocabulary chunk: target \(tg[t]) is negative")
        }
        return tg
    }
}
