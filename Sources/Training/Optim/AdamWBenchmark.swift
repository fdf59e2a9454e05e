#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Support

/// Throughput of `AdamW.update` over one large flat buffer, set against this machine's memory
/// bandwidth: AdamW streams every byte of its state once per step, so memcpy speed bounds it.
public struct AdamWBenchmark {
    public struct Result: Sendable {
        public let parameters: Int
        public let threads: Int
        public let bf16Gradients: Bool
        /// Best of the timed iterations.
        public let secondsPerStep: Double
        /// memcpy over the pool, bytes read + bytes written per second.
        public let memcpyBytesPerSecond: Double

        /// Bytes AdamW moves per parameter: fp32 p, m, v read and written (24), the gradient
        /// read (4 fp32 / 2 bf16), the bf16 weight written (2).
        public var bytesPerParameter: Int { AdamWBenchmark.bytesPerParameter(bf16Gradients: bf16Gradients) }
        public var parametersPerSecond: Double { Double(parameters) / secondsPerStep }
        /// The params/s memcpy bandwidth would allow: bandwidth / bytesPerParameter.
        public var bandwidthBound: Double { memcpyBytesPerSecond / Double(bytesPerParameter) }
        public var shareOfBound: Double { parametersPerSecond / bandwidthBound }
    }

    /// Bytes AdamW moves per parameter: fp32 p, m, v read and written (24), the gradient read
    /// (4 fp32 / 2 bf16), the bf16 weight written (2).
    public static func bytesPerParameter(bf16Gradients: Bool) -> Int { 24 + (bf16Gradients ? 2 : 4) + 2 }

    public var parameters: Int
    public var iterations: Int
    public var bf16Gradients: Bool
    /// Size of the memcpy source (and destination).
    public var memcpyBytes: Int

    public init(parameters: Int, iterations: Int, bf16Gradients: Bool, memcpyBytes: Int = 1 << 30) {
        self.parameters = parameters
        self.iterations = iterations
        self.bf16Gradients = bf16Gradients
        self.memcpyBytes = memcpyBytes
    }

    public func run(pool: WorkerPool) throws -> Result {
        Result(parameters: parameters, threads: pool.threadCount, bf16Gradients: bf16Gradients,
               secondsPerStep: try updateSeconds(pool: pool),
               memcpyBytesPerSecond: Self.memcpyBandwidth(bytes: memcpyBytes, pool: pool))
    }

    /// Best seconds of `iterations` timed updates of `parameters` after one warm-up.
    public func updateSeconds(pool: WorkerPool) throws -> Double {
        guard parameters > 0, iterations > 0 else { throw UsageError("parameters and iterations must be > 0") }
        let n = parameters
        let params = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let gradsF32 = UnsafeMutablePointer<Float>.allocate(capacity: bf16Gradients ? 1 : n)
        let gradsBF16 = UnsafeMutablePointer<UInt16>.allocate(capacity: bf16Gradients ? n : 1)
        let out = UnsafeMutablePointer<UInt16>.allocate(capacity: n)
        defer { params.deallocate(); gradsF32.deallocate(); gradsBF16.deallocate(); out.deallocate() }
        let moments = AdamWMoments(count: n)
        // Touch every page before timing (first-touch page faults are not AdamW's cost).
        pool.parallelRanges(n, minChunk: 1 << 16) { r in
            for i in r {
                params[i] = Float(i & 1023) * 1e-3
                if bf16Gradients { gradsBF16[i] = 0x3C23 } else { gradsF32[i] = 1e-2 }
                out[i] = 0
            }
        }
        let segments = OptimizerSegments([DecaySegment(0..<n, decays: true)])
        let adamw = AdamW(AdamWHyperparameters(weightDecay: 0.1))
        let gradients: GradientInput = bf16Gradients ? .bf16(gradsBF16) : .f32(gradsF32)
        var best = Double.infinity
        for i in 0...iterations {  // iteration 0 warms up
            let seconds = Self.time {
                adamw.update(params: params, gradients: gradients, moments: moments, segments: segments,
                             learningRate: 1e-4, gradScale: 0.5, bf16Output: out, pool: pool)
            }
            if i > 0 { best = min(best, seconds) }
        }
        return best
    }

    /// Best of 5 parallel memcpys of `bytes`, as (read + written) bytes per second.
    static func memcpyBandwidth(bytes: Int, pool: WorkerPool) -> Double {
        let src = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        let dst = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        defer { src.deallocate(); dst.deallocate() }
        let piece = 1 << 22
        let pieces = (bytes + piece - 1) / piece
        let copy = { (fill: Bool) in
            pool.parallelFor(pieces) { k in
                let lo = k * piece, count = min(piece, bytes - lo)
                if fill { memset(src + lo, 1, count); memset(dst + lo, 0, count) }
                memcpy(dst + lo, src + lo, count)
            }
        }
        copy(true)
        var best = Double.infinity
        for _ in 0..<5 { best = min(best, time { copy(false) }) }
        return 2 * Double(bytes) / best
    }

    static func time(_ body: () -> Void) -> Double {
        let d = ContinuousClock().measure(body)
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
