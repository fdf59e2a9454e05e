import Backends
import Datasets
import ModelFormats
import Support
import XCTest
@testable import Training

/// The sliding-window engine against resident training on the CPU backend: same kernels and
/// the same AdamW kernel, so per-step losses and final fp32 masters must be identical, bit
/// for bit, whatever the window and however the gradient landing ring is sized.
final class SlidingWindowEngineTests: XCTestCase {
    static func config(layers: Int, qwen3: Bool = false, tied: Bool = false) -> ModelConfig {
        ModelConfig(family: qwen3 ? .qwen3 : .llama, hiddenSize: 32, intermediateSize: 48, numLayers: layers,
                    numHeads: 4, numKVHeads: 2, headDim: 8, vocabSize: 97, rmsNormEps: 1e-5, ropeTheta: 10000,
                    maxPositionEmbeddings: 64, tieWordEmbeddings: tied, qkvBias: qwen3, qkNorm: qwen3)
    }

    private func assertIdentical(_ config: ModelConfig, window: Int, residentLayers: Int = 0, steps: Int = 4,
                                 microBatches: Int = 1, maxGradNorm: Double = 0, modelLevel: ModelLevelPlacement = .host,
                                 keptAttentionLayers: Int = 0,
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        let backend = CPUBackend(threads: 2)
        let parity = SlidingWindowParity(config: config, batch: 2, seqLen: 12, steps: steps, window: window,
                                         residentLayers: residentLayers, modelLevel: modelLevel,
                                         keptAttentionLayers: keptAttentionLayers,
                                         microBatches: microBatches, maxGradNorm: maxGradNorm, learningRate: 1e-2)
        let r = try parity.run(backend: backend, storage: .f32)
        let what = "window \(window), \(residentLayers) resident, \(microBatches) micro-batches, clip \(maxGradNorm), "
            + "model level \(modelLevel.rawValue)"
        XCTAssertEqual(r.residentLosses.count, steps, file: file, line: line)
        XCTAssertEqual(r.residentLosses, r.slidingLosses, what, file: file, line: line)
        XCTAssertEqual(r.residentNorms, r.slidingNorms, what, file: file, line: line)
        XCTAssertEqual(r.maxMasterDifference, 0, what, file: file, line: line)
        // Training moved: the losses are not all the same number.
        XCTAssertNotEqual(r.residentLosses.first, r.residentLosses.last, file: file, line: line)
        if maxGradNorm > 0 {
            // Clipping acted: every step's norm was above the bound.
            XCTAssertTrue(r.residentNorms.allSatisfy { $0 > maxGradNorm }, "\(r.residentNorms)", file: file, line: line)
        }
    }

    /// Clipping on/off x accumulation 1/2 x windows 1 (one streamed layer), 2 and every layer,
    /// and with resident first layers.
    func testClippingAndAccumulationMatchResidentTraining() throws {
        for clip in [0.0, 0.05] {
            for microBatches in [1, 2] {
                try assertIdentical(Self.config(layers: 4), window: 2, microBatches: microBatches, maxGradNorm: clip)
                try assertIdentical(Self.config(layers: 4), window: 4, microBatches: microBatches, maxGradNorm: clip)
                try assertIdentical(Self.config(layers: 3), window: 1, residentLayers: 2, microBatches: microBatches,
                                    maxGradNorm: clip)
                try assertIdentical(Self.config(layers: 1), window: 1, microBatches: microBatches, maxGradNorm: clip)
            }
        }
    }

    /// The embedding, final norm and LM head updated on the device (their AdamW state there):
    /// untied and tied heads, clipping on/off x accumulation 1/2, with and without resident layers.
    func testModelLevelOnTheDeviceMatchesResidentTraining() throws {
        for clip in [0.0, 0.05] {
            for microBatches in [1, 2] {
                try assertIdentical(Self.config(layers: 4), window: 2, microBatches: microBatches, maxGradNorm: clip,
                                    modelLevel: .gpu)
                try assertIdentical(Self.config(layers: 4, qwen3: true, tied: true), window: 2, residentLayers: 1,
                                    microBatches: microBatches, maxGradNorm: clip, modelLevel: .gpu)
            }
        }
    }

    func testClippingWithResidentLayersAndQwen3Matches() throws {
        try assertIdentical(Self.config(layers: 4, qwen3: true, tied: true), window: 2, residentLayers: 1,
                            microBatches: 2, maxGradNorm: 0.05)
        try assertIdentical(Self.config(layers: 3), window: 0, residentLayers: 3, microBatches: 2, maxGradNorm: 0.05)
    }

    /// Layers that keep their attention output from the forward skip the attention in the
    /// recompute: with f32 checkpoints the backward reads the same values, so nothing changes.
    /// All layers, some (streamed and resident ones), with clipping and accumulation.
    func testKeptAttentionMatchesResidentTraining() throws {
        try assertIdentical(Self.config(layers: 4), window: 4, keptAttentionLayers: 4)
        try assertIdentical(Self.config(layers: 4), window: 2, residentLayers: 1, keptAttentionLayers: 2)
        try assertIdentical(Self.config(layers: 4, qwen3: true), window: 2, microBatches: 2, maxGradNorm: 0.05,
                            keptAttentionLayers: 3)
    }

    func testSmallestWindowMatchesResidentTraining() throws {
        try assertIdentical(Self.config(layers: 5), window: 2)
    }

    func testOddWindowMatchesResidentTraining() throws {
        try assertIdentical(Self.config(layers: 5), window: 3)
    }

    func testEveryLayerResidentMatches() throws {
        try assertIdentical(Self.config(layers: 3), window: 3)
    }

    func testQwen3WithTiedEmbeddingsMatches() throws {
        try assertIdentical(Self.config(layers: 4, qwen3: true, tied: true), window: 2)
    }

    func testResidentFirstLayersMatch() throws {
        try assertIdentical(Self.config(layers: 5), window: 2, residentLayers: 2)
    }

    func testEveryLayerResidentOnTheDeviceMatches() throws {
        try assertIdentical(Self.config(layers: 3), window: 0, residentLayers: 3)
    }

    func testPaddingLookupsGetNoGradientInBothRuns() throws {
        var config = Self.config(layers: 3)
        config.vocabSize = 7  // 24 random tokens of 7: the pad id occurs
        config.padTokenId = 3
        try assertIdentical(config, window: 2)
    }

    /// A vocabulary of 600 makes the embedding (600·32 = 19,200 elements) and LM head larger
    /// than one decoder layer (7,744): their host updates run in 3 parts each, which must give
    /// the same masters as one update of the whole tensor; tied (one parameter, the head's and
    /// the embedding's gradients summed before its update) and untied, with the landing ring
    /// shared with the layers (no clipping) and with their own 2 buffers (clipping, 2 micro-batches).
    func testEmbeddingAndHeadUpdatedInPartsMatch() throws {
        for tied in [false, true] {
            var config = Self.config(layers: 3, tied: tied)
            config.vocabSize = 600
            XCTAssertGreaterThan(config.vocabSize * config.hiddenSize, 2 * ModelLayout(config).layer.count)
            try assertIdentical(config, window: 2)
            try assertIdentical(config, window: 2, microBatches: 2, maxGradNorm: 0.05)
        }
    }

    func testSingleLayerModel() throws {
        try assertIdentical(Self.config(layers: 1), window: 1)
    }

    func testRejectsBadWindowAndBadTokens() throws {
        let config = Self.config(layers: 3)
        let host = HostTrainingState(masters: TrainingBenchmark.randomWeights(config, pool: .shared))
        let backend = CPUBackend(threads: 1)
        for window in [1, 4] {
            XCTAssertThrowsError(try SlidingWindowEngine(host: host, backend: backend, storage: .f32, window: window,
                                                         landingBuffers: 1, maxBatch: 1, maxSeqLen: 4,
                                                         hyperparameters: AdamWHyperparameters(), optimizerThreads: 1))
        }
        let engine = try SlidingWindowEngine(host: host, backend: backend, storage: .f32, window: 2, landingBuffers: 1,
                                             maxBatch: 1, maxSeqLen: 4, hyperparameters: AdamWHyperparameters(),
                                             optimizerThreads: 1)
        XCTAssertThrowsError(try engine.step(inputIds: [1, 2, 97, 3], labels: [1, 2, 3, 4], batch: 1, seqLen: 4,
                                             learningRate: 1e-3))
        XCTAssertThrowsError(try engine.step(inputIds: [1, 2, 3, 4, 5, 6, 7, 8], labels: [1, 2, 3, 4, 5, 6, 7, 8],
                                             batch: 2, seqLen: 4, learningRate: 1e-3))
        XCTAssertEqual(engine.updates, 0, "nothing ran")
        let r = try engine.step(inputIds: [1, 2, 3, 4], labels: [-100, 2, 3, -100], batch: 1, seqLen: 4, learningRate: 1e-3)
        XCTAssertEqual(r.targets, 2)
        XCTAssertTrue(r.lossSum.isFinite && r.lossSum > 0)
        XCTAssertEqual(engine.updates, 1)
        let batch = MicroBatch(batchSize: 1, seqLen: 4, inputIds: [1, 2, 3, 4], labels: [1, 2, 3, 4])
        // A ring of landing buffers and one micro-batch: no clipping, no accumulation.
        XCTAssertThrowsError(try engine.step([batch], learningRate: 1e-3, maxGradNorm: 1))
        XCTAssertThrowsError(try engine.step([batch, batch], learningRate: 1e-3))
        XCTAssertThrowsError(try engine.step([], learningRate: 1e-3))
        XCTAssertEqual(engine.updates, 1)
        engine.synchronizeHostState()
        XCTAssertEqual(host.step, 1)
    }
}
