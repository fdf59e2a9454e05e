import Backends
import CCUDA

extension CUDABackend {
    /// cuBLASLt takes A and B of one type (bf16 → bf16/f32 C, or f32 → f32 C). Other mixes go
    /// through exact f32 copies in scratch memory: a bf16 operand beside an f32 one is widened,
    /// and an f32 product for a bf16 C is computed in f32, then rounded once.
    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                     alpha: Float, a: TensorRef, b: TensorRef, beta: Float, c: TensorRef) {
        enqueue("gemm(m \(m), n \(n), k \(k), \(transA ? "T" : "N")\(transB ? "T" : "N"), beta \(beta), c \(c.elementType))") {
            let pa = address(a, m * k), pb = address(b, k * n), pc = address(c, m * n)
            if m == 0 || n == 0 { return }
            if k == 0 {
                // No products: C = beta C.
                if beta == 0 { fill(c, count: m * n, value: 0) } else { scale(c, count: m * n, by: beta) }
                return
            }
            let mixed = a.elementType != b.elementType
            try widenedIfMixed(a, m * k, pa, mixed) { pa in
                try widenedIfMixed(b, k * n, pb, mixed) { pb in
                    let abType = mixed ? ElementType.f32 : a.elementType
                    if abType == .f32 && c.elementType == .bf16 {
                        try withScratch(bytes: m * n * 4) { wide in
                            if beta != 0 { try convert(from: pc, bf16: true, to: wide, bf16: false, count: m * n) }
                            try runMatmul(transA, transB, m, n, k, alpha, pa, pb, beta, wide, abType, .f32)
                            try convert(from: wide, bf16: false, to: pc, bf16: true, count: m * n)
                        }
                    } else {
                        try runMatmul(transA, transB, m, n, k, alpha, pa, pb, beta, pc, abType, c.elementType)
                    }
                }
            }
        }
    }

    /// cuBLASLt's epilogue adds the addend (its C) to the product; operand mixes cuBLASLt does
    /// not take run as `gemm` then `add`.
    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                     a: TensorRef, b: TensorRef, adding addend: TensorRef, out: TensorRef) {
        guard a.elementType == b.elementType, addend.elementType == out.elementType,
              a.elementType == .bf16 || out.elementType == .f32, k > 0 else {
            return gemmThenAdd(transA: transA, transB: transB, m: m, n: n, k: k, a: a, b: b, adding: addend, out: out)
        }
        enqueue("gemm(m \(m), n \(n), k \(k), \(transA ? "T" : "N")\(transB ? "T" : "N"), + addend)") {
            let pa = address(a, m * k), pb = address(b, k * n), pc = address(addend, m * n), pd = address(out, m * n)
            if m == 0 || n == 0 { return }
            try runMatmul(transA, transB, m, n, k, 1, pa, pb, 1, pc, a.elementType, out.elementType, d: pd)
        }
    }

    private func runMatmul(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                           _ a: CUdeviceptr, _ b: CUdeviceptr, _ beta: Float, _ c: CUdeviceptr,
                           _ abType: ElementType, _ cType: ElementType, d: CUdeviceptr? = nil) throws {
        func code(_ t: ElementType) -> Int32 { Int32(t == .bf16 ? CCUDA_R_16BF : CCUDA_R_32F) }
        let shape = MatmulRunner.Shape(transA: transA, transB: transB, m: m, n: n, k: k,
                                       abType: code(abType), cType: code(cType),
                                       alignment: MatmulRunner.alignment(of: a, b, c, d ?? c))
        if try matmul.awaitsTiming(shape) {
            try tuneMatmul(shape, alpha: alpha, a: a, b: b, beta: beta, c: c, d: d ?? c)
        }
        try matmul.run(shape, alpha: alpha, a: a, b: b, beta: beta, c: c, d: d, stream: computeStream)
    }

    private func widenedIfMixed(_ t: TensorRef, _ count: Int, _ p: CUdeviceptr, _ mixed: Bool,
                                _ body: (CUdeviceptr) throws -> Void) throws {
        guard mixed && t.elementType == .bf16 else { return try body(p) }
        try withScratch(bytes: count * 4) { wide in
            try convert(from: p, bf16: true, to: wide, bf16: false, count: count)
            try body(wide)
        }
    }

    func convert(from src: CUdeviceptr, bf16 srcBF16: Bool, to dst: CUdeviceptr, bf16 dstBF16: Bool, count: Int,
                 stream: CUstream? = nil) throws {
        var args = KernelArguments()
        args.append(operand: dst, bf16: dstBF16); args.append(operand: src, bf16: srcBF16)
        try launchElementwise("convert", args, count: count, addresses: [dst, src], stream: stream)
    }

    public func addBias(_ out: TensorRef, bias: TensorRef, rows: Int, cols: Int) {
        enqueue("addBias") {
            var args = KernelArguments()
            operand(&args, out, rows * cols); operand(&args, bias, cols)
            args.append(Int64(rows)); args.append(Int32(cols))
            try launch("add_bias", grid: gridFor(rows * cols), args)
        }
    }

    public func biasBackward(dBias: TensorRef, dOut: TensorRef, rows: Int, cols: Int) {
        enqueue("biasBackward") {
            try columnSums(into: dBias, of: address(dOut, rows * cols), bf16: dOut.elementType == .bf16,
                           timesInput: nil, rstd: 0, rows: rows, cols: cols)
        }
    }

    /// out (C) += Σ_rows a (R,C), or Σ_rows a · x · rstd (the RMSNorm weight gradient): column
    /// blocks × row splits write partial sums, a second kernel adds them up in a fixed order.
    func columnSums(into out: TensorRef, of a: CUdeviceptr, bf16: Bool,
                    timesInput x: (pointer: CUdeviceptr, bf16: Bool)?, rstd: CUdeviceptr, rows: Int, cols: Int) throws {
        let outAddress = address(out, cols)
        if cols == 0 { return }
        let columnBlocks = (cols + 31) / 32
        let splits = max(1, min((rows + 63) / 64, (device.multiprocessors * 8 + columnBlocks - 1) / columnBlocks))
        try withScratch(bytes: splits * cols * 4) { partial in
            var args = KernelArguments()
            args.append(operand: a, bf16: bf16)
            args.append(operand: x?.pointer ?? 0, bf16: x?.bf16 ?? false)
            args.append(rstd); args.append(Int64(rows)); args.append(Int32(cols)); args.append(Int32(x == nil ? 0 : 1))
            args.append(partial)
            try launch("column_sums", grid: (columnBlocks, splits, 1), block: (32, 8, 1), args)
            var finish = KernelArguments()
            finish.append(operand: outAddress, bf16: out.elementType == .bf16)
            finish.append(partial); finish.append(Int32(splits)); finish.append(Int32(cols))
            try launch("add_column_partials", grid: gridFor(cols), finish)
        }
    }
}
