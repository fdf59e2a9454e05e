/// How a dataset is cut into micro-batches (flags --data-format, --seq-len, --batch-size,
/// --no-pack, --no-shuffle, --seed).
public struct DataLoaderOptions: Equatable, Sendable {
    /// nil: detected from the first row's keys.
    public var format: DataFormat?
    /// T: tokens per row.
    public var seqLen: Int
    /// B: rows per micro-batch.
    public var batchSize: Int
    /// Concatenate documents and cut them into rows; false: one document per row, padded or truncated.
    public var pack: Bool
    /// Visit documents in a seeded random order, reshuffled every epoch; false: file order.
    public var shuffle: Bool
    public var seed: UInt64

    public init(
        format: DataFormat? = nil, seqLen: Int, batchSize: Int, pack: Bool = true, shuffle: Bool = true, seed: UInt64 = 0
    ) {
        self.format = format
        self.seqLen = seqLen
        self.batchSize = batchSize
        self.pack = pack
        self.shuffle = shuffle
        self.seed = seed
    }
}
