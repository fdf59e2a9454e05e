/// The distinct vocabulary rows a micro-batch's ids touch, ascending, and its tokens grouped by
/// row: the embedding's gradient is zero outside these rows, and row k's gradient is the sum of
/// the output gradients of tokens `tokenOrder[rowStarts[k] ..< rowStarts[k + 1]]` (ascending),
/// as `Backend.embeddingBackwardGroups` sums it. The sliding-window engine's streamed embedding
/// sends only these rows where they fit its ring, else each vocabulary chunk whole, summed from
/// the groups whose rows fall in it.
public struct BatchRows {
    /// The distinct ids (D), ascending.
    public let rows: [Int32]
    /// (D + 1) where each row's tokens start in `tokenOrder`; the last entry is N.
    public let rowStarts: [Int32]
    /// (N) the token indices, by row, ascending within a row.
    public let tokenOrder: [Int32]

    /// ids in 0..<vocab. A counting sort: O(N + vocab).
    public init(ids: [Int32], vocab: Int) {
        var counts = [Int32](repeating: 0, count: vocab)
        for id in ids { counts[Int(id)] += 1 }
        var rows: [Int32] = [], rowStarts: [Int32] = [0]
        var next = [Int32](repeating: 0, count: vocab)    // per id: where its next token goes
        for r in 0..<vocab where counts[r] > 0 {
            next[r] = rowStarts[rows.count]
            rows.append(Int32(r))
            rowStarts.append(next[r] + counts[r])
        }
        var order = [Int32](repeating: 0, count: ids.count)
        for (t, id) in ids.enumerated() {
            order[Int(next[Int(id)])] = Int32(t)
            next[Int(id)] += 1
        }
        self.rows = rows
        self.rowStarts = rowStarts
        tokenOrder = order
    }

    /// The groups (indices into `rows`) whose rows lie in `range`.
    public func groups(inRows range: Range<Int>) -> Range<Int> {
        func firstAtLeast(_ x: Int) -> Int {
            var lo = 0, hi = rows.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if Int(rows[mid]) < x { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        return firstAtLeast(range.lowerBound)..<firstAtLeast(range.upperBound)
    }

    /// `tokenOrder`, `rowStarts` and `rows` one after the other (N + 2D + 1 ≤ 3N + 1 entries),
    /// for one upload.
    public var deviceLayout: [Int32] { tokenOrder + rowStarts + rows }

    /// The three arrays where `deviceLayout` was uploaded to `base`.
    public struct DeviceRefs {
        public let tokenOrder: TensorRef
        public let rowStarts: TensorRef
        public let rows: TensorRef
    }

    public func deviceRefs(at base: TensorRef) -> DeviceRefs {
        DeviceRefs(tokenOrder: base, rowStarts: base.advanced(by: tokenOrder.count),
                   rows: base.advanced(by: tokenOrder.count + rowStarts.count))
    }
}
