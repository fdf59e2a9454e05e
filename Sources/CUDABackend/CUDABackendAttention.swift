import Backends
import CCUDA

extension CUDABackend {
    /// Head dimensions the attention kernels support: multiples of 16 up to 128 (the tiles of
    /// a block live in shared memory as f32).
    public static func supportsAttention(headDim: Int) -> Bool { headDim > 0 && headDim % 16 == 0 && headDim <= 128 }

    public func supportsAttention(headDim: Int) -> Bool { Self.supportsAttention(headDim: headDim) }

    public func attentionForward(out: TensorRef, lse: TensorRef, q: TensorRef, k: TensorRef, v: TensorRef,
                                 batch: Int, seqLen: Int, heads: Int, kvHeads: Int, headDim: Int) {
        precondition(Self.supportsAttention(headDim: headDim), "CUDA attention: head dim \(headDim) is not a multiple of 16 up to 128")
        precondition(kvHeads > 0 && heads % kvHeads == 0, "attention: \(heads) heads are not a multiple of \(kvHeads) kv heads")
        enqueue("attentionForward") {
            let qCount = batch * seqLen * heads * headDim, kvCount = batch * seqLen * kvHeads * headDim
            let grid = ((seqLen + 63) / 64, heads, batch)
            if tensorCoresApply([(q, qCount), (k, kvCount), (v, kvCount)]) {
                let shared = AttentionSharedMemory.tensorCoreForward(headDim: headDim)
                let f = try attentionModule(headDim: headDim).function("attention_forward_tc", sharedBytes: shared)
                var args = KernelArguments()
                operand(&args, out, qCount); args.append(floats(lse, batch * heads * seqLen))
                args.append(address(q, qCount)); args.append(address(k, kvCount)); args.append(address(v, kvCount))
                appendShape(&args, seqLen, heads, kvHeads, headDim)
                try launch(f, grid: grid, block: (128, 1, 1), sharedBytes: shared, args)
                return
            }
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
        precondition(Self.supportsAttention(headDim: headDim), "CUDA attention: head dim \(headDim) is not a multiple of 16 up to 128")
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

                if tensorCoresApply([(dOut, qCount), (q, qCount), (k, kvCount), (v, kvCount)]) {
                    let shared = AttentionSharedMemory.tensorCoreBackward(headDim: headDim)
                    var qArgs = KernelArguments()
                    operand(&qArgs, dq, qCount)
                    for (t, n) in [(dOut, qCount), (q, qCount), (k, kvCount), (v, kvCount)] { qArgs.append(address(t, n)) }
                    qArgs.append(lseAddress); qArgs.append(delta)
                    appendShape(&qArgs, seqLen, heads, kvHeads, headDim)
                    try launch(try module.function("attention_backward_query_tc", sharedBytes: shared),
                               grid: ((seqLen + 63) / 64, heads, batch), block: (128, 1, 1), sharedBytes: shared, qArgs)
                    var kvArgs = KernelArguments()
                    operand(&kvArgs, dk, kvCount); operand(&kvArgs, dv, kvCount)
                    for (t, n) in [(dOut, qCount), (q, qCount), (k, kvCount), (v, kvCount)] { kvArgs.append(address(t, n)) }
                    kvArgs.append(lseAddress); kvArgs.append(delta)
                    appendShape(&kvArgs, seqLen, heads, kvHeads, headDim)
                    try launch(try module.function("attention_backward_key_value_tc", sharedBytes: shared),
                               grid: ((seqLen + 63) / 64, kvHeads, batch), block: (128, 1, 1), sharedBytes: shared, kvArgs)
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

    /// The bf16 tensor-core kernels take bf16 inputs whose rows start on 16-byte boundaries;
    /// f32 inputs (exact mode) or odd offsets use the fp32 kernels.
    private func tensorCoresApply(_ inputs: [(TensorRef, Int)]) -> Bool {
        device.computeCapability.major >= 8
            && inputs.allSatisfy { t, n in t.elementType == .bf16 && address(t, n) % 16 == 0 }
    }

    private func appendShape(_ args: inout KernelArguments, _ seqLen: Int, _ heads: Int, _ kvHeads: Int, _ headDim: Int) {
        args.append(Int32(seqLen)); args.append(Int32(heads)); args.append(Int32(kvHeads))
        args.append(Float(1 / Double(headDim).squareRoot()))
    }
}
