#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// RoPE frequency scaling, as Hugging Face `rope_scaling` / `rope_parameters` name it.
public enum RopeFrequencyScaling: Equatable, Sendable {
    case none
    /// Frequencies divided by `factor` (positions interpolated).
    case linear(factor: Double)
    /// Llama 3.1 piecewise scaling: long wavelengths divided by `factor`, short ones kept,
    /// the band between interpolated.
    case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositions: Int)
}

/// The inverse frequencies (D/2, fp32) that `ropeForward` multiplies positions by, computed
/// step by step in fp32 as transformers' `_compute_default_rope_parameters`,
/// `_compute_linear_scaling_rope_parameters` and `_compute_llama3_parameters` do, so that
/// angles match PyTorch's to the last bits.
public enum RopeFrequencies {
    public static func inverseFrequencies(headDim: Int, theta: Double, scaling: RopeFrequencyScaling) -> [Float] {
        let dim = Float(headDim)
        // inv_freq = 1 / (base ** (arange(0, dim, 2).float() / dim)), all fp32.
        let base = Float(theta)
        let plain: [Float] = stride(from: 0, to: headDim, by: 2).map { i in 1 / powf(base, Float(i) / dim) }
        switch scaling {
        case .none:
            return plain
        case .linear(let factor):
            let f = Float(factor)
            return plain.map { $0 / f }
        case .llama3(let factor, let lowFreqFactor, let highFreqFactor, let originalMaxPositions):
            // Python scalars meet fp32 tensors: each is rounded to fp32 where it is used.
            let f = Float(factor), low = Float(lowFreqFactor), high = Float(highFreqFactor)
            let oldContext = Float(originalMaxPositions)
            let lowFreqWavelen = Float(Double(originalMaxPositions) / lowFreqFactor)
            let highFreqWavelen = Float(Double(originalMaxPositions) / highFreqFactor)
            let twoPi = Float(2 * Double.pi)
            return plain.map { inv in
                // torch evaluates `scalar / tensor` as reciprocal(tensor) * scalar.
                let wavelen = (1 / inv) * twoPi
                if wavelen < highFreqWavelen { return inv }
                if wavelen > lowFreqWavelen { return inv / f }
                let smooth = ((1 / wavelen) * oldContext - low) / (high - low)
                return (1 - smooth) * inv / f + smooth * inv
            }
        }
    }
}
