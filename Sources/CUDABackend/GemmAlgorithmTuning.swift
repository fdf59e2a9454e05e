import Backends
import CCUDA

/// Choosing each GEMM shape's cuBLASLt algorithm by timing: the heuristic's first pick leaves
/// up to 20 % on the table for some training shapes (`bench cuda --gemm-algorithms`). The first
/// time a shape runs on a machine, the heuristic's first `gemmTuningCandidates` algorithms are
/// timed on the call's own operands and the fastest is kept in the GemmAlgorithmStore, so
/// later runs start with it and compute the same values. SLIDEFORMER_GEMM_TUNING=off keeps the
/// heuristic's first for every shape.
extension CUDABackend {
    static let gemmTuningCandidates = 8

    /// Times the candidates for `shape` and settles it on the fastest. The products go to D when
    /// D is not C or beta is 0 (C is then only read, so every run computes the same D); an
    /// in-place accumulation writes a scratch D instead, and where no scratch fits the shape
    /// keeps the heuristic's choice for this run (and is timed again next run).
    func tuneMatmul(_ shape: MatmulRunner.Shape, alpha: Float, a: CUdeviceptr, b: CUdeviceptr, beta: Float,
                    c: CUdeviceptr, d: CUdeviceptr) throws {
        let candidates = try matmul.candidates(shape, count: Self.gemmTuningCandidates)
        guard let first = candidates.first else { return }
        guard candidates.count > 1 else { return try matmul.settle(shape, on: first, keep: true) }
        func fastest(into out: CUdeviceptr) throws -> cublasLtMatmulAlgo_t {
            var best = (algorithm: first, ms: Double.infinity)
            for algorithm in candidates {
                // A candidate cuBLASLt refuses at launch is passed over.
                guard let ms = try? medianMilliseconds(warmups: 1, repeats: 3, {
                    try matmul.run(shape, algorithm: algorithm, alpha: alpha, a: a, b: b, beta: beta, c: c, d: out,
                                   stream: computeStream)
                }) else { continue }
                if ms < best.ms { best = (algorithm, ms) }
            }
            return best.algorithm
        }
        if beta == 0 || d != c { return try matmul.settle(shape, on: try fastest(into: d), keep: true) }
        let bytes = shape.m * shape.n * (shape.cType == Int32(CCUDA_R_16BF) ? 2 : 4)
        do {
            let best = try withScratch(bytes: bytes) { scratch in try fastest(into: scratch) }
            try matmul.settle(shape, on: best, keep: true)
        } catch BackendError.outOfMemory {
            try matmul.settle(shape, on: first, keep: false)
        }
    }

    /// The median of `repeats` event-timed runs of `body` on the compute stream, after `warmups`
    /// untimed ones.
    func medianMilliseconds(warmups: Int, repeats: Int, _ body: () throws -> Void) throws -> Double {
        let start = try CUDAEvent(device: device, timing: true), end = try CUDAEvent(device: device, timing: true)
        for _ in 0..<warmups { try body() }
        var ms: [Double] = []
        for _ in 0..<repeats {
            try start.record(on: computeStream)
            try body()
            try end.record(on: computeStream)
            try end.synchronize()
            ms.append(try end.milliseconds(since: start))
        }
        return ms.sorted()[repeats / 2]
    }
}
