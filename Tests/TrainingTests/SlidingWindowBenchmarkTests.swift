import Backends
import ModelFormats
import Support
import XCTest
@testable import Training

/// `bench sliding` on the CPU backend (a 3-layer model, no files): the result carries TFLOP/s
/// by the three counts of `TrainingBenchmark.flopsPerToken` for the same step time, and the
/// JSON has each of them.
final class SlidingWindowBenchmarkTests: XCTestCase {
    func testThroughputByTheThreeFlopCounts() throws {
        let config = SlidingWindowEngineTests.config(layers: 3)
        let bench = try SlidingWindowBenchmark(config: config, batch: 2, seqLen: 12, steps: 2, warmup: 1, window: 2,
                                               gpuBudget: nil, computeOnly: .skip, memcpyBytes: 1 << 20)
        let device = ComputeDevice(backend: CPUBackend(threads: 1), storage: .f32, description: "cpu")
        let r = try bench.run(device: device, log: { _ in })
        let counts = TrainingBenchmark.flopsPerToken(config, seqLen: 12, parameters: r.parameters)
        XCTAssertEqual(r.tflops.map(\.name), ["6N", "6N+attn", "Megatron"])
        for (measured, count) in zip(r.tflops, counts) {
            XCTAssertEqual(measured.value, count.value * Double(r.tokensPerStep) / r.secondsPerStep / 1e12,
                           accuracy: 1e-12 * max(1, measured.value), measured.name)
        }
        let json = try JSON.parse(r.json.serialized())
        XCTAssertEqual(json["tflops_6n"]?.double, r.tflops[0].value)
        XCTAssertEqual(json["tflops_6n_attn"]?.double, r.tflops[1].value)
        XCTAssertEqual(json["tflops_megatron"]?.double, r.tflops[2].value)
    }
}
