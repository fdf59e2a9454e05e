import Backends
import ModelFormats
import XCTest
@testable import Training

/// The sliding-window engine against resident training on `LaggingQueuesBackend`: the CPU
/// backend's ops, with the copies (or the ops) held until an event forces them, as a GPU's
/// queues may lag behind each other. Any ordering the engine leaves to luck (an op overwriting
/// a buffer a copy still reads, the AdamW thread writing masters a copy still reads, a copy
/// overwriting a slot an op still reads, a read of a copy's destination too early) changes the
/// result, so the runs must stay identical.
final class SlidingWindowOrderingTests: XCTestCase {
    private func assertIdentical(_ config: ModelConfig, window: Int, residentLayers: Int = 0, microBatches: Int = 1,
                                 maxGradNorm: Double = 0, modelLevel: ModelLevelPlacement,
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        for lagging in [LaggingQueuesBackend.Lagging.copies, .compute] {
            try assertIdentical(config, window: window, residentLayers: residentLayers, microBatches: microBatches,
                                maxGradNorm: maxGradNorm, modelLevel: modelLevel, lagging: lagging,
                                file: file, line: line)
        }
    }

    private func assertIdentical(_ config: ModelConfig, window: Int, residentLayers: Int, microBatches: Int,
                                 maxGradNorm: Double, modelLevel: ModelLevelPlacement, lagging: LaggingQueuesBackend.Lagging,
                                 file: StaticString, line: UInt) throws {
        let backend = LaggingQueuesBackend(cpu: CPUBackend(threads: 2), lagging: lagging)
        let parity = SlidingWindowParity(config: config, batch: 2, seqLen: 12, steps: 3, window: window,
                                         residentLayers: residentLayers, modelLevel: modelLevel,
                                         microBatches: microBatches, maxGradNorm: maxGradNorm, learningRate: 1e-2)
        let r = try parity.run(backend: backend, storage: .f32)
        let what = "window \(window), \(residentLayers) resident, \(microBatches) micro-batches, clip \(maxGradNorm), "
            + "model level \(modelLevel.rawValue), \(lagging) lagging"
        XCTAssertEqual(r.residentLosses, r.slidingLosses, what, file: file, line: line)
        XCTAssertEqual(r.residentNorms, r.slidingNorms, what, file: file, line: line)
        XCTAssertEqual(r.maxMasterDifference, 0, what, file: file, line: line)
        XCTAssertGreaterThan(backend.mostHeld, 1, "work was held", file: file, line: line)
    }

    /// Windows 1 (behind resident layers), 2 and every layer × clipping × accumulation × both
    /// placements of the embedding / final norm / LM head.
    func testParityWithLaggingCopies() throws {
        for modelLevel in [ModelLevelPlacement.host, .gpu] {
            for clip in [0.0, 0.05] {
                for microBatches in [1, 2] {
                    let c = SlidingWindowEngineTests.config(layers: 4)
                    try assertIdentical(c, window: 2, microBatches: microBatches, maxGradNorm: clip,
                                        modelLevel: modelLevel)
                    try assertIdentical(c, window: 4, microBatches: microBatches, maxGradNorm: clip,
                                        modelLevel: modelLevel)
                    try assertIdentical(SlidingWindowEngineTests.config(layers: 3), window: 1, residentLayers: 2,
                                        microBatches: microBatches, maxGradNorm: clip, modelLevel: modelLevel)
                }
            }
        }
    }

    /// Tied embeddings (Qwen3) and an embedding / LM head updated in 3 host parts each.
    func testTiedAndPartedModelLevelWithLaggingCopies() throws {
        try assertIdentical(SlidingWindowEngineTests.config(layers: 4, qwen3: true, tied: true), window: 2,
                            residentLayers: 1, modelLevel: .host)
        for tied in [false, true] {
            var config = SlidingWindowEngineTests.config(layers: 3, tied: tied)
            config.vocabSize = 600
            try assertIdentical(config, window: 2, modelLevel: .host)
            try assertIdentical(config, window: 2, microBatches: 2, maxGradNorm: 0.05, modelLevel: .host)
        }
    }
}
