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
}
