/// Measured GEMM throughput of a backend, for `slideformer bench gemm`.
public enum GEMMBenchmark {
    public struct Case: Sendable {
        public let label: String
        public let transA: Bool, transB: Bool
        public let m: Int, n: Int, k: Int

        public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
        /// "NT" etc.: how A and B are stored (T = transposed).
        public var layout: String { (transA ? "T" : "N") + (transB ? "T" : "N") }
    }

    /// A square shape, then the three products of a linear layer's training step (N = 2048
    /// tokens, 2048 → 8192, e.g. an MLP up-projection; dX is the 2048x2048x8192 product).
    public static let standardCases: [Case] = [
        Case(label: "square 1024^3", transA: false, transB: false, m: 1024, n: 1024, k: 1024),
        Case(label: "forward y = x W^T", transA: false, transB: true, m: 2048, n: 8192, k: 2048),
        Case(label: "input grad dX = dY W", transA: false, transB: false, m: 2048, n: 2048, k: 8192),
        Case(label: "weight grad dW += dY^T X", transA: true, transB: false, m: 8192, n: 2048, k: 2048),
    ]

    /// Best GFLOP/s of `repeats` timed runs after one warm-up (beta = 1, as accumulating grads).
    public static func measure(_ c: Case, on backend: any Backend, repeats: Int) throws -> Double {
        let a = try backend.makeBuffer(.f32, count: c.m * c.k)
        let b = try backend.makeBuffer(.f32, count: c.k * c.n)
        let out = try backend.makeBuffer(.f32, count: c.m * c.n)
        backend.fill(a.ref(), count: a.count, value: 0.5)
        backend.fill(b.ref(), count: b.count, value: 0.25)
        backend.fill(out.ref(), count: out.count, value: 0)
        let clock = ContinuousClock()
        var best = Duration.seconds(Int64.max)
        for i in 0...max(1, repeats) {
            let start = clock.now
            backend.gemm(transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k,
                         alpha: 1, a: a.ref(), b: b.ref(), beta: 1, c: out.ref())
            backend.synchronize()
            let elapsed = clock.now - start
            if i > 0 { best = min(best, elapsed) }
        }
        let seconds = Double(best.components.seconds) + Double(best.components.attoseconds) * 1e-18
        return c.flops / seconds / 1e9
    }
}
