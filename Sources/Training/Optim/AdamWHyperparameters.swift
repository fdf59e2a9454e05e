#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Backends
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

    /// The fp32 scalars of update number `step` (1-based).
    func scalars(learningRate lr: Double, step: Int, gradScale: Float, decays: Bool) -> AdamWScalars {
        AdamWScalars(learningRate: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay,
                     step: step, gradScale: gradScale, decays: decays)
    }
}
