import Support
import XCTest
@testable import Training

final class OptimAccumulationTests: XCTestCase {
    /// The step's mean over all its target tokens, not the mean of micro-batch means.
    func testLossScaleIsOneOverAllTargetsOfTheStep() {
        let n = StepNormalization(targetCounts: [3, 7])
        XCTAssertEqual(n.totalTargets, 10)
        XCTAssertEqual(n.lossScale, 0.1)
        // Micro-batch losses summed with this scale give the token-weighted mean.
        let sums: [Float] = [3 * 2.0, 7 * 1.0]  // per-token CE 2.0 in the first, 1.0 in the second
        XCTAssertEqual(sums.reduce(0) { $0 + $1 * n.lossScale }, 1.3, accuracy: 1e-6)
        XCTAssertEqual(StepNormalization(targetCounts: [0, 0]).lossScale, 0)
    }

    func testAccumulateFP32AndBF16() {
        let n = OptimizerSegments.chunkElements * 2 + 5
        let pool = WorkerPool(threads: 2)
        defer { pool.shutdown() }
        var acc = (0..<n).map { Float($0 % 7) }
        let f32 = (0..<n).map { Float($0 % 5) * 0.5 }
        let bf16 = (0..<n).map { _ in UInt16(0x3F80) }  // 1.0
        acc.withUnsafeMutableBufferPointer { a in
            f32.withUnsafeBufferPointer { GradientAccumulation.accumulate(into: a.baseAddress!, from: .f32($0.baseAddress!), count: n, pool: pool) }
            bf16.withUnsafeBufferPointer { GradientAccumulation.accumulate(into: a.baseAddress!, from: .bf16($0.baseAddress!), count: n, pool: pool) }
        }
        XCTAssertEqual(acc, (0..<n).map { Float($0 % 7) + Float($0 % 5) * 0.5 + 1 })
    }
}
