/// Where a `DataLoader` stands, saved with a training checkpoint so that a resumed run sees
/// exactly the micro-batches an uninterrupted run would have seen next.
///
/// Besides the position it records what the position means (dataset size, batch shape,
/// packing, shuffling, seed); restoring into a loader that differs in any of these is refused.
public struct DataLoaderState: Codable, Equatable, Sendable {
    /// The epoch of the next micro-batch (0-based).
    public var epoch: Int
    /// Micro-batches of this epoch already produced.
    public var batchIndex: Int
    /// Position, in this epoch's document order, of the document that the next token comes from.
    public var documentPosition: Int
    /// Tokens of that document already placed in earlier rows (packing only; 0 otherwise).
    public var tokenOffset: Int

    public var documents: Int
    public var tokens: Int
    public var seqLen: Int
    public var batchSize: Int
    public var pack: Bool
    public var shuffle: Bool
    public var seed: UInt64
}
