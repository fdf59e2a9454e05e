import Backends
import ModelFormats

/// The device and pinned buffers of the `streamed` placement of the embedding and LM head
/// (`ModelLevelPlacement.streamed`), for a sliding-window engine at up to N tokens:
///
/// - Embedding forward: the host gathers the micro-batch's rows from the fp32 masters, rounded
///   to the compute type as the device copy of the table would hold them, piece by piece of
///   tokens into `gather` ((piece,C) f32, pinned, two in turn), which the H2D queue copies into
///   the first hidden buffer.
/// - LM head: pass 1 streams its weights chunk by chunk (Vc rows, from the registered masters,
///   converted on the H2D queue) into `weightChunks` (two: the next chunk loads while the
///   compute queue reads the other), computes `logits` (N,Vc) and the running row max / sum of
///   exponentials / target logit; pass 2 streams the chunks again (in reverse: the last two are
///   still there), recomputes the logits, and gives dHidden and the chunk's gradient.
/// - Gradients: each chunk of the LM head and of the embedding (its rows' scatter-add) is
///   summed in one of `gradientChunks` (f32 (Vc,C), two in turn) and copied to a landing buffer
///   (the engine's: one per chunk, or a ring of them when the layers' gradients land in a ring),
///   which the host AdamW of that chunk (an update unit) reads. The embedding's chunks are summed
///   from the micro-batch's tokens grouped by row (`BatchRows`, uploaded into `rowGroups`); with
///   a ring and one micro-batch only its distinct rows go, Vc rows per ring buffer.
final class StreamedModelLevel {
    /// Vocabulary rows per chunk (the last chunk may hold fewer).
    let chunkRows: Int
    /// (Vc,C) storage type each; chunk c goes into buffer c mod 2.
    let weightChunks: [any DeviceBuffer]
    let weightLoaded: [any DeviceEvent]
    let weightReleased: [any DeviceEvent]
    /// (LM head part, weights version) per weight chunk buffer.
    var weightContent: [(part: Int, version: Int)?] = [nil, nil]
    /// (Vc,C) f32 each, taken in turn by the LM head's and the embedding's chunks.
    let gradientChunks: [any DeviceBuffer]
    let gradientReady: [any DeviceEvent]
    let gradientSent: [any DeviceEvent]
    /// A partial sum (accumulation) is back in the gradient chunk.
    let gradientLoaded: [any DeviceEvent]
    var nextGradient = 0
    /// (N,Vc) f32, a view of memory the decoder layers use at other times (`logitsBytes`).
    let logits: any DeviceBuffer
    /// (N,Vc) in the storage type, after `logits` in the same memory; `logits` itself when that is f32.
    let dlogits: any DeviceBuffer
    let rowMax: any DeviceBuffer          // (N) f32
    let rowSum: any DeviceBuffer          // (N) f32
    let targetLogit: any DeviceBuffer     // (N) f32
    /// (piece,C) f32 each (`MemoryPlanner.gatherBuffers`): pieces of the micro-batch's
    /// embedded tokens, gathered on the host in turn.
    let gather: [any PinnedHostMemory]
    let gatherTokens: Int
    /// The copy of each `gather` buffer to the device is done (the host may write it again).
    let gatherSent: [any DeviceEvent]
    /// (3N + 1) i32: the micro-batch's `BatchRows.deviceLayout` (its tokens grouped by row).
    let rowGroups: any DeviceBuffer

    /// Bytes of `logits` and `dlogits` at N tokens and Vc rows per chunk.
    static func logitsBytes(tokens n: Int, chunkRows: Int, storage: ElementType) -> Int {
        n * chunkRows * (4 + (storage == .f32 ? 0 : storage.byteSize)) + 256
    }

    /// `logitsMemory`: a buffer of at least `logitsBytes` that nothing uses while the LM head
    /// runs (the decoder layers' shared scratch).
    init(config c: ModelConfig, tokens n: Int, chunkRows: Int, storage: ElementType, logitsMemory: any DeviceBuffer,
         backend: any QueuedTransfers) throws {
        let C = c.hiddenSize
        func events() throws -> [any DeviceEvent] { try (0..<2).map { _ in try backend.makeEvent(timing: false) } }
        self.chunkRows = chunkRows
        weightChunks = try (0..<2).map { _ in try backend.makeBuffer(storage, count: chunkRows * C) }
        weightLoaded = try events()
        weightReleased = try events()
        gradientChunks = try (0..<2).map { _ in try backend.makeBuffer(.f32, count: chunkRows * C) }
        gradientReady = try events()
        gradientSent = try events()
        gradientLoaded = try events()
        logits = backend.makeView(.f32, count: n * chunkRows, of: logitsMemory, byteOffset: 0)
        dlogits = storage == .f32 ? logits
            : backend.makeView(storage, count: n * chunkRows, of: logitsMemory, byteOffset: (n * chunkRows * 4 + 255) / 256 * 256)
        rowMax = try backend.makeBuffer(.f32, count: n)
        rowSum = try backend.makeBuffer(.f32, count: n)
        targetLogit = try backend.makeBuffer(.f32, count: n)
        let pieces = MemoryPlanner.gatherBuffers(tokens: n)
        gatherTokens = pieces.tokens
        gather = try (0..<pieces.count).map { _ in try backend.makePinnedHostMemory(bytes: pieces.tokens * C * 4) }
        gatherSent = try (0..<pieces.count).map { _ in try backend.makeEvent(timing: false) }
        rowGroups = try backend.makeBuffer(.i32, count: 3 * n + 1)
    }

    /// The gradient chunk to use next (the two alternate).
    func takeGradientChunk() -> Int {
        defer { nextGradient = 1 - nextGradient }
        return nextGradient
    }
}
