#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CKernels
import Support

/// Exact global-norm clipping as torch.nn.utils.clip_grad_norm_(params, maxNorm) with the
/// 2-norm: total = sqrt(Σ over every gradient element of g²); coefficient =
/// min(1, maxNorm / (total + 1e-6)); every gradient is multiplied by it (here: on the fly,
/// as AdamW's `gradScale`). The norm needs every gradient, so the sum of squares is gathered
/// per buffer (in fp64, chunk by chunk in a fixed order) and combined before any update.
public enum GradientClipping {
    /// Σ g² of one gradient buffer over `segments`, accumulated in fp64. Deterministic: the
    /// per-chunk partial sums are added in chunk order whatever the thread count.
    public static func sumOfSquares(_ gradients: UnsafePointer<Float>, segments: OptimizerSegments, pool: WorkerPool) -> Double {
        let chunks = segments.chunks
        var partial = [Double](repeating: 0, count: chunks.count)
        partial.withUnsafeMutableBufferPointer { out in
            let out = out
            pool.parallelFor(chunks.count) { c in
                let r = chunks[c].range
                out[c] = sf_sum_squares_f32(gradients + r.lowerBound, r.count)
            }
        }
        return partial.reduce(0, +)
    }

    /// The global 2-norm from the per-buffer sums of squares.
    public static func totalNorm(sumsOfSquares: [Double]) -> Double {
        sumsOfSquares.reduce(0, +).squareRoot()
    }

    /// The gradient multiplier; 1 when clipping is off (`maxNorm` <= 0) or not needed.
    /// Evaluated in fp32 like torch: (1 / (total + 1e-6)) * maxNorm (Tensor.__rtruediv__
    /// is reciprocal-then-multiply), clamped to 1.
    public static func coefficient(totalNorm: Double, maxNorm: Double) -> Float {
        guard maxNorm > 0 else { return 1 }
        let coefficient = (1 / (Float(totalNorm) + Float(1e-6))) * Float(maxNorm)
        return min(coefficient, 1)
    }
}
