import Backends
import CCUDA

extension CUDABackend {
    public func add(_ out: TensorRef, _ a: TensorRef, _ b: TensorRef, count: Int) {
        enqueue("add") {
            var args = KernelArguments()
            operand(&args, out, count); operand(&args, a, count); operand(&args, b, count); args.append(Int64(count))
            try launch("add", grid: gridFor(count), args)
        }
    }

    public func scale(_ x: TensorRef, count: Int, by factor: Float) {
        enqueue("scale") {
            var args = KernelArguments()
            operand(&args, x, count); args.append(Int64(count)); args.append(factor)
            try launch("scale", grid: gridFor(count), args)
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
            operand(&args, out, count); operand(&args, gate, count); operand(&args, up, count); args.append(Int64(count))
            try launch("swiglu_forward", grid: gridFor(count), args)
        }
    }

    public func swigluBackward(dGate: TensorRef, dUp: TensorRef, dOut: TensorRef, gate: TensorRef, up: TensorRef, count: Int) {
        enqueue("swigluBackward") {
            var args = KernelArguments()
            operand(&args, dGate, count); operand(&args, dUp, count); operand(&args, dOut, count)
            operand(&args, gate, count); operand(&args, up, count); args.append(Int64(count))
            try launch("swiglu_backward", grid: gridFor(count), args)
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

    private func rope(_ out: TensorRef, _ inp: TensorRef, _ positions: TensorRef, _ invFreq: TensorRef,
                      _ tokens: Int, _ heads: Int, _ headDim: Int, sinSign: Float) {
        precondition(headDim % 2 == 0, "RoPE needs an even head dimension, got \(headDim)")
        enqueue("rope") {
            let count = tokens * heads * headDim
            var args = KernelArguments()
            operand(&args, out, count); operand(&args, inp, count)
            args.append(ints(positions, tokens)); args.append(floats(invFreq, headDim / 2))
            args.append(Int64(tokens)); args.append(Int32(heads)); args.append(Int32(headDim)); args.append(sinSign)
            try launch("rope", grid: gridFor(count / 2), args)
        }
    }

    public func rmsNormForward(out: TensorRef, rstd: TensorRef, inp: TensorRef, weight: TensorRef,
                               rows: Int, cols: Int, eps: Float) {
        enqueue("rmsNormForward") {
            var args = KernelArguments()
            operand(&args, out, rows * cols); args.append(floats(rstd, rows))
            operand(&args, inp, rows * cols); operand(&args, weight, cols)
            args.append(Int64(rows)); args.append(Int32(cols)); args.append(eps)
            try launch("rmsnorm_forward", grid: ((rows + 7) / 8, 1, 1), args)
        }
    }

    public func rmsNormBackward(dInp: TensorRef, dWeight: TensorRef, dOut: TensorRef, inp: TensorRef,
                                weight: TensorRef, rstd: TensorRef, rows: Int, cols: Int, accumulate: Bool) {
        enqueue("rmsNormBackward") {
            let rstdAddress = floats(rstd, rows)
            // dWeight first: it reads dOut, which the caller may not reuse before both are done anyway.
            try columnSums(into: dWeight, of: address(dOut, rows * cols), bf16: dOut.elementType == .bf16,
                           timesInput: (address(inp, rows * cols), inp.elementType == .bf16), rstd: rstdAddress,
                           rows: rows, cols: cols)
            var args = KernelArguments()
            operand(&args, dInp, rows * cols); operand(&args, dOut, rows * cols); operand(&args, inp, rows * cols)
            operand(&args, weight, cols); args.append(rstdAddress)
            args.append(Int64(rows)); args.append(Int32(cols)); args.append(Int32(accumulate ? 1 : 0))
            try launch("rmsnorm_backward", grid: ((rows + 7) / 8, 1, 1), args)
        }
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
