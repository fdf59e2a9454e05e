import Backends
import CCUDA

extension CUDABackend {
    /// Any head dimension whose fp32 tiles fit the device's shared memory per block (192 on
    /// sm_90, 144 on sm_80): those kernels take every head dim and storage; bf16 inputs with head dims
    /// that are multiples of 16 up to 128 take the tensor-core kernels.
    public func supportsAttention(headDim: Int) -> Bool {
        headDim > 0 && AttentionSharedMemory.largest(headDim: headDim) <= device.maxSharedMemoryPerBlock
    }

    public func attentionForward(out: TensorRef, lse: TensorRef, q: TensorRef, k: TensorRef, v: TensorRef,
                                 batch: Int, seqLen: Int, heads: Int, kvHeads: Int, headDim: Int) {
        precondition(supportsAttention(headDim: headDim), "CUDA attention: head dim \(headDim) does not fit shared memory")
        precondition(kvHeads > 0 && heads % kvHeads == 0, "attention: \(heads) heads are not a multiple of \(kvHeads) kv heads")
        enqueue("attentionForward") {
            let qCount = batch * seqLen * heads * headDim, kvCount = batch * seqLen * kvHeads * headDim
            if tensorCoresApply(headDim, inputs: [(q, qCount), (k, kvCount), (v, kvCount)], outputs: [(out, qCount)]) {
                let shared = TensorCoreAttention.forwardShared(headDim: headDim)
                let f = try attentionModule(headDim: headDim).function("attention_forward_tc", sharedBytes: shared)
                var args = KernelArguments()
                operand(&args, out, qCount); args.append(floats(lse, batch * heads * seqLen))
                args.append(address(q, qCount)); args.append(address(k, kvCount)); args.append(address(v, kvCount))
                appendShape(&args, seqLen, heads, kvHeads, headDim)
                try launch(f, grid: tensorCoreGrid(seqLen, heads, batch, rows: TensorCoreAttention.blockRows),
                           block: (TensorCoreAttention.threads, 1, 1),
                           sharedBytes: shared, args)
                return
            }
            let grid = ((seqLen + 63) / 64, heads, batch)
            let shared = AttentionSharedMemory.forward(headDim: headDim)
            let f = try attentionModule(headDim: headDim).function("attention_forward", sharedBytes: shared)
            var args = KernelArguments()
            operand(&args, out, qCount); args.append(floats(lse, batch * heads * seqLen))
            operand(&args, q, qCount); operand(&args, k, kvCount); operand(&args, v, kvCount)
            appendShape(&args, seqLen, heads, kvHeads, headDim)
            try launch(f, grid: grid, sharedBytes: shared, args)
        }
    }

    public func attentionBackward(dq: TensorRef, dk: TensorRef, dv: TensorRef, dOut: TensorRef,
                                  q: TensorRef, k: TensorRef, v: TensorRef, out: TensorRef, lse: TensorRef,
                                  batch: Int, seqLen: Int, heads: Int, kvHeads: Int, headDim: Int) {
        precondition(supportsAttention(headDim: headDim), "CUDA attention: head dim \(headDim) does not fit shared memory")
        precondition(kvHeads > 0 && heads % kvHeads == 0, "attention: \(heads) heads are not a multiple of \(kvHeads) kv heads")
        enqueue("attentionBackward") {
            let qCount = batch * seqLen * heads * headDim, kvCount = batch * seqLen * kvHeads * headDim
            let rows = batch * heads * seqLen
            let module = try attentionModule(headDim: headDim)
            let lseAddress = floats(lse, rows)
            try withScratch(bytes: rows * 4) { delta in
                // delta (B,H,T) = Σ_d dOut · out: the softmax backward's row term.
                var args = KernelArguments()
                args.append(delta); operand(&args, dOut, qCount); operand(&args, out, qCount)
                args.append(Int32(batch)); args.append(Int32(seqLen)); args.append(Int32(heads))
                try launch(try module.function("attention_delta"), grid: ((rows + 7) / 8, 1, 1), args)

                if tensorCoresApply(headDim, inputs: [(dOut, qCount), (q, qCount), (k, kvCount), (v, kvCount)],
                                    outputs: [(dq, qCount), (dk, kvCount), (dv, kvCount)]) {
                    var qArgs = KernelArguments()
                    operand(&qArgs, dq, qCount)
                    for (t, n) in [(dOut, qCount), (q, qCount), (k, kvCount), (v, kvCount)] { qArgs.append(address(t, n)) }
                    qArgs.append(lseAddress); qArgs.append(delta)
                    appendShape(&qArgs, seqLen, heads, kvHeads, headDim)
                    let queryShared = TensorCoreAttention.backwardQueryShared(headDim: headDim)
                    try launch(try module.function("attention_backward_query_tc", sharedBytes: queryShared),
                               grid: tensorCoreGrid(seqLen, heads, batch, rows: TensorCoreAttention.backwardRows),
                               block: (TensorCoreAttention.backwardThreads, 1, 1),
                               sharedBytes: queryShared, qArgs)
                    var kvArgs = KernelArguments()
                    operand(&kvArgs, dk, kvCount); operand(&kvArgs, dv, kvCount)
                    for (t, n) in [(dOut, qCount), (q, qCount), (k, kvCount), (v, kvCount)] { kvArgs.append(address(t, n)) }
                    kvArgs.append(lseAddress); kvArgs.append(delta)
                    appendShape(&kvArgs, seqLen, heads, kvHeads, headDim)
                    let kvShared = TensorCoreAttention.backwardKeyValueShared(headDim: headDim)
                    try launch(try module.function("attention_backward_key_value_tc", sharedBytes: kvShared),
                               grid: tensorCoreGrid(seqLen, kvHeads, batch, rows: TensorCoreAttention.backwardRows),
                               block: (TensorCoreAttention.backwardThreads, 1, 1),
                               sharedBytes: kvShared, kvArgs)
                    return
                }

                let queryShared = AttentionSharedMemory.backwardQuery(headDim: headDim)
                var qArgs = KernelArguments()
                operand(&qArgs, dq, qCount); operand(&qArgs, dOut, qCount)
                operand(&qArgs, q, qCount); operand(&qArgs, k, kvCount); operand(&qArgs, v, kvCount)
                qArgs.append(lseAddress); qArgs.append(delta)
                appendShape(&qArgs, seqLen, heads, kvHeads, headDim)
                try launch(try module.function("attention_backward_query", sharedBytes: queryShared),
                           grid: ((seqLen + 63) / 64, heads, batch), sharedBytes: queryShared, qArgs)

                let kvShared = AttentionSharedMemory.backwardKeyValue(headDim: headDim)
                var kvArgs = KernelArguments()
                operand(&kvArgs, dk, kvCount); operand(&kvArgs, dv, kvCount); operand(&kvArgs, dOut, qCount)
                operand(&kvArgs, q, qCount); operand(&kvArgs, k, kvCount); operand(&kvArgs, v, kvCount)
                kvArgs.append(lseAddress); kvArgs.append(delta)
                appendShape(&kvArgs, seqLen, heads, kvHeads, headDim)
                try launch(try module.function("attention_backward_key_value", sharedBytes: kvShared),
                           grid: ((seqLen + 63) / 64, kvHeads, batch), sharedBytes: kvShared, kvArgs)
            }
        }
    }

    /// The bf16 tensor-core kernels take bf16 inputs and outputs of either type, all starting on
    /// 16-byte boundaries, with head dims they take; f32 inputs (exact mode), other head dims or
    /// odd offsets use the fp32 kernels.
    private func tensorCoresApply(_ headDim: Int, inputs: [(TensorRef, Int)], outputs: [(TensorRef, Int)]) -> Bool {
        device.computeCapability.major >= 8 && TensorCoreAttention.takes(headDim: headDim)
            && inputs.allSatisfy { t, n in t.elementType == .bf16 && address(t, n) % 16 == 0 }
            && outputs.allSatisfy { t, n in address(t, n) % 16 == 0 }
    }

    /// One block per `rows` rows (queries, or keys for dk/dv) of each head and batch row.
    private func tensorCoreGrid(_ seqLen: Int, _ heads: Int, _ batch: Int, rows: Int) -> (Int, Int, Int) {
        ((seqLen + rows - 1) / rows, heads, batch)
    }

    private func appendShape(_ args: inout KernelArguments, _ seqLen: Int, _ heads: Int, _ kvHeads: Int, _ headDim: Int) {
        args.append(Int32(seqLen)); args.append(Int32(heads)); args.append(Int32(kvHeads))
        args.append(Float(1 / Double(headDim).squareRoot()))
    }
}
