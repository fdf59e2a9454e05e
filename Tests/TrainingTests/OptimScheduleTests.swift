import Support
import TestSupport
import XCTest
@testable import Training

/// Learning rates against transformers' schedulers (scripts/make_optim_reference.py).
final class OptimScheduleTests: XCTestCase {
    func testMatchesTransformersSchedulers() throws {
        let cases = try XCTUnwrap(readJSONFile(TestPaths.fixture("optim/schedules.json")).array)
        XCTAssertGreaterThanOrEqual(cases.count, 8)
        for c in cases {
            let schedule = LearningRateSchedule(
                kind: try XCTUnwrap(LearningRateSchedule.Kind(rawValue: c["kind"]?.string ?? "")),
                peak: try XCTUnwrap(c["peak"]?.double), warmupSteps: try XCTUnwrap(c["warmup_steps"]?.int),
                totalSteps: try XCTUnwrap(c["total_steps"]?.int), minLR: try XCTUnwrap(c["min_lr"]?.double))
            XCTAssertNoThrow(try schedule.validate())
            for (step, lr) in try XCTUnwrap(c["lrs"]?.array).enumerated() {
                let expected = try XCTUnwrap(lr.double)
                // Same double expressions as transformers (libm cos): equal up to the last bit or two.
                XCTAssertEqual(schedule.learningRate(stepsTaken: step), expected, accuracy: 4 * expected.ulp,
                               "\(schedule) step \(step)")
            }
        }
    }

    /// Linear decay to a floor has no transformers counterpart: check its defining points.
    func testLinearWithMinLRDecaysToTheFloor() {
        let s = LearningRateSchedule(kind: .linear, peak: 1e-3, warmupSteps: 2, totalSteps: 12, minLR: 1e-4)
        XCTAssertEqual(s.learningRate(stepsTaken: 0), 0)
        XCTAssertEqual(s.learningRate(stepsTaken: 1), 5e-4, accuracy: 1e-18)
        XCTAssertEqual(s.learningRate(stepsTaken: 2), 1e-3, accuracy: 1e-18)
        XCTAssertEqual(s.learningRate(stepsTaken: 7), 5.5e-4, accuracy: 1e-18)
        XCTAssertEqual(s.learningRate(stepsTaken: 12), 1e-4, accuracy: 1e-18)
        XCTAssertEqual(s.learningRate(stepsTaken: 20), 1e-4, accuracy: 1e-18)
    }

    func testValidationRejectsBadSettings() {
        XCTAssertThrowsError(try LearningRateSchedule(kind: .cosine, peak: 0, totalSteps: 10).validate())
        XCTAssertThrowsError(try LearningRateSchedule(kind: .cosine, peak: 1e-3, warmupSteps: -1, totalSteps: 10).validate())
        XCTAssertThrowsError(try LearningRateSchedule(kind: .cosine, peak: 1e-3, totalSteps: 0).validate())
        XCTAssertThrowsError(try LearningRateSchedule(kind: .cosine, peak: 1e-3, totalSteps: 10, minLR: 2e-3).validate())
    }
}
