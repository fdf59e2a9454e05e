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
import Support

/// The constants of torch.optim.AdamW. Kept in double because torch derives the per-step
/// scalars from Python floats (double) and rounds each to fp32 only when it meets a tensor.
public struct AdamWHyperparameters: Equatable, Sendable {
    public var beta1: Double
    public var beta2: Double
    public var eps: Double
    /// Decoupled: p -= lr * weightDecay * p before the Adam update, on decaying tensors only.
    public var weightDecay: Double

    public init(beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8, weightDecay: Double = 0.0) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
    }

    /// Rejects values torch.optim.AdamW rejects (and NaNs).
    public func validate() throws {
        guard beta1 >= 0, beta1 < 1 else { throw UsageError("AdamW beta1 must be in [0, 1), got \(beta1)") }
        guard beta2 >= 0, beta2 < 1 else { throw UsageError("AdamW beta2 must be in [0, 1), got \(beta2)") }
        guard eps >= 0 else { throw UsageError("AdamW eps must be >= 0, got \(eps)") }
        guard weightDecay >= 0 else { throw UsageError("weight decay must be >= 0, got \(weightDecay)") }
    }

    /// The fp32 scalars of update number `step` (1-based: torch's state["step"] after its
    /// increment), computed with the same double expressions as torch's _single_tensor_adam.
    func scalars(learningRate lr: Double, step: Int, gradScale: Float, decays: Bool) -> sf_adamw_scalars {
        let t = Double(step)
        let biasCorrection1 = 1 - pow(beta1, t)
        let biasCorrection2 = 1 - pow(beta2, t)
        let stepSize = lr / biasCorrection1
        return sf_adamw_scalars(
            decay_factor: decays && weightDecay != 0 ? Float(1 - lr * weightDecay) : 1,
            one_minus_beta1: Float(1 - beta1),
            beta2: Float(beta2),
            one_minus_beta2: Float(1 - beta2),
            bias_correction2_sqrt: Float(pow(biasCorrection2, 0.5)),
            eps: Float(eps),
            neg_step_size: Float(-stepSize),
            grad_scale: gradScale
        )
    }
}
