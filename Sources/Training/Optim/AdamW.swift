#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CKernels
import Support

/// Gradients handed to the optimizer: fp32 (accumulated on the host) or bf16 (straight from
/// the GPU), with the parameters' element indexing; or fp32 rows of which only some are
/// non-zero (`RowGradients`: an embedding's, whose batch touched few of its rows).
public enum GradientInput {
    case f32(UnsafePointer<Float>)
    case bf16(UnsafePointer<UInt16>)
    case rows(RowGradients)
}

/// The gradient of a buffer of whole rows of `width` elements, given only where a row has one:
/// row r's `width` fp32 values at `rows[r]`, zero where that is nil (read from `zeros`, so the
/// update is the dense one with a gradient of 0, bit for bit).
public final class RowGradients: @unchecked Sendable {
    public let rows: [UnsafePointer<Float>?]
    public let width: Int
    let zeros: UnsafeMutablePointer<Float>

    public init(rows: [UnsafePointer<Float>?], width: Int) {
        self.rows = rows
        self.width = width
        zeros = .allocate(capacity: width)
        zeros.initialize(repeating: 0, count: width)
    }

    deinit { zeros.deallocate() }

    /// The gradient of elements lo..<hi, which lie in one row.
    func values(_ lo: Int, _ hi: Int) -> UnsafePointer<Float> {
        let r = lo / width
        precondition((hi - 1) / width == r, "a gradient range within one row")
        return rows[r].map { $0 + (lo - r * width) } ?? UnsafePointer(zeros)
    }
}

/// torch.optim.AdamW on flat fp32 buffers: decoupled weight decay, torch's bias correction and
/// operation order (see Sources/CKernels/adamw.c), an optional gradient multiplier (the
/// clipping coefficient) applied on the fly, and the updated weights emitted as bf16 in the
/// same pass. Multi-threaded over `OptimizerSegments` chunks.
public struct AdamW: Sendable {
    public var hyperparameters: AdamWHyperparameters

    public init(_ hyperparameters: AdamWHyperparameters) {
        self.hyperparameters = hyperparameters
    }

    /// One update of the buffer `params` (fp32 master weights) with `gradients`, advancing
    /// `moments.step`. `bf16Output`, when given, receives the updated weights rounded to bf16
    /// (nearest even) at the same indices; elements outside `segments` are not touched.
    /// `gradScale` multiplies every gradient first (torch's clip_grad_norm_ multiplies the
    /// gradients in place by the same fp32 coefficient).
    public func update(
        params: UnsafeMutablePointer<Float>,
        gradients: GradientInput,
        moments: AdamWMoments,
        segments: OptimizerSegments,
        learningRate: Double,
        gradScale: Float = 1,
        bf16Output: UnsafeMutablePointer<UInt16>? = nil,
        pool: WorkerPool
    ) {
        precondition(segments.extent <= moments.count, "segments exceed the optimizer state")
        moments.step += 1
        update(params: params, gradients: gradients, m: moments.expAvg, v: moments.expAvgSq, segments: segments,
               step: moments.step, learningRate: learningRate, gradScale: gradScale, bf16Output: bf16Output, pool: pool)
    }

    /// Update number `step` of a part of a buffer: `params`, `m`, `v` (and the gradients and
    /// `bf16Output`) point at the part's first element and `segments` index from there. The
    /// caller keeps the step count (the engine updates a large tensor in several parts).
    /// `progress`, when given, is called after each piece of about `pieceElements` with the
    /// elements of `segments` done so far, ascending (the engine copies a layer's updated
    /// masters to the GPU piece by piece behind the update); the same kernels run either way.
    func update(params: UnsafeMutablePointer<Float>, gradients: GradientInput, m: UnsafeMutablePointer<Float>,
                v: UnsafeMutablePointer<Float>, segments: OptimizerSegments, step: Int, learningRate: Double,
                gradScale: Float, bf16Output: UnsafeMutablePointer<UInt16>?, pool: WorkerPool,
                pieceElements: Int = .max, progress: ((Int) -> Void)? = nil) {
        let withDecay = hyperparameters.scalars(learningRate: learningRate, step: step, gradScale: gradScale, decays: true)
        let withoutDecay = hyperparameters.scalars(learningRate: learningRate, step: step, gradScale: gradScale, decays: false)
        func updateChunk(_ chunk: DecaySegment) {
            let i = chunk.range.lowerBound, n = chunk.range.count
            var s = (chunk.decays ? withDecay : withoutDecay).cScalars
            let out = bf16Output.map { $0 + i }
            switch gradients {
            case .f32(let g): sf_adamw_f32grad(params + i, m + i, v + i, g + i, out, n, &s)
            case .bf16(let g): sf_adamw_bf16grad(params + i, m + i, v + i, g + i, out, n, &s)
            case .rows(let g):
                // Row by row within the chunk: each piece starts where the dense update's vector
                // steps do (chunks and rows both start on multiples of 8 when the width is one).
                var lo = i
                while lo < i + n {
                    let hi = min(i + n, (lo / g.width + 1) * g.width)
                    sf_adamw_f32grad(params + lo, m + lo, v + lo, g.values(lo, hi), out.map { $0 + (lo - i) }, hi - lo, &s)
                    lo = hi
                }
            }
        }
        let chunks = segments.chunks
        let perPiece = max(1, min(chunks.count, pieceElements / OptimizerSegments.chunkElements))
        for first in stride(from: 0, to: chunks.count, by: perPiece) {
            let piece = first..<min(first + perPiece, chunks.count)
            pool.parallelFor(piece.count) { c in
                updateChunk(chunks[piece.lowerBound + c])
            }
            progress?(chunks[piece.upperBound - 1].range.upperBound)
        }
    }

    /// The values elements `range` of `params` will have after update number `step` with
    /// `gradients` (indexed as params; a `.rows` range within one row), written to `out`, without
    /// changing params, m or v: the same kernel without writing the moments, so bit for bit what
    /// `update` writes.
    /// `decays`: the elements' decay flag.
    func updatedValues(params: UnsafePointer<Float>, m: UnsafePointer<Float>, v: UnsafePointer<Float>,
                       gradients: GradientInput, range: Range<Int>, decays: Bool, step: Int, learningRate: Double,
                       gradScale: Float, into out: UnsafeMutablePointer<Float>) {
        let n = range.count, lo = range.lowerBound
        var s = hyperparameters.scalars(learningRate: learningRate, step: step, gradScale: gradScale, decays: decays).cScalars
        switch gradients {
        case .f32(let g): sf_adamw_updated_params(out, params + lo, m + lo, v + lo, g + lo, nil, n, &s)
        case .bf16(let g): sf_adamw_updated_params(out, params + lo, m + lo, v + lo, nil, g + lo, n, &s)
        case .rows(let g): sf_adamw_updated_params(out, params + lo, m + lo, v + lo, g.values(lo, range.upperBound), nil, n, &s)
        }
    }
}
