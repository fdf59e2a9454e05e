import Backends
import CCUDA

extension CUDABackend {
    /// Per chunk of tokens: logits (n,V) f32 = hidden Wᵀ (cuBLASLt), one block per row turns
    /// them into the row loss and dlogits (stored in W's element type, so the two backward GEMMs
    /// run on like operands), then dHidden = dlogits W and dW += dlogitsᵀ hidden (cuBLASLt).
    /// Row losses are summed in fp64 into lossSum.
    public func linearCrossEntropy(lossSum: TensorRef, dHidden: TensorRef, dWeight: TensorRef,
                                   hidden: TensorRef, weight: TensorRef, targets: TensorRef,
                                   tokens: Int, channels: Int, vocab: Int, scale: Float, chunkTokens: Int) {
        enqueue("linearCrossEntropy") {
            _ = address(hidden, tokens * channels); _ = address(dHidden, tokens * channels)
            _ = address(weight, vocab * channels); _ = address(dWeight, vocab * channels)
            let targetAddress = ints(targets, tokens), lossAddress = floats(lossSum, 1)
            let chunk = max(1, min(chunkTokens, tokens))
            let logitsBuffer = try CUDABuffer(.f32, count: chunk * vocab, pool: pool)
            let dlogitsBuffer = weight.elementType == .bf16 ? try CUDABuffer(.bf16, count: chunk * vocab, pool: pool)
                                                           : logitsBuffer
            let rowLoss = try CUDABuffer(.f32, count: chunk, pool: pool)
            for t0 in stride(from: 0, to: tokens, by: chunk) {
                let n = min(chunk, tokens - t0)
                let hiddenChunk = hidden.advanced(by: t0 * channels), dHiddenChunk = dHidden.advanced(by: t0 * channels)
                gemm(transA: false, transB: true, m: n, n: vocab, k: channels, alpha: 1,
                     a: hiddenChunk, b: weight, beta: 0, c: logitsBuffer.ref())
                var args = KernelArguments()
                args.append(logitsBuffer.pointer); args.append(operand: dlogitsBuffer.pointer, bf16: dlogitsBuffer.elementType == .bf16)
                args.append(targetAddress + CUdeviceptr(t0 * 4)); args.append(Int32(vocab)); args.append(scale)
                args.append(rowLoss.pointer)
                try launch("cross_entropy_rows", grid: (n, 1, 1), block: (1024, 1, 1), args)
                var sum = KernelArguments()
                sum.append(rowLoss.pointer); sum.append(Int32(n)); sum.append(lossAddress)
                try launch("add_floats", grid: (1, 1, 1), sum)
                gemm(transA: false, transB: false, m: n, n: channels, k: vocab, alpha: 1,
                     a: dlogitsBuffer.ref(), b: weight, beta: 0, c: dHiddenChunk)
                gemm(transA: true, transB: false, m: vocab, n: channels, k: n, alpha: 1,
                     a: dlogitsBuffer.ref(), b: hiddenChunk, beta: 1, c: dWeight)
            }
        }
    }
}
