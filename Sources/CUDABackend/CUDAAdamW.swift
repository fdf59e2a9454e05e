import Backends
import CCUDA

extension CUDABackend {
    /// One fused pass: fp32 master weights, m and v in place, the bf16 compute copy written
    /// from the same registers. Gradients may be f32 or bf16.
    public func adamW(params: TensorRef, m: TensorRef, v: TensorRef, grads: TensorRef, computeCopy: TensorRef?,
                      count: Int, scalars: AdamWScalars) {
        enqueue("adamW") {
            var args = KernelArguments()
            args.append(floats(params, count)); args.append(floats(m, count)); args.append(floats(v, count))
            operand(&args, grads, count)
            args.append(computeCopy.map { address($0, count, [.bf16]) } ?? 0)
            args.append(Int64(count))
            for x in scalars.values { args.append(x) }
            try launch("adamw", grid: gridFor(count), args)
        }
    }
}
