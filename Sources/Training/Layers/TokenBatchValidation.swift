import Backends
import Support

/// Checks of the token arrays handed to `DecoderModel`, before anything reaches a backend
/// (backends treat out-of-range ids as programming errors).
enum TokenBatchValidation {
    /// `batch` rows of `seqLen` tokens fit the buffers sized for `maxBatch` × `maxSeqLen`.
    static func checkShape(batch: Int, seqLen: Int, maxBatch: Int, maxSeqLen: Int) throws {
        guard batch >= 1, seqLen >= 1 else {
            throw UsageError("a batch needs at least one row of one token (got \(batch) × \(seqLen))")
        }
        guard batch <= maxBatch, seqLen <= maxSeqLen else {
            throw UsageError("batch \(batch) × \(seqLen) tokens exceeds the model's buffers (\(maxBatch) × \(maxSeqLen))")
        }
    }

    /// Every id is a token of the vocabulary.
    static func checkIds(_ ids: [Int32], expected count: Int, seqLen: Int, vocab: Int) throws {
        guard ids.count == count else { throw UsageError("\(ids.count) input ids for \(count) tokens") }
        if let i = ids.firstIndex(where: { $0 < 0 || Int($0) >= vocab }) {
            throw UsageError("input id \(ids[i]) at row \(i / seqLen), position \(i % seqLen) is outside the vocabulary (0..<\(vocab))")
        }
    }

    /// Every label is a token of the vocabulary or `ignoredTarget`.
    static func checkLabels(_ labels: [Int32], expected count: Int, seqLen: Int, vocab: Int) throws {
        guard labels.count == count else { throw UsageError("\(labels.count) labels for \(count) tokens") }
        if let i = labels.firstIndex(where: { $0 != ignoredTarget && ($0 < 0 || Int($0) >= vocab) }) {
            throw UsageError("label \(labels[i]) at row \(i / seqLen), position \(i % seqLen) is neither a token (0..<\(vocab)) nor \(ignoredTarget)")
        }
    }
}
