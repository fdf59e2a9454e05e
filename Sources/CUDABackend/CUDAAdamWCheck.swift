import Glibc
import Backends

/// Checks the GPU AdamW kernel against torch.optim.AdamW's update computed in double on the
/// host: three steps on random parameters and gradients (bf16 gradients, so both sides read
/// the same values), with weight decay and a gradient scale.
public enum CUDAAdamWCheck {
    /// The normalized error of the parameters after three steps, and of the bf16 copy.
    public static func run(_ backend: CUDABackend, seed: UInt64) throws -> (params: Double, bf16Copy: Double) {
        let count = 10_000
        var state = seed
        func uniform() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53) * 2 - 1
        }
        var p = (0..<count).map { _ in Float(uniform()) }
        let params = try backend.makeBuffer(p), m = try backend.makeBuffer([Float](repeating: 0, count: count))
        let v = try backend.makeBuffer([Float](repeating: 0, count: count))
        let grads = try backend.makeBuffer(.bf16, count: count), copy = try backend.makeBuffer(.bf16, count: count)
        var rawGrads = [UInt16](repeating: 0, count: count)
        var hostP = p.map(Double.init), hostM = [Double](repeating: 0, count: count), hostV = hostM
        let (lr, b1, b2, eps, wd, gscale) = (1e-2, 0.9, 0.999, 1e-8, 0.1, 0.5)
        for step in 1...3 {
            // The GPU rounds the gradients to bf16; the host reads back exactly what it stored.
            let wide = try backend.makeBuffer((0..<count).map { _ in Float(uniform() * 0.1) })
            backend.copy(wide.ref(), to: grads.ref(), count: count)
            rawGrads.withUnsafeMutableBytes { backend.download(grads.ref(), into: $0) }
            backend.adamW(params: params.ref(), m: m.ref(), v: v.ref(), grads: grads.ref(), computeCopy: copy.ref(), count: count,
                          scalars: AdamWScalars(learningRate: lr, beta1: b1, beta2: b2, eps: eps, weightDecay: wd,
                                                step: step, gradScale: Float(gscale), decays: true))
            let bc1 = 1 - pow(b1, Double(step)), bc2 = 1 - pow(b2, Double(step))
            for i in 0..<count {
                let g = Double(Float(bitPattern: UInt32(rawGrads[i]) << 16)) * gscale
                hostP[i] *= 1 - lr * wd
                hostM[i] = b1 * hostM[i] + (1 - b1) * g
                hostV[i] = b2 * hostV[i] + (1 - b2) * g * g
                hostP[i] -= lr / bc1 * hostM[i] / (hostV[i].squareRoot() / bc2.squareRoot() + eps)
            }
        }
        p = backend.downloadFloats(params.ref(), count: count)
        var raw = [UInt16](repeating: 0, count: count)
        raw.withUnsafeMutableBytes { backend.download(copy.ref(), into: $0) }
        let copied = raw.map { Double(Float(bitPattern: UInt32($0) << 16)) }
        return (relativeError(p.map(Double.init), hostP), relativeError(copied, hostP))
    }

    private static func relativeError(_ got: [Double], _ want: [Double]) -> Double {
        var diff = 0.0, norm = 0.0
        for (a, b) in zip(got, want) {
            diff += a.isFinite ? (a - b) * (a - b) : .infinity
            norm += b * b
        }
        return (diff / norm).squareRoot()
    }
}
