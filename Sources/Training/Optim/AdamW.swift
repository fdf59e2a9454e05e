#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CKernels
import Support

/// Gradients handed to the optimizer: fp32 (accumulated on the host) or bf16 (straight from
/// the GPU). Same element indexing as the parameters.
public enum GradientInput {
    case f32(UnsafePointer<Float>)
    case bf16(UnsafePointer<UInt16>)
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
    func update(params: UnsafeMutablePointer<Float>, gradients: GradientInput, m: UnsafeMutablePointer<Float>,
                v: UnsafeMutablePointer<Float>, segments: OptimizerSegments, step: Int, learningRate: Double,
                gradScale: Float, bf16Output: UnsafeMutablePointer<UInt16>?, pool: WorkerPool) {
        let withDecay = hyperparameters.scalars(learningRate: learningRate, step: step, gradScale: gradScale, decays: true)
        let withoutDecay = hyperparameters.scalars(learningRate: learningRate, step: step, gradScale: gradScale, decays: false)
        pool.parallelFor(segments.chunks.count) { c in
            let chunk = segments.chunks[c]
            let i = chunk.range.lowerBound, n = chunk.range.count
            var s = (chunk.decays ? withDecay : withoutDecay).cScalars
            let out = bf16Output.map { $0 + i }
            switch gradients {
            case .f32(let g): sf_adamw_f32grad(params + i, m + i, v + i, g + i, out, n, &s)
            case .bf16(let g): sf_adamw_bf16grad(params + i, m + i, v + i, g + i, out, n, &s)
            }
        }
    }
}
