extension CPUBackend {
    public func rmsNormForward(out: TensorRef, rstd: TensorRef, inp: TensorRef, weight: TensorRef,
                               rows: Int, cols: Int, eps: Float) {
        let o = floats(out, rows * cols), rs = floats(rstd, rows), x = floats(inp, rows * cols), w = floats(weight, cols)
        forEachPiece(rows, minChunk: max(1, 4096 / max(1, cols))) { _, r in
            for i in r {
                let xi = x + i * cols, oi = o + i * cols
                // fp64 sum: beside a massive activation (|x| ~ 1e3..1e4 in some LLM channels),
                // an fp32 running sum would round each ordinary channel's square away.
                var ss: Double = 0
                for j in 0..<cols { ss += Double(xi[j]) * Double(xi[j]) }
                let s = Float(1 / (ss / Double(cols) + Double(eps)).squareRoot())
                rs[i] = s
                for j in 0..<cols { oi[j] = w[j] * (xi[j] * s) }
            }
        }
    }

    public func rmsNormBackward(dInp: TensorRef, dWeight: TensorRef, dOut: TensorRef, inp: TensorRef,
                                weight: TensorRef, rstd: TensorRef, rows: Int, cols: Int, accumulate: Bool) {
        let dx = floats(dInp, rows * cols), dw = floats(dWeight, cols), dy = floats(dOut, rows * cols)
        let x = floats(inp, rows * cols), w = floats(weight, cols), rs = floats(rstd, rows)
        // Per-piece partial weight gradients (pieces × C), summed after: no races, deterministic.
        let maxPieces = pool.threadCount * 4
        scratch.withFloats(maxPieces * cols) { partial in
            let pieces = forEachPiece(rows, minChunk: max(1, 4096 / max(1, cols))) { piece, r in
                let pw = partial + piece * cols
                pw.update(repeating: 0, count: cols)
                for i in r {
                    let xi = x + i * cols, dyi = dy + i * cols, dxi = dx + i * cols
                    let s = rs[i]
                    // y = w · x · s with s = (mean x² + eps)^(-1/2):
                    // dx = s · (w·dy) − s³/C · x · Σ(w·dy·x)
                    var dot: Float = 0
                    for j in 0..<cols { dot += w[j] * dyi[j] * xi[j] }
                    let k = s * s * s * dot / Float(cols)
                    for j in 0..<cols {
                        let g = s * w[j] * dyi[j] - k * xi[j]
                        dxi[j] = accumulate ? dxi[j] + g : g
                        pw[j] += dyi[j] * xi[j] * s
                    }
                }
            }
            for j in 0..<cols {
                var s: Float = 0
                for piece in 0..<pieces { s += partial[piece * cols + j] }
                dw[j] += s
            }
        }
    }
}
