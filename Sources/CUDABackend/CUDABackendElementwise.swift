import Backends
import CCUDA

extension CUDABackend {
    public func add(_ out: TensorRef, _ a: TensorRef, _ b: TensorRef, count: Int) {
        enqueue("add") {
            var args = KernelArguments()
            let addresses = [operand(&args, out, count), operand(&args, a, count), operand(&args, b, count)]
            try launchElementwise("add", args, count: count, addresses: addresses)
        }
    }

    public func scale(_ x: TensorRef, count: Int, by factor: Float) {
        enqueue("scale") {
            var args = KernelArguments()
            let p = operand(&args, x, count); args.append(factor)
            try launchElementwise("scale", args, count: count, addresses: [p])
        }
    }

    /// Per-block fp64 partial sums, then one block adds them into `result` in a fixed order.
    public func sumOfSquares(_ x: TensorRef, count: Int, into result: TensorRef) {
        enqueue("sumOfSquares") {
            let resultAddress = floats(result, 1)
            let blocks = gridFor(count).0
            try withScratch(bytes: blocks * 8) { partial in
                var args = KernelArguments()
                operand(&args, x, count); args.append(Int64(count)); args.append(partial)
                try launch("sum_squares_partial", grid: (blocks, 1, 1), args)
                var finish = KernelArguments()
                finish.append(partial); finish.append(Int32(blocks)); finish.append(resultAddress)
                try launch("add_partials", grid: (1, 1, 1), finish)
            }
        }
    }

    public func swigluForward(out: TensorRef, gate: TensorRef, up: TensorRef, count: Int) {
        enqueue("swigluForward") {
            var args = KernelArguments()
            let addresses = [operand(&args, out, count), operand(&args, gate, count), operand(&args, up, count)]
            try launchElementwise("swiglu_forward", args, count: count, addresses: addresses)
        }
    }

    public func swigluBackward(dGate: TensorRef, dUp: TensorRef, dOut: TensorRef, gate: TensorRef, up: TensorRef, count: Int) {
        enqueue("swigluBackward") {
            var args = KernelArguments()
            let addresses = [operand(&args, dGate, count), operand(&args, dUp, count), operand(&args, dOut, count),
                             operand(&args, gate, count), operand(&args, up, count)]
            try launchElementwise("swiglu_backward", args, count: count, addresses: addresses)
        }
    }

    public func embeddingForward(out: TensorRef, ids: TensorRef, table: TensorRef, tokens: Int, channels: Int, vocab: Int) {
        enqueue("embeddingForward") {
            var args = KernelArguments()
            operand(&args, out, tokens * channels); args.append(ints(ids, tokens)); operand(&args, table, vocab * channels)
            args.append(Int64(tokens)); args.append(Int32(channels))
            try launch("embedding_forward", grid: gridFor(tokens * channels), args)
        }
    }

    public func embeddingBackward(dTable: TensorRef, dOut: TensorRef, ids: TensorRef, tokens: Int, channels: Int, vocab: Int) {
        enqueue("embeddingBackward") {
            var args = KernelArguments()
            operand(&args, dTable, vocab * channels); operand(&args, dOut, tokens * channels); args.append(ints(ids, tokens))
            args.append(Int64(tokens)); args.append(Int32(channels))
            try launch("embedding_backward", grid: ((channels + 127) / 128, 1, 1), block: (128, 1, 1), args)
        }
    }

    public func ropeForward(out: TensorRef, inp: TensorRef, positions: TensorRef, invFreq: TensorRef,
                            tokens: Int, heads: Int, headDim: Int) {
        rope(out, inp, positions, invFreq, tokens, heads, headDim, sinSign: 1)
    }

    /// The transpose of a rotation is the rotation by the negative angle.
    public func ropeBackward(dInp: TensorRef, dOut: TensorRef, positions: TensorRef, invFreq: TensorRef,
                             tokens: Int, heads: Int, headDim: Int) {
        rope(dInp, dOut, positions, invFreq, tokens, heads, headDim, sinSign: -1)
    }

    /// 8 frequencies × up to 8 heads per thread, 16-byte accesses, where half the head dimension
    /// is a multiple of 8 and out/inp are aligned; else one thread per rotated pair.
    private func rope(_ out: TensorRef, _ inp: TensorRef, _ positions: TensorRef, _ invFreq: TensorRef,
                      _ tokens: Int, _ heads: Int, _ headDim: Int, sinSign: Float) {
        precondition(headDim % 2 == 0, "RoPE needs an even head dimension, got \(headDim)")
        enqueue("rope") {
            let count = tokens * heads * headDim
            var args = KernelArguments()
            let addresses = [operand(&args, out, count), operand(&args, inp, count)]
            args.append(ints(positions, tokens)); args.append(floats(invFreq, headDim / 2))
            args.append(Int64(tokens)); args.append(Int32(heads)); args.append(Int32(headDim)); args.append(sinSign)
            if headDim % 16 == 0 && Self.aligned16(addresses) {
                let headsPerThread = 8, headGroups = (heads + headsPerThread - 1) / headsPerThread
                args.append(Int32(headsPerThread))
                try launch("rope_vec", grid: gridFor(tokens * headGroups * (headDim / 16)), args)
            } else {
                try launch("rope", grid: gridFor(count / 2), args)
            }
        }
    }

    /// Rows of up to 8192 aligned elements in 16-byte chunks, one row per group of threads (see
    /// `rowGroup`); other rows one warp per row, element by element.
    public func rmsNormForward(out: TensorRef, rstd: TensorRef, inp: TensorRef, weight: TensorRef,
                               rows: Int, cols: Int, eps: Float) {
        enqueue("rmsNormForward") {
            var args = KernelArguments()
            let o = operand(&args, out, rows * cols); args.append(floats(rstd, rows))
            let x = operand(&args, inp, rows * cols), w = operand(&args, weight, cols)
            args.append(Int64(rows)); args.append(Int32(cols)); args.append(eps)
            if let group = Self.rowGroup(cols: cols, [o, x, w]) {
                args.append(Int32(group))
                let block = max(group, Self.threads), rowsPerBlock = block / group
                try launch("rmsnorm_forward_vec", grid: ((rows + rowsPerBlock - 1) / rowsPerBlock, 1, 1), block: (block, 1, 1), args)
            } else {
                try launch("rmsnorm_forward", grid: ((rows + 7) / 8, 1, 1), args)
            }
        }
    }

    /// With `rowGroup`'s layout one pass computes dInp and per-row-slot partial weight gradients,
    /// which `columnSums` adds up; otherwise dWeight by `columnSums` over dOut and inp, then dInp.
    public func rmsNormBackward(dInp: TensorRef, dWeight: TensorRef, dOut: TensorRef, inp: TensorRef,
                                weight: TensorRef, rstd: TensorRef, rows: Int, cols: Int, accumulate: Bool) {
        enqueue("rmsNormBackward") {
            let rstdAddress = floats(rstd, rows)
            var args = KernelArguments()
            let dx = operand(&args, dInp, rows * cols), dy = operand(&args, dOut, rows * cols)
            let x = operand(&args, inp, rows * cols), w = operand(&args, weight, cols)
            args.append(rstdAddress)
            args.append(Int64(rows)); args.append(Int32(cols)); args.append(Int32(accumulate ? 1 : 0))
            if let group = Self.rowGroup(cols: cols, [dx, dy, x, w]) {
                // As many blocks as run at once, but each row slot walks at least 4 rows where there
                // are fewer: the partial sums to add up stay few.
                let block = max(group, Self.threads), rowsPerBlock = block / group
                let blocks = max(1, min((rows + 4 * rowsPerBlock - 1) / (4 * rowsPerBlock),
                                        try residentGrid("rmsnorm_backward_vec", threads: block)))
                let slots = blocks * rowsPerBlock
                try withScratch(bytes: slots * cols * 4) { partial in
                    args.append(Int32(group)); args.append(partial)
                    try launch("rmsnorm_backward_vec", grid: (blocks, 1, 1), block: (block, 1, 1), args)
                    try columnSums(into: dWeight, of: partial, bf16: false, timesInput: nil, rstd: 0, rows: slots, cols: cols)
                }
            } else {
                // dWeight first: it reads dOut, which the caller may not reuse before both are done anyway.
                try columnSums(into: dWeight, of: dy, bf16: dOut.elementType == .bf16,
                               timesInput: (x, inp.elementType == .bf16), rstd: rstdAddress, rows: rows, cols: cols)
                try launch("rmsnorm_backward", grid: ((rows + 7) / 8, 1, 1), args)
            }
        }
    }

    /// Threads per row of the `_vec` RMSNorm kernels: the smallest power of two that holds a
    /// row's 8-element chunks at two per thread (C = 4096: 256, head dim 128: 8), for rows whose
    /// width is a multiple of 8 up to 8192 and aligned operands; nil otherwise.
    static func rowGroup(cols: Int, _ addresses: [CUdeviceptr]) -> Int? {
        guard cols > 0, cols % 8 == 0, cols <= 8192, aligned16(addresses) else { return nil }
        var group = 1
        while 2 * group < cols / 8 { group *= 2 }
        return group
    }
}

extension CUDABackend {
    /// dst[0..<count] = uniform values in [-scale, scale) from a hash of (index, seed).
    public func fillRandom(_ dst: TensorRef, count: Int, seed: UInt32, scale: Float = 1) {
        enqueue("fillRandom") {
            var args = KernelArguments()
            operand(&args, dst, count); args.append(Int64(count)); args.append(seed); args.append(scale)
            try launch("fill_random", grid: gridFor(count), args)
        }
    }
}
