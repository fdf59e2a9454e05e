/// Label of a position that is not trained (Hugging Face / PyTorch `ignore_index`).
public let ignoredLabel: Int32 = -100

/// One tokenized dataset row.
///
/// Label convention (Hugging Face causal LM): `labels` is aligned with `inputIds` — same
/// length, same positions — and the model shifts: the logits at position t are scored
/// against `labels[t + 1]`. -100 marks a position that is not a target.
///
/// Every document's first label is -100: nothing inside the document predicts it, and in a
/// packed row it would otherwise be "predicted" from the previous, unrelated document.
/// So a document trains the same targets packed or not.
struct TokenizedDocument: Equatable {
    var inputIds: [Int32]
    var labels: [Int32]

    var count: Int { inputIds.count }

    /// Targets among the first `limit` positions: labels at 1..<limit that are not -100.
    func targetCount(limit: Int) -> Int {
        var n = 0
        for t in 1..<max(1, min(limit, count)) where labels[t] != ignoredLabel { n += 1 }
        return n
    }
}
