import XCTest
import Backends

/// The packed GEMM against a naive float64 triple loop: every transpose combination, sizes
/// that are not multiples of the 6x16 micro-kernel or of the K/N blocking, alpha/beta.
final class GEMMTests: XCTestCase {
    struct Rng {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
        mutating func values(_ n: Int) -> [Float] { (0..<n).map { _ in next() } }
    }

    /// C (M,N) = alpha op(A) op(B) + beta C in float64, as the protocol specifies.
    func naive(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: [Float], b: [Float], beta: Float, c: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let x = transA ? a[p * m + i] : a[i * k + p]
                    let y = transB ? b[j * k + p] : b[p * n + j]
                    s += Double(x) * Double(y)
                }
                let prior = beta == 0 ? 0 : Double(beta) * Double(c[i * n + j])
                out[i * n + j] = Float(Double(alpha) * s + prior)
            }
        }
        return out
    }

    func check(_ backend: CPUBackend, m: Int, n: Int, k: Int, alpha: Float, beta: Float, seed: UInt64) throws {
        var rng = Rng(state: seed)
        let a = rng.values(m * k), b = rng.values(k * n), c = rng.values(m * n)
        for transA in [false, true] {
            for transB in [false, true] {
                let ba = try backend.makeBuffer(a), bb = try backend.makeBuffer(b)
                let bc = try backend.makeBuffer(beta == 0 ? [Float](repeating: .nan, count: m * n) : c)
                backend.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                             a: ba.ref(), b: bb.ref(), beta: beta, c: bc.ref())
                let expected = naive(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: c)
                assertClose(backend.downloadFloats(bc.ref(), count: m * n), expected,
                            "\(backend.name) \(m)x\(n)x\(k) transA \(transA) transB \(transB) alpha \(alpha) beta \(beta)")
            }
        }
    }

    func testAllTransposesOddSizesSingleAndMultiThreaded() throws {
        // Past each blocking (MC 96, NC 1024, KC 256) and large enough to be split over threads.
        let sizes = [(1, 1, 1), (7, 5, 3), (37, 53, 29), (6, 16, 256), (13, 1, 70), (1, 40, 9),
                     (100, 60, 50), (8, 1030, 40), (9, 17, 300), (130, 70, 290)]
        for threads in [1, 3] {
            let backend = CPUBackend(threads: threads)
            for (i, (m, n, k)) in sizes.enumerated() {
                try check(backend, m: m, n: n, k: k, alpha: 1, beta: 0, seed: UInt64(i + 1))
                try check(backend, m: m, n: n, k: k, alpha: -0.5, beta: 1.5, seed: UInt64(i + 100))
            }
        }
    }

    func testOperandsAtOffsetsAndEmptyK() throws {
        let backend = CPUBackend(threads: 2)
        var rng = Rng(state: 7)
        let (m, n, k) = (9, 11, 5)
        let a = rng.values(3 + m * k), b = rng.values(4 + k * n)
        let ba = try backend.makeBuffer(a), bb = try backend.makeBuffer(b), bc = try backend.makeBuffer(rng.values(2 + m * n))
        backend.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: ba.ref(3), b: bb.ref(4), beta: 0, c: bc.ref(2))
        let expected = naive(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: Array(a[3...]), b: Array(b[4...]),
                             beta: 0, c: [])
        assertClose(Array(backend.downloadFloats(bc.ref(), count: 2 + m * n)[2...]), expected, "offset operands")

        // K = 0: C = beta C.
        let c = rng.values(m * n), bc2 = try backend.makeBuffer(c)
        backend.gemm(transA: false, transB: false, m: m, n: n, k: 0, alpha: 1, a: ba.ref(), b: bb.ref(), beta: 2, c: bc2.ref())
        XCTAssertEqual(backend.downloadFloats(bc2.ref(), count: m * n), c.map { 2 * $0 })
    }
}
