import ModelFormats

/// A run of elements of a flat parameter buffer that share one weight-decay flag.
public struct DecaySegment: Equatable, Sendable {
    public var range: Range<Int>
    public var decays: Bool

    public init(_ range: Range<Int>, decays: Bool) {
        self.range = range
        self.decays = decays
    }
}

/// A flat parameter buffer as the optimizer sees it: the element ranges to update with their
/// decay flags (alignment gaps between tensors are skipped), cut into fixed-size chunks that
/// the worker threads take one at a time. Chunk boundaries do not depend on the thread count,
/// so neither do the results of per-chunk reductions.
public struct OptimizerSegments: Equatable, Sendable {
    /// 32 Ki elements: 128 KiB of each fp32 stream, large enough to amortize the hand-out,
    /// small enough to balance 16 threads on one decoder layer.
    public static let chunkElements = 1 << 15

    public let segments: [DecaySegment]
    let chunks: [DecaySegment]

    public init(_ segments: [DecaySegment]) {
        self.segments = segments
        var chunks: [DecaySegment] = []
        for s in segments {
            var lo = s.range.lowerBound
            while lo < s.range.upperBound {
                let hi = min(s.range.upperBound, lo + OptimizerSegments.chunkElements)
                chunks.append(DecaySegment(lo..<hi, decays: s.decays))
                lo = hi
            }
        }
        self.chunks = chunks
    }

    /// The tensors of a flat buffer (a `LayerLayout`'s, or one model-level tensor): each
    /// tensor decays unless it is 1-D (`TensorSlot.decays`).
    public init(_ tensors: [TensorSlot]) {
        self.init(tensors.map { DecaySegment($0.offset..<($0.offset + $0.count), decays: $0.decays) })
    }

    /// Elements updated (gaps excluded).
    public var elementCount: Int { segments.reduce(0) { $0 + $1.range.count } }

    /// One past the last element touched: the buffers must hold at least this many.
    public var extent: Int { segments.map(\.range.upperBound).max() ?? 0 }
}
