#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ModelFormats
import Support
import XCTest
@testable import Training

final class TrainerResumeTests: XCTestCase {
    /// The fields a resumed run must reproduce exactly (time-dependent ones excluded).
    private func deterministic(_ rows: [StepMetrics]) -> [String] {
        rows.map { "\($0.step) \($0.loss) \($0.lr) \($0.gradNorm) \($0.tokens)" }
    }

    func testStopAndResumeReproduceAnUninterruptedRun() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        // 6 steps of 2 micro-batches of 2x16 cross epoch boundaries (the data has ~7 micro-batches per epoch).
        let straight = try f.run(f.options(output: "straight"))
        XCTAssertEqual(straight.step, 6)
        XCTAssertFalse(straight.stoppedEarly)

        var first = f.options(output: "resumed")
        first.stopAfter = 3
        let stopped = try f.run(first)
        XCTAssertTrue(stopped.stoppedEarly)
        XCTAssertEqual(stopped.step, 3)
        XCTAssertEqual(stopped.checkpoint, f.root + "/resumed/checkpoints/step-000003")
        XCTAssertEqual(try MetricsLog.read(f.root + "/resumed/metrics.csv").count, 3)

        var second = f.options(output: "resumed")
        second.resume = f.root + "/resumed"
        let resumed = try f.run(second)
        XCTAssertEqual(resumed.step, 6)

        let a = try MetricsLog.read(f.root + "/straight/metrics.csv")
        let b = try MetricsLog.read(f.root + "/resumed/metrics.csv")
        XCTAssertEqual(a.count, 6)
        XCTAssertEqual(deterministic(a), deterministic(b))
        // Elapsed time continues across the restart.
        XCTAssertGreaterThanOrEqual(b[3].elapsedSeconds, b[2].elapsedSeconds)
        // Same final weights, bit for bit.
        XCTAssertEqual(try readFileBytes(f.root + "/straight/model.safetensors"),
                       try readFileBytes(f.root + "/resumed/model.safetensors"))
        XCTAssertEqual(try readFileBytes(f.root + "/straight/checkpoints/step-000006/optimizer.safetensors"),
                       try readFileBytes(f.root + "/resumed/checkpoints/step-000006/optimizer.safetensors"))
    }

    func testResumeFromACheckpointFolderTruncatesLaterMetrics() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        var o = f.options(output: "out")
        o.saveEvery = 2
        _ = try f.run(o)
        // Only the newest two checkpoints are kept.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: f.root + "/out/checkpoints").sorted(),
                       ["step-000004", "step-000006"])
        let full = try MetricsLog.read(f.root + "/out/metrics.csv")

        o.resume = f.root + "/out/checkpoints/step-000004"
        let again = try f.run(o)
        XCTAssertEqual(again.step, 6)
        let rows = try MetricsLog.read(f.root + "/out/metrics.csv")
        XCTAssertEqual(deterministic(rows), deterministic(full))
    }

    func testResumeWithDifferentSettingsIsRefused() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        var o = f.options(output: "out")
        o.stopAfter = 1
        _ = try f.run(o)
        o.resume = f.root + "/out"
        o.learningRate = 5e-3
        XCTAssertThrowsError(try f.run(o)) { error in
            XCTAssertTrue("\(error)".contains("--lr was 0.01"), "\(error)")
        }
        o.learningRate = 1e-2
        o.resume = f.root + "/nothing-here"
        XCTAssertThrowsError(try f.run(o)) { error in
            XCTAssertTrue("\(error)".contains("no checkpoint here"), "\(error)")
        }
    }

    func testFreshRunRefusesAFolderWithCheckpoints() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        var o = f.options(output: "out", steps: 2)
        _ = try f.run(o)
        XCTAssertThrowsError(try f.run(o)) { error in
            XCTAssertTrue("\(error)".contains("already holds checkpoints"), "\(error)")
        }
        // A finished run resumed does nothing more and keeps its metrics.
        o.resume = f.root + "/out"
        XCTAssertEqual(try f.run(o).step, 2)
        XCTAssertEqual(try MetricsLog.read(f.root + "/out/metrics.csv").count, 2)
    }
}
