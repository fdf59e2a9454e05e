import XCTest
@testable import Training
import TestSupport

final class MetricsLogTests: XCTestCase {
    func row(_ s: Int) -> StepMetrics {
        StepMetrics(step: s, loss: 5.0 / Double(s), lr: 1e-4, gradNorm: 0.5, tokens: 1024,
                    tokensPerSecond: 2048.5, elapsedSeconds: Double(s) * 0.5)
    }

    func testResumeKeepsRowsThroughCheckpointAndRoundTrips() throws {
        let dir = try TestPaths.temporaryDirectory("metrics")
        let path = dir + "/metrics.csv"
        let log = try MetricsLog(path: path, keepThroughStep: nil)
        for s in 1...5 { log.append(row(s)) }
        try log.flush()
        XCTAssertEqual(try MetricsLog.read(path), (1...5).map(row))
        // A crash after step 5 with the last checkpoint at step 3: rows 4 and 5 are dropped.
        let resumed = try MetricsLog(path: path, keepThroughStep: 3)
        XCTAssertEqual(resumed.rows, (1...3).map(row))
        XCTAssertEqual(try MetricsLog.read(path).count, 3)
    }

    func testMalformedRowNamesFileAndLine() throws {
        let dir = try TestPaths.temporaryDirectory("metrics")
        let path = dir + "/metrics.csv"
        try (MetricsLog.header + "\n1,2,3\n").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try MetricsLog.read(path)) { e in
            XCTAssertTrue("\(e)".contains("metrics.csv: line 2"), "\(e)")
        }
    }

    func testLossPlotHasOnePointPerStep() {
        let svg = LossPlot.svg(steps: [1, 2, 3], losses: [3.0, 2.0, 1.5])
        XCTAssertTrue(svg.hasPrefix("<svg"))
        let points = svg.split(separator: "points=\"")[1].split(separator: "\"")[0].split(separator: " ")
        XCTAssertEqual(points.count, 3)
    }

    func testProgressLine() {
        let line = ProgressReporter.line(row(12), totalSteps: 300, secondsPerStep: 0.5, tflops: nil)
        XCTAssertEqual(line, "step 12/300  loss 0.4167  lr 1.00e-04  grad-norm 0.500  2,049 tok/s  ETA 2:24")
    }
}
