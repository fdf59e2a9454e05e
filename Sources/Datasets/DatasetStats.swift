/// What one epoch of a dataset amounts to, counted by the loader's first pass.
public struct DatasetStats: Equatable, Sendable, CustomStringConvertible {
    /// Rows of seqLen tokens per epoch (packed: ceil(tokens / seqLen); unpacked: one per document).
    public var rows = 0
    /// Rows of the file.
    public var documents = 0
    /// Tokens that reach the model (after truncation), padding excluded.
    public var tokens = 0
    /// Labels that are targets within their document (after truncation). Exact for unpacked
    /// rows; packed, a row that starts in the middle of a document cannot score its first
    /// label, so an epoch's micro-batches may count up to (rows - 1) fewer.
    public var targetTokens = 0
    /// Unpacked only: documents longer than seqLen, and the tokens cut from them.
    public var truncatedDocuments = 0
    public var truncatedTokens = 0

    public var description: String {
        var s = "\(documents) documents, \(tokens) tokens (\(targetTokens) targets) in \(rows) rows"
        if truncatedDocuments > 0 {
            s += "; \(truncatedDocuments) documents truncated to the sequence length (\(truncatedTokens) tokens dropped)"
        }
        return s
    }
}
