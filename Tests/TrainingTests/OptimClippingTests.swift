import Support
import XCTest
@testable import Training

/// Clipping pieces beyond the torch comparison in OptimAdamWTests.
final class OptimClippingTests: XCTestCase {
    func testSumOfSquaresIsFP64AndIndependentOfThreads() {
        let n = 2 * OptimizerSegments.chunkElements + 999
        var rng = SplitMix64(seed: 3)
        let g = (0..<n).map { _ in rng.normal() }
        let segments = OptimizerSegments([DecaySegment(0..<100, decays: true), DecaySegment(100..<n, decays: false)])
        let expected = g.reduce(0.0) { $0 + Double($1) * Double($1) }
        var results: [Double] = []
        for threads in [1, 2, 5] {
            let pool = WorkerPool(threads: threads)
            results.append(g.withUnsafeBufferPointer { GradientClipping.sumOfSquares($0.baseAddress!, segments: segments, pool: pool) })
            pool.shutdown()
        }
        XCTAssertEqual(results[0], results[1])
        XCTAssertEqual(results[0], results[2])
        XCTAssertEqual(results[0], expected, accuracy: 1e-12 * expected)
    }

    func testCoefficient() {
        XCTAssertEqual(GradientClipping.coefficient(totalNorm: 100, maxNorm: 0), 1, "max norm 0 turns clipping off")
        XCTAssertEqual(GradientClipping.coefficient(totalNorm: 0.5, maxNorm: 1), 1, "never scales up")
        XCTAssertEqual(GradientClipping.coefficient(totalNorm: 4, maxNorm: 1), 0.25, accuracy: 1e-7)
        XCTAssertEqual(GradientClipping.totalNorm(sumsOfSquares: [9, 16]), 5)
    }
}
