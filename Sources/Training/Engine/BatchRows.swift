/// The distinct vocabulary rows a micro-batch's ids touch, ascending, and each token's index
/// among them: the embedding's gradient is zero outside these rows, so the streamed placement
/// computes and sends only them (`SlidingWindowEngine.streamedEmbeddingBackward`).
struct BatchRows {
    /// The distinct ids, ascending.
    let rows: [Int32]
    /// Per token: its id's index in `rows`.
    let compactIds: [Int32]

    /// ids in 0..<vocab.
    init(ids: [Int32], vocab: Int) {
        var index = [Int32](repeating: -1, count: vocab)
        for id in ids { index[Int(id)] = 0 }
        var rows: [Int32] = []
        for r in 0..<vocab where index[r] == 0 {
            index[r] = Int32(rows.count)
            rows.append(Int32(r))
        }
        self.rows = rows
        compactIds = ids.map { index[Int($0)] }
    }
}
