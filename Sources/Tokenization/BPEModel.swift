import Support

/// A byte-level BPE model (`"model": {"type": "BPE", ...}`): the words handed to it are UTF-8
/// bytes, each byte starts as the token of its byte-level scalar, and merge rules are applied
/// lowest rank first, leftmost first among equal ranks, exactly as Hugging Face `tokenizers` does.
final class BPEModel: Sendable {
    let idForToken: [String: Int32]
    /// Token text by id; nil for ids the vocabulary skips.
    let tokenForId: [String?]
    private let merges: BPEMergeTable
    /// Id of each byte's byte-level token; -1 when the vocabulary lacks it.
    private let byteIds: [Int32]
    private let ignoreMerges: Bool
    private let unknownId: Int32?
    private let fuseUnknown: Bool
    private let cache = Locked(BPEWordCache())

    init(_ node: TokenizerJSONNode) throws {
        let type = try node.typeName()
        guard type == "BPE" else { throw try node.required("type").unsupported("model type \"\(type)\"") }
        if let dropout = try node.optional("dropout"), dropout.value.double != 0 {
            throw dropout.unsupported("BPE dropout")
        }
        if try node.flag("byte_fallback", default: false) {
            throw try node.required("byte_fallback").unsupported("byte_fallback true")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let affix = try node.optional(key), try !affix.string().isEmpty { throw affix.unsupported("non-empty \(key)") }
        }
        ignoreMerges = try node.flag("ignore_merges", default: false)
        fuseUnknown = try node.flag("fuse_unk", default: false)

        var vocab: [String: Int32] = [:]
        var maxId: Int32 = -1
        let vocabNode = try node.required("vocab")
        let entries = try vocabNode.members()
        vocab.reserveCapacity(entries.count)
        for (token, idNode) in entries {
            let id = try idNode.tokenId()
            vocab[token] = id
            maxId = max(maxId, id)
        }
        guard maxId < 16 << 20 else { throw vocabNode.error("token id \(maxId) too large (at most \(16 << 20))") }
        var tokens = [String?](repeating: nil, count: Int(maxId) + 1)
        for (token, id) in vocab { tokens[Int(id)] = token }
        idForToken = vocab
        tokenForId = tokens

        if let unk = try node.optional("unk_token") {
            guard let id = try vocab[unk.string()] else { throw unk.error("unk_token is not in the vocabulary") }
            unknownId = id
        } else {
            unknownId = nil
        }
        byteIds = ByteLevel.scalarForByte.map { vocab[String($0)] ?? -1 }
        merges = try Self.readMerges(try node.required("merges"), vocab: vocab)
    }

    /// Merges as "left right" strings or as ["left", "right"] pairs; rank = position in the list.
    private static func readMerges(_ node: TokenizerJSONNode, vocab: [String: Int32]) throws -> BPEMergeTable {
        let rules = try node.array()
        var table = BPEMergeTable(capacityFor: rules.count)
        for (rank, rule) in rules.enumerated() {
            let left: String, right: String
            if let text = rule.value.string {
                let parts = text.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw rule.error("a merge must be two tokens separated by one space") }
                left = String(parts[0])
                right = String(parts[1])
            } else if let pair = rule.value.array, pair.count == 2, let l = pair[0].string, let r = pair[1].string {
                left = l
                right = r
            } else {
                throw rule.error("a merge must be \"left right\" or [\"left\", \"right\"]")
            }
            guard let leftId = vocab[left] else { throw rule.error("merge token \"\(left)\" is not in the vocabulary") }
            guard let rightId = vocab[right] else { throw rule.error("merge token \"\(right)\" is not in the vocabulary") }
            guard let mergedId = vocab[left + right] else {
                throw rule.error("merged token \"\(left + right)\" is not in the vocabulary")
            }
            table.set(leftId, rightId, rank: Int32(rank), merged: mergedId)
        }
        return table
    }

    /// Appends the token ids of one pre-tokenized word (its UTF-8 bytes) to `ids`.
    func tokenize(_ word: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) {
        guard !word.isEmpty else { return }
        let hash = BPEWordCache.hash(word)
        if cache.withLock({ $0.appendCached(word, hash: hash, to: &ids) }) { return }
        let start = ids.count
        merge(word, into: &ids)
        let produced = ids[start...]
        cache.withLock { $0.insert(word, hash: hash, ids: produced) }
    }

    private func merge(_ word: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) {
        if ignoreMerges, let id = idForToken[ByteLevel.token(forBytes: word)] {
            ids.append(id)
            return
        }
        var symbols = initialSymbols(word)
        if symbols.count > 1 { applyMerges(&symbols) }
        ids.append(contentsOf: symbols)
    }

    /// One symbol per byte; bytes missing from the vocabulary become the unknown token (fused
    /// when `fuse_unk`) or are dropped when there is none, as Hugging Face does.
    private func initialSymbols(_ word: UnsafeBufferPointer<UInt8>) -> [Int32] {
        var symbols: [Int32] = []
        symbols.reserveCapacity(word.count)
        var pendingUnknown = false
        for b in word {
            let id = byteIds[Int(b)]
            if id >= 0 {
                if pendingUnknown, let unk = unknownId { symbols.append(unk) }
                pendingUnknown = false
                symbols.append(id)
            } else if let unk = unknownId {
                if pendingUnknown && !fuseUnknown { symbols.append(unk) }
                pendingUnknown = true
            }
        }
        if pendingUnknown, let unk = unknownId { symbols.append(unk) }
        return symbols
    }

    /// The merge loop: a min-heap of (rank, position) candidates; a popped candidate is used only if
    /// its pair is still there (symbols on its right may have merged since it was pushed).
    private func applyMerges(_ symbols: inout [Int32]) {
        let n = symbols.count
        var next = [Int32](unsafeUninitializedCapacity: n) { buf, count in
            for i in 0..<n { buf[i] = Int32(i + 1) }
            buf[n - 1] = -1
            count = n
        }
        var prev = [Int32](unsafeUninitializedCapacity: n) { buf, count in
            for i in 0..<n { buf[i] = Int32(i - 1) }
            count = n
        }
        var alive = [Bool](repeating: true, count: n)
        var heap = MinHeap()
        for i in 0..<(n - 1) {
            if let rule = merges.rule(symbols[i], symbols[i + 1]) { heap.push(rank: rule.rank, position: i) }
        }
        while let (rank, pos) = heap.pop() {
            guard alive[pos] else { continue }
            let right = Int(next[pos])
            guard right >= 0, let rule = merges.rule(symbols[pos], symbols[right]), rule.rank == rank else { continue }
            symbols[pos] = rule.merged
            alive[right] = false
            let afterRight = Int(next[right])
            next[pos] = Int32(afterRight)
            if afterRight >= 0 { prev[afterRight] = Int32(pos) }
            let before = Int(prev[pos])
            if before >= 0, let r = merges.rule(symbols[before], symbols[pos]) { heap.push(rank: r.rank, position: before) }
            if afterRight >= 0, let r = merges.rule(symbols[pos], symbols[afterRight]) { heap.push(rank: r.rank, position: pos) }
        }
        var out = 0
        for i in 0..<n where alive[i] {
            symbols[out] = symbols[i]
            out += 1
        }
        symbols.removeLast(n - out)
    }
}

/// Binary min-heap of merge candidates ordered by rank, then position.
private struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(rank: Int32, position: Int) {
        items.append(UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(position))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent] <= items[i] { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> (rank: Int32, position: Int)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var smallest = i
                if l < items.count && items[l] < items[smallest] { smallest = l }
                if r < items.count && items[r] < items[smallest] { smallest = r }
                if smallest == i { break }
                items.swapAt(i, smallest)
                i = smallest
            }
        }
        return (Int32(truncatingIfNeeded: top >> 32), Int(top & 0xFFFF_FFFF))
    }
}
