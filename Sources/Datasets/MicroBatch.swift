/// B rows of T tokens for one forward/backward pass.
///
/// Labels follow the Hugging Face convention: aligned with `inputIds`, -100 = ignored, and
/// the model shifts — the logits at (b, t) are scored against `labels[b*T + t + 1]`, so the
/// label at t = 0 of every row is never a target.
public struct MicroBatch: Equatable, Sendable {
    public let batchSize: Int
    public let seqLen: Int
    /// (B, T) row-major.
    public let inputIds: [Int32]
    /// (B, T) row-major, aligned with `inputIds`.
    public let labels: [Int32]
    /// Labels scored after the shift: labels[b*T + t + 1] != -100 for t < T-1. The trainer
    /// divides the loss of an optimizer step by the sum of these over its micro-batches.
    public let targetTokenCount: Int
    /// The epoch this micro-batch belongs to (0-based).
    public let epoch: Int
    /// Its index within the epoch, 0..<batchesPerEpoch.
    public let indexInEpoch: Int

    /// `inputIds` and `labels` must hold batchSize * seqLen entries.
    public init(batchSize: Int, seqLen: Int, inputIds: [Int32], labels: [Int32], epoch: Int = 0, indexInEpoch: Int = 0) {
        precondition(inputIds.count == batchSize * seqLen && labels.count == batchSize * seqLen, "MicroBatch shape mismatch")
        self.batchSize = batchSize
        self.seqLen = seqLen
        self.inputIds = inputIds
        self.labels = labels
        self.epoch = epoch
        self.indexInEpoch = indexInEpoch
        var targets = 0
        for b in 0..<batchSize {
            for t in 1..<seqLen where labels[b * seqLen + t] != ignoredLabel { targets += 1 }
        }
        targetTokenCount = targets
    }
}
