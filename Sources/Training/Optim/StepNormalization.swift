/// Gradient accumulation: an optimizer step spans several micro-batches whose gradients add
/// up in the gradient buffers before the update.
///
/// Normalization: the step's loss is sum-CE over ALL target tokens of ALL its micro-batches,
/// divided by their total count (not the mean of per-micro-batch means, which would weight a
/// short micro-batch's tokens more). The trainer therefore counts the targets of every
/// micro-batch of the step first (`StepNormalization(targetCounts:)`), then runs each
/// micro-batch's forward/backward with the cross-entropy scaled by `lossScale` = 1/total:
/// each micro-batch's gradient is already its share of the step's mean, so the accumulated
/// sum is exactly the gradient of the step's mean loss, and the reported step loss is the
/// sum of the micro-batches' scaled losses.
public struct StepNormalization: Equatable, Sendable {
    /// Target tokens (labels not ignored) of the whole optimizer step.
    public let totalTargets: Int

    public init(targetCounts: [Int]) {
        totalTargets = targetCounts.reduce(0, +)
    }

    /// The factor every token's cross-entropy (and its gradient) is multiplied by; 0 when the
    /// step has no targets (nothing to learn; the update then only applies weight decay).
    public var lossScale: Float { totalTargets > 0 ? Float(1 / Double(totalTargets)) : 0 }
}
