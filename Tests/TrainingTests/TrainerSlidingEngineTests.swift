#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Support
import XCTest
import ModelFormats
@testable import Training

/// `train --engine sliding` on the CPU backend: the same metrics, checkpoints and model as the
/// resident engine, bit for bit (clipping active, 2 micro-batches per step), and a stopped and
/// resumed sliding run equals an uninterrupted one.
final class TrainerSlidingEngineTests: XCTestCase {
    private func deterministic(_ rows: [StepMetrics]) -> [String] {
        rows.map { "\($0.step) \($0.loss) \($0.lr) \($0.gradNorm) \($0.tokens)" }
    }

    private func options(_ f: TrainerFixture, output: String, engine: TrainOptions.Engine, residentLayers: Int = 0) -> TrainOptions {
        var o = f.options(output: output)
        o.engine = engine
        o.residentLayers = residentLayers
        o.maxGradNorm = 0.5
        return o
    }

    private func assertSameRun(_ f: TrainerFixture, _ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let ma = try MetricsLog.read(f.root + "/\(a)/metrics.csv"), mb = try MetricsLog.read(f.root + "/\(b)/metrics.csv")
        XCTAssertEqual(ma.count, 6, file: file, line: line)
        XCTAssertEqual(deterministic(ma), deterministic(mb), file: file, line: line)
        XCTAssertEqual(try readFileBytes(f.root + "/\(a)/model.safetensors"),
                       try readFileBytes(f.root + "/\(b)/model.safetensors"), file: file, line: line)
        XCTAssertEqual(try readFileBytes(f.root + "/\(a)/checkpoints/step-000006/optimizer.safetensors"),
                       try readFileBytes(f.root + "/\(b)/checkpoints/step-000006/optimizer.safetensors"), file: file, line: line)
    }

    func testSlidingEngineTrainsLikeTheResidentEngine() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        _ = try f.run(options(f, output: "resident", engine: .resident))
        _ = try f.run(options(f, output: "sliding", engine: .sliding))
        _ = try f.run(options(f, output: "sliding1", engine: .sliding, residentLayers: 1))
        try assertSameRun(f, "resident", "sliding")
        try assertSameRun(f, "resident", "sliding1")
        // Clipping acted on every step.
        XCTAssertTrue(try MetricsLog.read(f.root + "/resident/metrics.csv").allSatisfy { $0.gradNorm > 0.5 })
    }

    /// `--checkpoint-dtype bf16` reaches the engine: the first step's loss is the resident
    /// run's (the forward is unchanged), its gradient norm is not (the recompute read rounded
    /// layer inputs), and the plan and engine lines name the checkpoint type.
    func testBF16CheckpointsReachTheEngine() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        _ = try f.run(options(f, output: "resident", engine: .resident))
        var o = options(f, output: "bf16", engine: .sliding)
        o.checkpointType = .bf16
        var logged: [String] = []
        _ = try Trainer(options: o, log: { logged.append($0) }).run()
        let resident = try MetricsLog.read(f.root + "/resident/metrics.csv"), bf16 = try MetricsLog.read(f.root + "/bf16/metrics.csv")
        XCTAssertEqual(bf16.count, 6)
        XCTAssertEqual(bf16.first?.loss, resident.first?.loss)
        XCTAssertNotEqual(bf16.first?.gradNorm, resident.first?.gradNorm)
        XCTAssertTrue(logged.contains { $0.contains("activation checkpoints: bf16") }, "\(logged)")
        XCTAssertTrue(logged.contains { $0.contains("bf16 activation checkpoints") }, "\(logged)")
    }

    /// `--gradient-dtype bf16` and `--landing-buffers` reach the engine (one micro-batch per step:
    /// bf16 partial sums are refused): the first loss is the resident run's, later ones stay
    /// close but differ (the updates read rounded gradients), with and without clipping; the
    /// plan and engine lines name the type. With accumulation the run is refused before training.
    func testBF16GradientsAndLandingBuffersReachTheEngine() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        for clip in [0.0, 0.5] {
            var resident = options(f, output: "resident\(clip)", engine: .resident)
            resident.gradAccum = 1
            resident.maxGradNorm = clip
            _ = try f.run(resident)
            var o = options(f, output: "bf16-\(clip)", engine: .sliding)
            o.gradAccum = 1
            o.maxGradNorm = clip
            o.gradientType = .bf16
            o.landingBuffers = 3
            var logged: [String] = []
            _ = try Trainer(options: o, log: { logged.append($0) }).run()
            let a = try MetricsLog.read(f.root + "/resident\(clip)/metrics.csv")
            let b = try MetricsLog.read(f.root + "/bf16-\(clip)/metrics.csv")
            XCTAssertEqual(b.count, 6)
            XCTAssertEqual(b.first?.loss, a.first?.loss, "clip \(clip)")
            XCTAssertNotEqual(b.map(\.loss), a.map(\.loss), "clip \(clip)")
            for (x, y) in zip(b, a) { XCTAssertEqual(x.loss, y.loss, accuracy: 1e-2 * y.loss, "clip \(clip)") }
            XCTAssertTrue(logged.contains { $0.contains("gradient landing buffers (") && $0.contains("x bf16 layer)") }, "\(logged)")
            XCTAssertTrue(logged.contains { $0.contains("bf16 gradients to the host") }, "\(logged)")
        }
        var accumulating = options(f, output: "refused", engine: .sliding)
        accumulating.gradientType = .bf16
        XCTAssertThrowsError(try f.run(accumulating))
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.root + "/refused/model.safetensors"))
    }

    /// `--telemetry`: the same metrics as without it, telemetry.csv with a row per step, a
    /// telemetry line per log step.
    func testTelemetryWritesItsOwnFileAndLeavesMetricsAlone() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        _ = try f.run(options(f, output: "plain", engine: .sliding))
        var o = options(f, output: "measured", engine: .sliding)
        o.telemetry = true
        o.logEvery = 3
        var logged: [String] = []
        _ = try Trainer(options: o, log: { logged.append($0) }).run()
        XCTAssertEqual(deterministic(try MetricsLog.read(f.root + "/plain/metrics.csv")),
                       deterministic(try MetricsLog.read(f.root + "/measured/metrics.csv")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.root + "/plain/" + TelemetryLog.fileName))
        let lines = String(decoding: try readFileBytes(f.root + "/measured/" + TelemetryLog.fileName), as: UTF8.self)
            .split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, TelemetryLog.header)
        XCTAssertEqual(lines.dropFirst().map { $0.split(separator: ",").first.map(String.init) }, ["1", "2", "3", "4", "5", "6"])
        XCTAssertTrue(lines.dropFirst().allSatisfy { $0.split(separator: ",").count == 13 && !$0.contains("nan") })
        // Steps 3 and 6 log the last complete step's telemetry (2 and 5).
        XCTAssertEqual(logged.filter { $0.hasPrefix("telemetry step") }.map { $0.prefix(16) }, ["telemetry step 2", "telemetry step 5"])
    }

    func testSlidingStopAndResumeReproduceAnUninterruptedRun() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        _ = try f.run(options(f, output: "straight", engine: .sliding))
        var first = options(f, output: "resumed", engine: .sliding)
        first.stopAfter = 3
        XCTAssertEqual(try f.run(first).step, 3)
        var second = options(f, output: "resumed", engine: .sliding)
        second.resume = f.root + "/resumed"
        XCTAssertEqual(try f.run(second).step, 6)
        try assertSameRun(f, "straight", "resumed")
    }

    /// A resident layer's host moments are given back after the upload and brought back for
    /// each checkpoint: what is saved and resumed must still be the device's state.
    func testSlidingStopAndResumeWithAResidentLayer() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        _ = try f.run(options(f, output: "straight", engine: .sliding, residentLayers: 1))
        var first = options(f, output: "resumed", engine: .sliding, residentLayers: 1)
        first.stopAfter = 3
        XCTAssertEqual(try f.run(first).step, 3)
        var second = options(f, output: "resumed", engine: .sliding, residentLayers: 1)
        second.resume = f.root + "/resumed"
        XCTAssertEqual(try f.run(second).step, 6)
        try assertSameRun(f, "straight", "resumed")
        // The resident layer's moments in the final checkpoint are those of a trained state.
        let file = try SafeTensorsFile(path: f.root + "/straight/checkpoints/step-000006/optimizer.safetensors")
        let moments = file.tensors.filter { $0.name.hasPrefix("model.layers.0.exp_avg") }
        XCTAssertEqual(moments.count, 2)
        for t in moments {
            var values = [Float](repeating: 0, count: t.elementCount)
            try values.withUnsafeMutableBufferPointer { try file.readFloat32(t, into: $0) }
            XCTAssertTrue(values.contains { $0 != 0 }, "\(t.name) is all zeros")
        }
    }

    func testPlanIsCheckedBeforeAnythingIsAllocated() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        var o = options(f, output: "small", engine: .sliding)
        o.gpuMemory = 1 << 20
        XCTAssertThrowsError(try f.run(o)) { error in
            XCTAssertTrue("\(error)".contains("does not fit"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.root + "/small"), "nothing written")
        o.gpuMemory = nil
        o.window = 5
        XCTAssertThrowsError(try f.run(o))
    }

    func testAutoIsResidentOnTheCPU() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        var logged: [String] = []
        var o = f.options(output: "auto", steps: 1)
        o.engine = .auto
        _ = try Trainer(options: o, log: { logged.append($0) }).run()
        XCTAssertTrue(logged.contains { $0.hasPrefix("model on CPU") }, "\(logged)")
    }
}
