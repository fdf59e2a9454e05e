import CKernels

extension CPUBackend {
    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                     alpha: Float, a: TensorRef, b: TensorRef, beta: Float, c: TensorRef) {
        let pa = floats(a, m * k), pb = floats(b, k * n), pc = floats(c, m * n)
        parallelGemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                     a: pa, lda: transA ? m : k, b: pb, ldb: transB ? k : n, beta: beta, c: pc, ldc: n)
    }

    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                     a: TensorRef, b: TensorRef, adding addend: TensorRef, out: TensorRef) {
        gemmThenAdd(transA: transA, transB: transB, m: m, n: n, k: k, a: a, b: b, adding: addend, out: out)
    }

    /// C (M,N) = alpha op(A) op(B) + beta C on one thread (strided operands; see ck_sgemm).
    func serialGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        scratch.withFloats(ck_sgemm_pack_floats()) { pack in
            ck_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, pack)
        }
    }

    /// The same, split into blocks of C run across the pool. Blocks are multiples of the
    /// micro-kernel's 6x16 and about 4 per thread, so uneven blocks balance.
    func parallelGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let mr = Int(CK_SGEMM_MR), nr = Int(CK_SGEMM_NR)
        let target = pool.threadCount == 1 ? 1 : pool.threadCount * 4
        if target == 1 || m * n * k < 64 * 64 * 64 {
            serialGemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                       a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        func ceilDiv(_ x: Int, _ y: Int) -> Int { (x + y - 1) / y }
        func roundUp(_ x: Int, _ y: Int) -> Int { ceilDiv(x, y) * y }
        var tileN = min(roundUp(n, nr), 512)
        var tilesN = ceilDiv(n, tileN)
        let tilesM = min(ceilDiv(m, mr), max(1, ceilDiv(target, tilesN)))
        let tileM = roundUp(ceilDiv(m, tilesM), mr)
        let rowTiles = ceilDiv(m, tileM)
        if rowTiles * tilesN < target {
            tilesN = min(ceilDiv(n, nr), ceilDiv(target, rowTiles))
            tileN = roundUp(ceilDiv(n, tilesN), nr)
        }
        let colTiles = ceilDiv(n, tileN)
        pool.parallelFor(rowTiles * colTiles) { t in
            let i0 = (t / colTiles) * tileM, j0 = (t % colTiles) * tileN
            let rows = min(tileM, m - i0), cols = min(tileN, n - j0)
            serialGemm(transA: transA, transB: transB, m: rows, n: cols, k: k, alpha: alpha,
                       a: transA ? a + i0 : a + i0 * lda, lda: lda,
                       b: transB ? b + j0 * ldb : b + j0, ldb: ldb,
                       beta: beta, c: c + i0 * ldc + j0, ldc: ldc)
        }
    }

    public func addBias(_ out: TensorRef, bias: TensorRef, rows: Int, cols: Int) {
        let o = floats(out, rows * cols), bv = floats(bias, cols)
        forEachPiece(rows, minChunk: max(1, 4096 / max(1, cols))) { _, r in
            for i in r {
                let row = o + i * cols
                for j in 0..<cols { row[j] += bv[j] }
            }
        }
    }

    public func biasBackward(dBias: TensorRef, dOut: TensorRef, rows: Int, cols: Int) {
        let db = floats(dBias, cols), d = floats(dOut, rows * cols)
        // Column ranges are independent: each piece sums its columns over all rows.
        forEachPiece(cols, minChunk: 64) { _, r in
            for j in r {
                var s: Float = 0
                for i in 0..<rows { s += d[i * cols + j] }
                db[j] += s
            }
        }
    }
}
