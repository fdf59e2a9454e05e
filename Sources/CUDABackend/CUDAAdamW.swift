import Glibc
import Backends
import CCUDA

/// AdamW hyper-parameters of one step (torch.optim.AdamW semantics).
public struct AdamWStep {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    /// 1-based step number (for bias correction).
    public var step: Int
    /// Multiplies the gradient first (e.g. a clipping factor).
    public var gradientScale: Float

    public init(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0, step: Int, gradientScale: Float = 1) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.step = step
        self.gradientScale = gradientScale
    }
}

extension CUDABackend {
    /// One AdamW update on the GPU, for models whose fp32 master weights and moments fit there:
    /// params, m, v (count) f32 updated in place from grads (f32 or bf16); `bf16Params`, when
    /// given, receives the updated weights rounded to bf16 (the next step's compute copy).
    public func adamW(params: TensorRef, m: TensorRef, v: TensorRef, grads: TensorRef, bf16Params: TensorRef?,
                      count: Int, _ h: AdamWStep) {
        precondition(h.step >= 1, "AdamW step numbers start at 1")
        enqueue("adamW") {
            var args = KernelArguments()
            args.append(floats(params, count)); args.append(floats(m, count)); args.append(floats(v, count))
            operand(&args, grads, count)
            args.append(bf16Params.map { address($0, count, [.bf16]) } ?? 0)
            args.append(Int64(count))
            // Bias corrections in double, as Python's 1 - beta ** step.
            let bc1 = Float(1 - pow(Double(h.beta1), Double(h.step))), bc2 = Float(1 - pow(Double(h.beta2), Double(h.step)))
            for x in [h.learningRate, h.beta1, h.beta2, h.epsilon, h.weightDecay, bc1, bc2, h.gradientScale] { args.append(x) }
            try launch("adamw", grid: gridFor(count), args)
        }
    }
}
