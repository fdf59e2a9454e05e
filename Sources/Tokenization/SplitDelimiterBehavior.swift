/// What a splitting pre-tokenizer does with the parts its pattern matched (Hugging Face
/// `SplitDelimiterBehavior`).
enum SplitDelimiterBehavior: String, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    /// A part of the text and whether the pattern matched it; parts cover the text in order.
    struct Part {
        var start: Int
        var end: Int
        var isMatch: Bool
    }

    /// The non-empty pieces that the parts become.
    func pieces(_ parts: [Part]) -> [Range<Int>] {
        var kept: [Part] = []  // isMatch here means "remove"
        var previousMatch = false
        switch self {
        case .removed:
            kept = parts
        case .isolated:
            kept = parts.map { Part(start: $0.start, end: $0.end, isMatch: false) }
        case .mergedWithPrevious, .contiguous:
            for p in parts {
                let joins = self == .contiguous ? p.isMatch == previousMatch : p.isMatch && !previousMatch
                if joins, !kept.isEmpty {
                    kept[kept.count - 1].end = p.end
                } else {
                    kept.append(Part(start: p.start, end: p.end, isMatch: false))
                }
                previousMatch = p.isMatch
            }
        case .mergedWithNext:
            for p in parts.reversed() {
                if p.isMatch && !previousMatch, !kept.isEmpty {
                    kept[kept.count - 1].start = p.start
                } else {
                    kept.append(Part(start: p.start, end: p.end, isMatch: false))
                }
                previousMatch = p.isMatch
            }
            kept.reverse()
        }
        return kept.filter { !$0.isMatch && $0.start < $0.end }.map { $0.start..<$0.end }
    }
}
