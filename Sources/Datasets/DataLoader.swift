import Support
import Tokenization

/// Cuts a JSONL / JSON-array dataset into micro-batches, epoch after epoch.
///
/// - Construction indexes the file (one scan: 8 bytes of offset per row) and then makes one
///   tokenization pass over every row, in file order, to validate them all before training
///   starts and to count tokens: that fixes `stats` and `batchesPerEpoch` (needed for
///   --epochs and ETA; packed, the row count is ceil(tokens / seqLen) whatever the order).
///   Only the counts are kept, so `next()` tokenizes each document again when it is reached.
/// - `next()` reads and tokenizes documents lazily, one at a time: the only buffer is the
///   document that the current row is taken from.
/// - Packed: each epoch's documents are concatenated in order and cut into rows of seqLen;
///   a long document continues into the next row; attention is not masked between
///   documents. The epoch's last row is padded, and each epoch starts on a fresh row.
///   Unpacked: one document per row, truncated to seqLen, padded right.
/// - Padding uses the pad token (or EOS, or 0) with label -100. The epoch's last
///   micro-batch is completed with all-padding rows, so every micro-batch is B x T.
/// - Past the last micro-batch of an epoch, the next epoch starts, reshuffled.
public final class DataLoader {
    public let options: DataLoaderOptions
    public let stats: DatasetStats
    public let batchesPerEpoch: Int
    public var format: DataFormat { reader.format }
    public var path: String { reader.path }

    private let reader: DocumentReader
    private let padId: Int32
    private var epoch = 0
    private var batchIndex = 0
    /// This epoch's document order; nil = file order.
    private var order: [Int]?
    private var position = 0
    private var tokenOffset = 0
    /// The tokenized document at `position`, once read.
    private var current: TokenizedDocument?

    /// `chatTemplate`: the tokenizer's chat template, if it has one. It is required for chat
    /// rows, and instruct rows are then laid out as a user/assistant conversation.
    public init(
        path: String, encoder: any TextEncoding, chatTemplate: (any ChatRendering)?, options: DataLoaderOptions
    ) throws {
        guard options.seqLen >= 2 else { throw UsageError("the sequence length must be at least 2, got \(options.seqLen)") }
        guard options.batchSize >= 1 else { throw UsageError("the batch size must be at least 1, got \(options.batchSize)") }
        self.options = options
        reader = try DocumentReader(path: path, format: options.format, encoder: encoder, chatTemplate: chatTemplate)
        padId = encoder.padTokenId ?? encoder.eosTokenId ?? 0
        stats = try DataLoader.count(reader, options)
        batchesPerEpoch = (stats.rows + options.batchSize - 1) / options.batchSize
        order = documentOrder(epoch: 0)
    }

    /// The next micro-batch; after the epoch's last one, the first of the next epoch.
    public func next() throws -> MicroBatch {
        if batchIndex == batchesPerEpoch { try startEpoch(epoch + 1) }
        let (B, T) = (options.batchSize, options.seqLen)
        var ids = [Int32](repeating: padId, count: B * T)
        var labels = [Int32](repeating: ignoredLabel, count: B * T)
        for b in 0..<B { try fillRow(&ids, &labels, base: b * T) }
        let batch = MicroBatch(
            batchSize: B, seqLen: T, inputIds: ids, labels: labels, epoch: epoch, indexInEpoch: batchIndex)
        batchIndex += 1
        return batch
    }

    public var state: DataLoaderState {
        DataLoaderState(
            epoch: epoch, batchIndex: batchIndex, documentPosition: position, tokenOffset: tokenOffset,
            documents: stats.documents, tokens: stats.tokens, seqLen: options.seqLen, batchSize: options.batchSize,
            pack: options.pack, shuffle: options.shuffle, seed: options.seed)
    }

    /// Continues from a saved `state`: the following micro-batches are those that would have
    /// followed it.
    public func restore(_ saved: DataLoaderState) throws {
        var expected = state
        (expected.epoch, expected.batchIndex) = (saved.epoch, saved.batchIndex)
        (expected.documentPosition, expected.tokenOffset) = (saved.documentPosition, saved.tokenOffset)
        guard saved == expected else {
            throw UsageError(
                "the saved data position does not fit \(path) with these settings (saved for \(saved.documents) documents, "
                    + "\(saved.tokens) tokens, batch \(saved.batchSize)x\(saved.seqLen), pack \(saved.pack), "
                    + "shuffle \(saved.shuffle), seed \(saved.seed))")
        }
        guard saved.epoch >= 0, (0...batchesPerEpoch).contains(saved.batchIndex),
            (0...reader.count).contains(saved.documentPosition), saved.tokenOffset >= 0
        else { throw UsageError("the saved data position is out of range: \(saved)") }
        epoch = saved.epoch
        batchIndex = saved.batchIndex
        order = documentOrder(epoch: epoch)
        position = saved.documentPosition
        tokenOffset = saved.tokenOffset
        current = nil
        if tokenOffset > 0 {
            guard position < reader.count, tokenOffset < (try currentDocument()).count else {
                throw UsageError("the saved data position is out of range: \(saved)")
            }
        }
    }

    private func documentOrder(epoch: Int) -> [Int]? {
        options.shuffle ? shuffledOrder(count: reader.count, seed: options.seed, epoch: epoch) : nil
    }

    private func startEpoch(_ e: Int) throws {
        guard position == reader.count else {
            throw InputError(file: path, "the file changed while training: it now has more tokens than when it was counted")
        }
        epoch = e
        batchIndex = 0
        order = documentOrder(epoch: e)
        position = 0
        tokenOffset = 0
        current = nil
    }

    private func currentDocument() throws -> TokenizedDocument {
        if let current { return current }
        let doc = try reader.document(order?[position] ?? position)
        current = doc
        return doc
    }

    /// Fills row ids/labels[base..<base+T] (pre-filled with padding) from the document stream.
    private func fillRow(_ ids: inout [Int32], _ labels: inout [Int32], base: Int) throws {
        let T = options.seqLen
        var filled = 0
        while filled < T, position < reader.count {
            let doc = try currentDocument()
            let take = min(T - filled, doc.count - tokenOffset)
            for i in 0..<take {
                ids[base + filled + i] = doc.inputIds[tokenOffset + i]
                labels[base + filled + i] = doc.labels[tokenOffset + i]
            }
            filled += take
            tokenOffset += take
            // Unpacked, a document's tokens beyond seqLen are dropped (counted in stats).
            if !options.pack || tokenOffset == doc.count {
                position += 1
                tokenOffset = 0
                current = nil
            }
            if !options.pack { break }
        }
    }

    /// The first pass: every row tokenized once, in file order, for validation and counts.
    private static func count(_ reader: DocumentReader, _ options: DataLoaderOptions) throws -> DatasetStats {
        let T = options.seqLen
        var s = DatasetStats()
        s.documents = reader.count
        for row in 0..<reader.count {
            let doc = try reader.document(row)
            let kept = options.pack ? doc.count : min(doc.count, T)
            s.tokens += kept
            s.targetTokens += doc.targetCount(limit: kept)
            if kept < doc.count {
                s.truncatedDocuments += 1
                s.truncatedTokens += doc.count - kept
            }
        }
        s.rows = options.pack ? (s.tokens + T - 1) / T : reader.count
        guard s.targetTokens > 0 else {
            throw InputError(file: reader.path, "nothing to train on: no row has a target token (every label is -100)")
        }
        return s
    }
}
