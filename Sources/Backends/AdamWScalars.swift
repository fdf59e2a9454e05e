#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CKernels

/// The fp32 scalars of one AdamW update of one tensor (torch.optim.AdamW), computed once per
/// step in double and rounded to float, as torch does; every backend's `adamW` applies them
/// with torch's operation order (see Sources/CKernels/adamw.c):
///   g = g·gradScale;  p = p·decayFactor;  m = lerp(m, g, 1−β1);  v = β2·v + (1−β2)·g²;
///   p = p + (negStepSize·m) / (sqrt(v) / biasCorrection2Sqrt + eps)
public struct AdamWScalars: Equatable, Sendable {
    /// 1 − lr·weightDecay; 1 for tensors without decay.
    public var decayFactor: Float
    public var oneMinusBeta1: Float
    public var beta2: Float
    public var oneMinusBeta2: Float
    /// sqrt(1 − β2^step)
    public var biasCorrection2Sqrt: Float
    public var eps: Float
    /// −lr / (1 − β1^step)
    public var negStepSize: Float
    /// The clipping coefficient (1: none), applied to every gradient first.
    public var gradScale: Float

    public init(decayFactor: Float, oneMinusBeta1: Float, beta2: Float, oneMinusBeta2: Float,
                biasCorrection2Sqrt: Float, eps: Float, negStepSize: Float, gradScale: Float) {
        self.decayFactor = decayFactor
        self.oneMinusBeta1 = oneMinusBeta1
        self.beta2 = beta2
        self.oneMinusBeta2 = oneMinusBeta2
        self.biasCorrection2Sqrt = biasCorrection2Sqrt
        self.eps = eps
        self.negStepSize = negStepSize
        self.gradScale = gradScale
    }

    /// The scalars of update number `step` (1-based: torch's state["step"] after its increment)
    /// with the same double expressions as torch's _single_tensor_adam; `decays` false for
    /// tensors without weight decay (1-D: norms, biases).
    public init(learningRate lr: Double, beta1: Double, beta2: Double, eps: Double, weightDecay: Double,
                step: Int, gradScale: Float, decays: Bool) {
        let t = Double(step)
        let biasCorrection1 = 1 - pow(beta1, t)
        let biasCorrection2 = 1 - pow(beta2, t)
        self.init(decayFactor: decays && weightDecay != 0 ? Float(1 - lr * weightDecay) : 1,
                  oneMinusBeta1: Float(1 - beta1), beta2: Float(beta2), oneMinusBeta2: Float(1 - beta2),
                  biasCorrection2Sqrt: Float(pow(biasCorrection2, 0.5)), eps: Float(eps),
                  negStepSize: Float(-(lr / biasCorrection1)), gradScale: gradScale)
    }

    /// The same scalars for the C kernels.
    public var cScalars: sf_adamw_scalars {
        sf_adamw_scalars(decay_factor: decayFactor, one_minus_beta1: oneMinusBeta1, beta2: beta2,
                         one_minus_beta2: oneMinusBeta2, bias_correction2_sqrt: biasCorrection2Sqrt, eps: eps,
                         neg_step_size: negStepSize, grad_scale: gradScale)
    }

    /// In kernel-argument order.
    public var values: [Float] {
        [decayFactor, oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection2Sqrt, eps, negStepSize, gradScale]
    }
}
