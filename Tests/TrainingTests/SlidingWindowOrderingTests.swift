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
                                 maxGradNorm: Double = 0, modelLevel: ModelLevelPlacement, deferredGradients: Int = 0,
                                 landingBuffers: Int = 2, file: StaticString = #filePath, line: UInt = #line) throws {
        for lagging in [LaggingQueuesBackend.Lagging.copies, .compute] {
            try assertIdentical(config, window: window, residentLayers: residentLayers, microBatches: microBatches,
                                maxGradNorm: maxGradNorm, modelLevel: modelLevel, deferredGradients: deferredGradients,
                                landingBuffers: landingBuffers, lagging: lagging, file: file, line: line)
        }
    }

    private func assertIdentical(_ config: ModelConfig, window: Int, residentLayers: Int, microBatches: Int,
                                 maxGradNorm: Double, modelLevel: ModelLevelPlacement, deferredGradients: Int,
                                 landingBuffers: Int, lagging: LaggingQueuesBackend.Lagging, file: StaticString,
                                 line: UInt) throws {
        let backend = LaggingQueuesBackend(cpu: CPUBackend(threads: 2), lagging: lagging)
        let parity = SlidingWindowParity(config: config, batch: 2, seqLen: 12, steps: 3, window: window,
                                         residentLayers: residentLayers, modelLevel: modelLevel,
                                         deferredGradients: deferredGradients, landingBuffers: landingBuffers,
                                         microBatches: microBatches, maxGradNorm: maxGradNorm, learningRate: 1e-2)
        let r = try parity.run(backend: backend, storage: .f32)
        let what = "window \(window), \(residentLayers) resident, \(microBatches) micro-batches, clip \(maxGradNorm), "
            + "model level \(modelLevel.rawValue), \(deferredGradients) deferred, \(landingBuffers) landing, \(lagging) lagging"
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

    /// One micro-batch without clipping, updates running on into the next forward: deferred
    /// gradients (the last layers' cross during it: 1 or 3 of 4 layers) or more landing buffers (a
    /// ring of 3, one per layer; ordered by the next forward's needs). Windows 2 and 4, both
    /// placements of the embedding / final norm / LM head, and behind a resident layer.
    func testUpdatesIntoTheNextForwardWithLaggingQueues() throws {
        let c = SlidingWindowEngineTests.config(layers: 4)
        for placement in [ModelLevelPlacement.host, .gpu] {
            for (deferred, landing) in [(1, 2), (3, 2), (0, 3), (0, 4)] {
                for window in [2, 4] {
                    try assertIdentical(c, window: window, modelLevel: placement, deferredGradients: deferred,
                                        landingBuffers: landing)
                }
            }
            try assertIdentical(c, window: 2, residentLayers: 1, modelLevel: placement, deferredGradients: 3)
            try assertIdentical(c, window: 2, residentLayers: 1, modelLevel: placement, landingBuffers: 3)
        }
    }

    /// Deferred gradients with the streamed embedding / LM head.
    func testStreamedDeferredGradientsWithLaggingQueues() throws {
        let c = SlidingWindowEngineTests.config(layers: 4)
        // Streamed (4 vocabulary chunks): its chunked cross-entropy rounds unlike resident
        // training's, so the reference is the same engine on the plain CPU backend.
        var wide = c
        wide.vocabSize = 600
        for (window, resident) in [(2, 0), (2, 1)] {
            let parity = SlidingWindowParity(config: wide, batch: 2, seqLen: 12, steps: 3, window: window,
                                             residentLayers: resident, modelLevel: .streamed, deferredGradients: 2,
                                             learningRate: 1e-2)
            let reference = try parity.runSliding(backend: CPUBackend(threads: 2), storage: .f32)
            for lagging in [LaggingQueuesBackend.Lagging.copies, .compute] {
                let r = try parity.runSliding(backend: LaggingQueuesBackend(cpu: CPUBackend(threads: 2), lagging: lagging),
                                              storage: .f32)
                XCTAssertEqual(r.losses, reference.losses, "streamed, window \(window), \(resident) resident, \(lagging)")
                XCTAssertEqual(r.norms, reference.norms, "streamed, window \(window), \(resident) resident, \(lagging)")
                XCTAssertTrue(zip(r.masters.namedTensors, reference.masters.namedTensors).allSatisfy { $0.values.elementsEqual($1.values) },
                              "streamed masters, window \(window), \(resident) resident, \(lagging)")
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

    /// bf16 checkpoints (rounded into and widened from 2 device staging buffers on the compute
    /// queue): the engine on lagging queues against the same engine on the plain CPU backend,
    /// where everything runs at once (bf16 checkpoints change the results against resident
    /// training, so that is the reference). Windows 2 and every layer, 1 behind resident layers,
    /// clipping with accumulation, both model-level placements. Each event of the bf16 path was
    /// checked by removing it: every removal fails this test.
    func testBF16CheckpointsWithLaggingQueues() throws {
        let four = SlidingWindowEngineTests.config(layers: 4)
        let cases: [(ModelConfig, window: Int, resident: Int, microBatches: Int, clip: Double, modelLevel: ModelLevelPlacement)] = [
            (four, 2, 0, 1, 0, .host), (four, 4, 0, 1, 0, .gpu), (four, 2, 0, 2, 0.05, .host),
            (SlidingWindowEngineTests.config(layers: 3), 1, 2, 2, 0.05, .gpu),
            // Layers 1 and 2 resident: no gradient copy forces the compute queue between the
            // widening of x_2 and the H2D of x_0 into the same staging buffer.
            (four, 1, 3, 1, 0, .host),
        ]
        for c in cases {
            let parity = SlidingWindowParity(config: c.0, batch: 2, seqLen: 12, steps: 3, window: c.window,
                                             residentLayers: c.resident, modelLevel: c.modelLevel,
                                             checkpointType: .bf16, microBatches: c.microBatches, maxGradNorm: c.clip,
                                             learningRate: 1e-2)
            let reference = try parity.runSliding(backend: CPUBackend(threads: 2), storage: .f32)
            for lagging in [LaggingQueuesBackend.Lagging.copies, .compute] {
                let backend = LaggingQueuesBackend(cpu: CPUBackend(threads: 2), lagging: lagging)
                let r = try parity.runSliding(backend: backend, storage: .f32)
                let what = "window \(c.window), \(c.resident) resident, \(c.microBatches) micro-batches, clip \(c.clip), "
                    + "model level \(c.modelLevel.rawValue), \(lagging) lagging"
                XCTAssertEqual(r.losses, reference.losses, what)
                XCTAssertEqual(r.norms, reference.norms, what)
                for (a, b) in zip(r.masters.namedTensors, reference.masters.namedTensors) {
                    XCTAssertTrue(a.values.elementsEqual(b.values), "\(a.name), \(what)")
                }
                XCTAssertGreaterThan(backend.mostHeld, 1, "work was held")
            }
        }
    }

    /// bf16 host-bound gradients (rounded into a device scratch on the D2H queue, piece by piece):
    /// the engine on lagging queues against the same engine on the plain CPU backend (bf16
    /// gradients change the results against resident training). A ring of 2 and of 3, one landing
    /// buffer per layer with clipping, behind a resident layer, both model-level placements and
    /// streamed; the CPU run against an f32-gradient run: close, not equal.
    func testBF16GradientsWithLaggingQueues() throws {
        let four = SlidingWindowEngineTests.config(layers: 4)
        var wide = four
        wide.vocabSize = 600
        let cases: [(ModelConfig, window: Int, resident: Int, landing: Int, clip: Double, modelLevel: ModelLevelPlacement)] = [
            (four, 2, 0, 2, 0, .host), (four, 4, 0, 3, 0, .gpu), (four, 2, 0, 4, 0.05, .host),
            (four, 2, 1, 2, 0, .gpu), (wide, 2, 0, 2, 0, .streamed), (wide, 2, 0, 16, 0, .streamed),
        ]
        for c in cases {
            func parity(_ gradientType: GradientElementType) -> SlidingWindowParity {
                SlidingWindowParity(config: c.0, batch: 2, seqLen: 12, steps: 3, window: c.window, residentLayers: c.resident,
                                    modelLevel: c.modelLevel, gradientType: gradientType, landingBuffers: c.landing,
                                    maxGradNorm: c.clip, learningRate: 1e-2)
            }
            let what = "window \(c.window), \(c.resident) resident, \(c.landing) landing, clip \(c.clip), "
                + "model level \(c.modelLevel.rawValue)"
            let reference = try parity(.bf16).runSliding(backend: CPUBackend(threads: 2), storage: .f32)
            let exact = try parity(.f32).runSliding(backend: CPUBackend(threads: 2), storage: .f32)
            XCTAssertEqual(reference.losses[0], exact.losses[0], "the first forward precedes any update, \(what)")
            XCTAssertNotEqual(reference.losses, exact.losses, "bf16 gradients change the updates, \(what)")
            for (a, b) in zip(reference.losses, exact.losses) {
                XCTAssertEqual(a, b, accuracy: 1e-3 * abs(b), "bf16 gradients stay close, \(what)")
            }
            for lagging in [LaggingQueuesBackend.Lagging.copies, .compute] {
                let backend = LaggingQueuesBackend(cpu: CPUBackend(threads: 2), lagging: lagging)
                let r = try parity(.bf16).runSliding(backend: backend, storage: .f32)
                XCTAssertEqual(r.losses, reference.losses, "\(what), \(lagging) lagging")
                XCTAssertEqual(r.norms, reference.norms, "\(what), \(lagging) lagging")
                for (a, b) in zip(r.masters.namedTensors, reference.masters.namedTensors) {
                    XCTAssertTrue(a.values.elementsEqual(b.values), "\(a.name), \(what), \(lagging) lagging")
                }
                XCTAssertGreaterThan(backend.mostHeld, 1, "work was held")
            }
        }
    }

    func testBF16GradientsNeedOneMicroBatch() throws {
        let config = SlidingWindowEngineTests.config(layers: 2)
        let host = HostTrainingState(masters: TrainingBenchmark.randomWeights(config, pool: .shared))
        XCTAssertThrowsError(try SlidingWindowEngine(host: host, backend: CPUBackend(threads: 1), storage: .f32, window: 2,
                                                     landingBuffers: 2, maxBatch: 1, maxSeqLen: 6, maxMicroBatches: 2,
                                                     gradientType: .bf16, hyperparameters: AdamWHyperparameters(),
                                                     optimizerThreads: 1))
    }
}
