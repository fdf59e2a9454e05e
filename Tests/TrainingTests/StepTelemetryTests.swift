import Backends
import ModelFormats
import Support
import TestSupport
import XCTest
@testable import Training

final class StepTelemetryTests: XCTestCase {
    /// Synthetic step of 10 ms: compute 0-2 (nothing waited), 3-5 (after an H2D that ended at 3),
    /// 5.5-7 (after AdamW), 8-9 (after a D2H); tail 9-10.
    func testBreakdownFromSyntheticSpans() {
        let spans = [
            TimedSpan(track: .compute, startMilliseconds: 0.5, endMilliseconds: 2),
            TimedSpan(track: .hostToDevice, startMilliseconds: 1, endMilliseconds: 3, bytes: 4_000_000),
            TimedSpan(track: .compute, startMilliseconds: 3, endMilliseconds: 5, wait: .hostToDevice),
            TimedSpan(track: .optimizer, startMilliseconds: 2, endMilliseconds: 5.4, layer: 1),
            TimedSpan(track: .compute, startMilliseconds: 5.5, endMilliseconds: 7, wait: .optimizer),
            TimedSpan(track: .deviceToHost, startMilliseconds: 7, endMilliseconds: 8, bytes: 1_000_000),
            TimedSpan(track: .compute, startMilliseconds: 8, endMilliseconds: 9, wait: .deviceToHost),
        ]
        let t = StepTelemetry(step: 3, stepMilliseconds: 10, spans: spans)
        XCTAssertEqual(t.computeMilliseconds, 1.5 + 2 + 1.5 + 1)
        XCTAssertEqual(t.gpuBusyFraction, 0.6, accuracy: 1e-12)
        XCTAssertEqual(t.hostToDeviceGBps, 2.0, accuracy: 1e-12)   // 4 MB in 2 ms
        XCTAssertEqual(t.deviceToHostGBps, 1.0, accuracy: 1e-12)   // 1 MB in 1 ms
        XCTAssertEqual(t.optimizerMilliseconds, 3.4, accuracy: 1e-12)
        XCTAssertEqual(t.exposedHostToDeviceMilliseconds, 1, accuracy: 1e-12)
        XCTAssertEqual(t.exposedOptimizerMilliseconds, 0.5, accuracy: 1e-12)
        XCTAssertEqual(t.exposedDeviceToHostMilliseconds, 1, accuracy: 1e-12)
        XCTAssertEqual(t.exposedOtherMilliseconds, 0.5 + 1, accuracy: 1e-12)   // the lead and the tail
        XCTAssertEqual(t.exposedMilliseconds, t.stepMilliseconds - t.computeMilliseconds, accuracy: 1e-12)

        let m = StepTelemetry.mean([t, StepTelemetry(step: 4, stepMilliseconds: 20)])
        XCTAssertEqual(m?.step, 4)
        XCTAssertEqual(m?.stepMilliseconds, 15)
        XCTAssertEqual(m?.hostToDeviceBytes, 2_000_000)
        XCTAssertNil(StepTelemetry.mean([]))
    }

    func testBoundsAndRatio() {
        var b = StepBounds(computeOnlyMilliseconds: 100, optimizerBytes: 30_000_000_000, memcpyBytesPerSecond: 150e9,
                           hostToDeviceBytes: 5_500_000_000, deviceToHostBytes: 11_000_000_000,
                           pinnedHostToDeviceBytesPerSecond: 55e9, pinnedDeviceToHostBytesPerSecond: 55e9)
        XCTAssertEqual(b.optimizerMilliseconds, 200, accuracy: 1e-9)
        XCTAssertEqual(b.transferMilliseconds!, 200, accuracy: 1e-9)   // the slower direction: D2H
        XCTAssertEqual(b.ratio(stepMilliseconds: 210), 1.05, accuracy: 1e-12)
        XCTAssertEqual(b.hostMemoryMilliseconds, 310, accuracy: 1e-9)   // 46.5 GB at 150 GB/s
        XCTAssertEqual(b.json["host_memory_ms"]?.double ?? 0, 310, accuracy: 1e-9)
        b.pinnedHostToDeviceBytesPerSecond = nil
        b.computeOnlyMilliseconds = 300
        XCTAssertNil(b.transferMilliseconds)
        XCTAssertEqual(b.maxMilliseconds, 300)
        XCTAssertEqual(b.json["pcie_ms"], .null)
        XCTAssertEqual(b.json["compute_only_ms"]?.double, 300)
    }

    func testChromeTraceSchema() throws {
        let spans = [TimedSpan(track: .compute, startMilliseconds: 0.25, endMilliseconds: 1.5, wait: .hostToDevice),
                     TimedSpan(track: .hostToDevice, startMilliseconds: 0, endMilliseconds: 0.25, bytes: 64),
                     TimedSpan(track: .optimizer, startMilliseconds: 1, endMilliseconds: 2, layer: 3)]
        let parsed = try JSON.parse(ChromeTrace.json(spans).serialized())
        let events = try XCTUnwrap(parsed["traceEvents"]?.array)
        let names = events.filter { $0["ph"]?.string == "M" }.compactMap { $0["args"]?["name"]?.string }
        XCTAssertEqual(names, ["compute", "H2D", "D2H", "AdamW"])
        let x = events.filter { $0["ph"]?.string == "X" }
        XCTAssertEqual(x.count, 3)
        XCTAssertEqual(x[0]["ts"]?.double, 250)
        XCTAssertEqual(x[0]["dur"]?.double, 1250)
        XCTAssertEqual(x[0]["tid"]?.int, 1)
        XCTAssertEqual(x[0]["args"]?["waited_for"]?.string, "H2D")
        XCTAssertEqual(x[1]["tid"]?.int, 2)
        XCTAssertEqual(x[1]["args"]?["bytes"]?.int, 64)
        XCTAssertEqual(x[2]["name"]?.string, "AdamW layer 3")
        XCTAssertEqual(x[2]["tid"]?.int, 4)
    }

    /// The engine on the CPU: each step's telemetry is complete one step later (or after a
    /// drain), its bytes are the step's copies, and the exposed waits add up.
    func testEngineFillsTelemetryPerStep() throws {
        let config = SlidingWindowEngineTests.config(layers: 3)
        let backend = CPUBackend(threads: 2)
        let host = HostTrainingState(masters: TrainingBenchmark.randomWeights(config, pool: .shared))
        let (batch, seqLen) = (2, 8)
        let engine = try SlidingWindowEngine(host: host, backend: backend, storage: .f32, window: 3, landingBuffers: 1,
                                             maxBatch: batch, maxSeqLen: seqLen,
                                             hyperparameters: AdamWHyperparameters(weightDecay: 0.1), measure: true)
        defer { engine.drain() }
        let ids = (0..<(batch * seqLen)).map { Int32($0 % config.vocabSize) }
        _ = try engine.step(inputIds: ids, labels: ids, batch: batch, seqLen: seqLen, learningRate: 1e-3)
        XCTAssertNil(engine.telemetry)
        _ = try engine.step(inputIds: ids, labels: ids, batch: batch, seqLen: seqLen, learningRate: 1e-3)
        XCTAssertEqual(engine.telemetry?.step, 1)
        engine.drain()
        let t = try XCTUnwrap(engine.telemetry)
        XCTAssertEqual(t.step, 2)
        let layout = ModelLayout(config)
        // A layer moves as its whole flat buffer (alignment padding included); the model-level
        // tensors move unpadded.
        let count = layout.layer.count, checkpoint = batch * seqLen * config.hiddenSize * 4
        let modelLevel = layout.embedding.count + layout.finalNorm.count + (layout.lmHead?.count ?? 0)
        // f32 storage on the CPU: each way 2 checkpoints, every layer (new weights up, gradients down)
        // and the host-updated embedding / final norm / LM head, so both directions move the same bytes.
        XCTAssertEqual(t.hostToDeviceBytes, t.deviceToHostBytes)
        XCTAssertEqual(t.deviceToHostBytes, 2 * checkpoint + 3 * count * 4 + modelLevel * 4)
        XCTAssertGreaterThan(t.computeMilliseconds, 0)
        XCTAssertGreaterThan(t.optimizerMilliseconds, 0)
        XCTAssertEqual(t.exposedMilliseconds, t.stepMilliseconds - t.computeMilliseconds, accuracy: 1e-6)
        let spans = engine.telemetrySpans
        let updates = spans.filter { $0.track == .optimizer && $0.layer >= 0 }
        XCTAssertGreaterThan(spans.filter { $0.track == .optimizer && $0.layer < 0 }.count, 0)
        XCTAssertEqual(updates.map(\.layer), [0, 1, 2])
        XCTAssertLessThan(updates[2].startMilliseconds, updates[0].startMilliseconds)   // gradients land last layer first
    }
}
