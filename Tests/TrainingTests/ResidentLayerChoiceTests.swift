import Backends
import ModelFormats
import TestSupport
import XCTest
@testable import Training

/// `--resident-layers auto` by its bound model, the 1.5B Llama shape (16 layers of P =
/// 60,821,504 parameters; embedding and LM head 262,668,288 each) at the nominal rates (400
/// TFLOP/s, a host AdamW of 4 Gparam/s: a = P / R = 15.205 ms per layer), and on measured ones.
final class ResidentLayerChoiceTests: XCTestCase {
    private static let shape = try! ModelConfig.load(path: TestPaths.packageRoot + "/bench/configs/llama-1.5b.json")

    private static func nominal(_ batchSize: Int) -> ResidentLayerRates {
        .nominal(config: shape, tokens: batchSize * 1024)
    }

    /// 8×1024 without clipping: forward f = 2PN/F = 2.491 ms, backward b = 3f per layer. With the
    /// embedding / LM head on the GPU, (16 − M)·a ≤ 15·b + M·f gives M ≥ 7.41 → 8; on the host
    /// their AdamW (65.67 ms each) adds to the left side: M ≥ 14.83 → 15.
    func testHostUpdatedEmbeddingAndHeadCount() {
        func choice(_ placement: ModelLevelPlacement) -> Int {
            ResidentLayerChoice.choose(config: Self.shape, batchSize: 8, seqLen: 1024, gradAccum: 1, clipping: false,
                                       gpuBudget: nil, hostBudget: nil, rates: Self.nominal(8), modelLevel: placement).layers
        }
        XCTAssertEqual(choice(.gpu), 8)
        XCTAssertEqual(choice(.host), 15)
    }

    /// 32×1024 with clipping (f = 9.965 ms): every streamed layer j's update must end before the
    /// forward reaches it, (j − M + 1)·a ≤ j·f, worst at j = 15: M ≥ 6.17 → 7 (the count the
    /// H100 run chose and measured at 99.6 % of unclipped throughput).
    func testClippingNeedsEachUpdateBeforeItsForward() {
        let r = ResidentLayerChoice.choose(config: Self.shape, batchSize: 32, seqLen: 1024, gradAccum: 1, clipping: true,
                                           gpuBudget: nil, hostBudget: nil, rates: Self.nominal(32), modelLevel: .gpu)
        XCTAssertEqual(r.layers, 7)
        XCTAssertTrue(r.reason.hasPrefix("the smallest that hides"), r.reason)
    }

    /// A GPU with room for 3 weight slots beside the rest (a resident layer costs 18 B/param,
    /// 9 slots' worth): far from the 15 that would hide the AdamW, so the least host work, here the
    /// most that fit (an AdamW of a layer outweighs the upload of 9 slots' worth), saying so.
    func testTheLeastHostWorkWhenNoneHides() {
        let all = MemoryPlanner.plan(config: Self.shape, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                     modelLevel: .host)
        let slot = MemoryPlanner.weightSlotBytes(ModelLayout(Self.shape))
        let budget = all.gpuPeakBytes - 13 * slot
        let r = ResidentLayerChoice.choose(config: Self.shape, batchSize: 8, seqLen: 1024, gradAccum: 1, clipping: false,
                                           gpuBudget: budget, hostBudget: nil, rates: Self.nominal(8), modelLevel: .host)
        XCTAssertLessThan(r.layers, 15)
        XCTAssertTrue(r.reason.hasPrefix("none hides"), r.reason)
        XCTAssertTrue(MemoryPlanner.plan(config: Self.shape, batchSize: 8, seqLen: 1024, gpuBudget: budget, hostBudget: nil,
                                         residentLayers: r.layers, modelLevel: .host).fits)
        XCTAssertFalse(MemoryPlanner.plan(config: Self.shape, batchSize: 8, seqLen: 1024, gpuBudget: budget, hostBudget: nil,
                                          residentLayers: r.layers + 1, modelLevel: .host).fits)
    }

    /// The 8B shape at 8×1024 with 78.6 GiB and the rates measured on the H100 (forward 5.46,
    /// recompute + backward 15.89 ms per layer, 5.15 Gparam/s, 54.8 GB/s): a = 42.35 ms per
    /// layer, the embedding's and the head's AdamW e = h = 102.0 ms, u = 15.92 ms. None hides the
    /// AdamW ((32 − M)·a + e + h > 31·b + M·f for every M that fits), so the least host work:
    /// 17 resident layers leave a window of all 15 with the embedding and head streamed (on the
    /// host they would leave 11: 15a + 2·102 + 4u = 903 ms; streamed 15a + 204 = 839 ms), 18 a
    /// window of all 14 (14a + 204 = 797 ms), 19 one of 10 of 13 (13a + 204 + 3u = 802 ms): 18,
    /// not the most that fit.
    func testFewerResidentLayersWhenTheyKeepTheWindow() throws {
        let shape = try ModelConfig.load(path: TestPaths.packageRoot + "/bench/configs/llama-8b.json")
        let budget = Int(78.6 * Double(1 << 30))
        let rates = ResidentLayerRates(layerForward: 5.46e-3, layerBackward: 15.89e-3, hostAdamW: 5.15e9,
                                       hostToDevice: 54.8e9, source: "measured")
        let r = ResidentLayerChoice.choose(config: shape, batchSize: 8, seqLen: 1024, gradAccum: 1, clipping: false,
                                           gpuBudget: budget, hostBudget: nil, rates: rates)
        XCTAssertEqual(r.layers, 18, r.reason)
        XCTAssertTrue(r.reason.hasPrefix("none hides"), r.reason)
        func plan(_ m: Int) -> SlidingWindowPlan {
            MemoryPlanner.plan(config: shape, batchSize: 8, seqLen: 1024, gpuBudget: budget, hostBudget: nil,
                               residentLayers: m)
        }
        XCTAssertEqual(plan(17).window, 15)
        XCTAssertEqual(plan(17).modelLevel, .streamed)
        XCTAssertEqual(MemoryPlanner.plan(config: shape, batchSize: 8, seqLen: 1024, gpuBudget: budget, hostBudget: nil,
                                          residentLayers: 17, modelLevel: .host).window, 11)
        XCTAssertEqual(plan(18).window, 14)
        XCTAssertEqual(plan(18).modelLevel, .streamed)
        XCTAssertEqual(plan(19).window, 10)
        XCTAssertTrue(plan(19).fits)
    }

    /// The rates decide (8×1024, no clipping: (16 − M)·a ≤ 15·b + M·f): where the nominal rates
    /// need 8, a host AdamW twice as fast (a = 7.603 ms) needs M ≥ 0.95 → 1, and a GPU three
    /// times as slow (f = 7.474, b = 22.42 ms) hides the nominal AdamW with none (243.3 ≤ 336.3).
    func testMeasuredRatesMoveTheChoice() {
        func choice(_ rates: ResidentLayerRates) -> (layers: Int, reason: String) {
            ResidentLayerChoice.choose(config: Self.shape, batchSize: 8, seqLen: 1024, gradAccum: 1, clipping: false,
                                       gpuBudget: nil, hostBudget: nil, rates: rates, modelLevel: .gpu)
        }
        var fasterHost = Self.nominal(8)
        fasterHost.hostAdamW *= 2
        fasterHost.source = "measured"
        XCTAssertEqual(choice(fasterHost).layers, 1)
        XCTAssertTrue(choice(fasterHost).reason.contains("measured"), choice(fasterHost).reason)
        var slowerGPU = Self.nominal(8)
        slowerGPU.layerForward *= 3
        slowerGPU.layerBackward *= 3
        XCTAssertEqual(choice(slowerGPU).layers, 0)
    }

    /// On the CPU backend the measurement runs too: a layer's forward and recompute + backward of
    /// a 2×12 micro-batch (the backward recomputes the forward, so it takes longer), a host AdamW
    /// rate, and the nominal upload bandwidth (no pinned copies there).
    func testMeasurementOnTheCPUBackend() throws {
        let config = SlidingWindowEngineTests.config(layers: 1)
        let rates = try ResidentLayerRates.measure(config: config, batchSize: 2, seqLen: 12, storage: .f32,
                                                   mlpChunkTokens: 8, bf16Gradients: false,
                                                   backend: CPUBackend(threads: 1))
        XCTAssertGreaterThan(rates.layerForward, 0)
        XCTAssertGreaterThan(rates.layerBackward, rates.layerForward)
        XCTAssertTrue(rates.hostAdamW.isFinite && rates.hostAdamW > 0)
        XCTAssertEqual(rates.hostToDevice, ResidentLayerRates.nominal(config: config, tokens: 24).hostToDevice)
        XCTAssertEqual(rates.source, "measured, nominal upload")
    }
}
