import Backends
import ModelFormats
import XCTest
@testable import Training

/// The streamed placement of the embedding and LM head (`ModelLevelPlacement.streamed`) on the
/// CPU backend: training against resident training, the same runs on lagging queues, and the
/// rules for tied heads.
final class SlidingWindowStreamedTests: XCTestCase {
    /// Llama-shaped, 3 layers (one layer: 7,744 parameters), a vocabulary of 600: the planner's
    /// chunks are 192 rows (a chunk at most a layer's size), so 4 chunks of 192, 192, 192, 24.
    private static func config(layers: Int = 3, vocab: Int = 600) -> ModelConfig {
        var c = SlidingWindowEngineTests.config(layers: layers)
        c.vocabSize = vocab
        return c
    }

    private func parity(_ config: ModelConfig, window: Int = 2, residentLayers: Int = 0, microBatches: Int = 1,
                        maxGradNorm: Double = 0, vocabChunkRows: Int? = nil, steps: Int = 4,
                        backend: any QueuedTransfers) throws -> SlidingWindowParity.Result {
        let parity = SlidingWindowParity(config: config, batch: 2, seqLen: 12, steps: steps, window: window,
                                         residentLayers: residentLayers, modelLevel: .streamed,
                                         vocabChunkRows: vocabChunkRows, microBatches: microBatches,
                                         maxGradNorm: maxGradNorm, learningRate: 1e-2)
        return try parity.run(backend: backend, storage: .f32)
    }

    /// Streamed against resident training, clipping on/off × accumulation 1/2, the planner's
    /// chunks and 40-row chunks (15 chunks), with and without a resident first layer. The
    /// embedding's rows and gradient are exact (the same values, added in the same token order);
    /// the LM head's cross-entropy differs by fp32 rounding only (the running sum of
    /// exponentials rounded once per chunk, lse rounded to f32 from another sum, dHidden summed
    /// in chunk pieces: `VocabChunkTests`, ~1e-6 of each tensor's scale). The losses and norms
    /// agree within 1e-5 relative. The masters agree within 2e-4 after 4 AdamW steps at lr 1e-2:
    /// AdamW divides each element's gradient by its own magnitude, so an element whose gradient
    /// nearly cancels (relative noise up to ~1e-2) moves by up to lr × that (measured: 1.3e-5
    /// to 6.6e-5); a real error (a lost chunk, a wrong row offset, a missing accumulation) moves
    /// whole rows by ~lr per step and the first step's loss by far more than 1e-5.
    func testStreamedMatchesResidentTraining() throws {
        let backend = CPUBackend(threads: 2)
        for clip in [0.0, 0.05] {
            for microBatches in [1, 2] {
                for rows: Int? in [nil, 40] {
                    for residentLayers in [0, 1] {
                        let r = try parity(Self.config(), residentLayers: residentLayers, microBatches: microBatches,
                                           maxGradNorm: clip, vocabChunkRows: rows, backend: backend)
                        let what = "clip \(clip), \(microBatches) micro-batches, \(rows.map(String.init) ?? "planned") rows, "
                            + "\(residentLayers) resident"
                        assertRelativelyClose(r.slidingLosses, r.residentLosses, 1e-5, "losses, " + what)
                        assertRelativelyClose(r.slidingNorms, r.residentNorms, 1e-5, "norms, " + what)
                        XCTAssertLessThan(r.maxMasterDifference, 2e-4, what)
                        XCTAssertNotEqual(r.residentLosses.first, r.residentLosses.last, what)
                        if clip > 0 { XCTAssertTrue(r.residentNorms.allSatisfy { $0 > clip }, what) }
                    }
                }
            }
        }
    }

    /// The embedding's gradient sent as the micro-batch's distinct rows (one micro-batch, no
    /// clipping) trains exactly as the whole chunks do: the same losses and masters bit for bit
    /// (AdamW of the rows without gradient with a gradient of 0; the gathered rows of held-back
    /// updates computed from what they will write); the norms differ by the order of Σ g² only.
    /// With every id in 24 tokens from a vocabulary of 600, 4 chunks of 192 rows.
    func testEmbeddingRowsTrainAsWholeChunks() throws {
        let c = Self.config()
        XCTAssertEqual(c.hiddenSize % 8, 0, "rows are sent where the width is a multiple of 8")
        // 2-row chunks: the ring of 8 holds 16 rows, fewer than the batch's distinct ones, so
        // they also take a buffer of the layers' ring.
        for (rows, landings) in [(nil, 1), (40, 1), (2, 9)] as [(Int?, Int)] {
            var parity = SlidingWindowParity(config: c, batch: 2, seqLen: 12, steps: 4, window: 2, modelLevel: .streamed,
                                             vocabChunkRows: rows, learningRate: 1e-2)
            let sparse = try parity.runSliding(backend: CPUBackend(threads: 2), storage: .f32)
            parity.sendsEmbeddingRows = false
            let dense = try parity.runSliding(backend: CPUBackend(threads: 2), storage: .f32)
            XCTAssertEqual(sparse.embeddingRowLandings, landings, "\(rows.map(String.init) ?? "planned") rows")
            XCTAssertEqual(dense.embeddingRowLandings, 0)
            XCTAssertEqual(sparse.losses, dense.losses)
            assertRelativelyClose(sparse.norms, dense.norms, 1e-6, "norms")
            for (x, y) in zip(sparse.masters.namedTensors, dense.masters.namedTensors) {
                XCTAssertEqual(Array(x.values), Array(y.values), x.name)
            }
        }
    }

    /// The same streamed runs on queues that lag (`LaggingQueuesBackend`, copies or compute held
    /// until an event forces them) are bit-identical to the CPU backend's: a missing event (the
    /// gather buffer rewritten under its copy, a weight or gradient chunk reused too early, a
    /// landing buffer read before its copy) would change them.
    func testStreamedWithLaggingQueuesIsIdentical() throws {
        for (clip, microBatches) in [(0.0, 1), (0.05, 2)] {
            for rows: Int? in [nil, 40, 2] {
                let expected = try parity(Self.config(), microBatches: microBatches, maxGradNorm: clip,
                                          vocabChunkRows: rows, steps: 3, backend: CPUBackend(threads: 2))
                for lagging in [LaggingQueuesBackend.Lagging.copies, .compute] {
                    let backend = LaggingQueuesBackend(cpu: CPUBackend(threads: 2), lagging: lagging)
                    let r = try parity(Self.config(), microBatches: microBatches, maxGradNorm: clip, vocabChunkRows: rows,
                                       steps: 3, backend: backend)
                    let what = "clip \(clip), \(microBatches) micro-batches, \(rows.map(String.init) ?? "planned") rows, "
                        + "\(lagging) lagging"
                    XCTAssertEqual(r.slidingLosses, expected.slidingLosses, what)
                    XCTAssertEqual(r.slidingNorms, expected.slidingNorms, what)
                    XCTAssertEqual(r.maxMasterDifference, expected.maxMasterDifference, what)
                    XCTAssertGreaterThan(backend.mostHeld, 1, "work was held, " + what)
                }
            }
        }
    }

    /// A tied LM head is the embedding: the engine refuses to stream it, the planner reports it,
    /// and `auto` never picks streamed for it.
    func testTiedHeadsAreNotStreamed() throws {
        let tied = SlidingWindowEngineTests.config(layers: 3, tied: true)
        let host = HostTrainingState(masters: TrainingBenchmark.randomWeights(tied, pool: .shared))
        XCTAssertThrowsError(try SlidingWindowEngine(host: host, backend: CPUBackend(threads: 1), storage: .f32, window: 2,
                                                     modelLevel: .streamed, landingBuffers: 2, maxBatch: 1, maxSeqLen: 4,
                                                     hyperparameters: AdamWHyperparameters(), optimizerThreads: 1))
        let forced = MemoryPlanner.plan(config: tied, batchSize: 2, seqLen: 12, gpuBudget: nil, hostBudget: nil,
                                        modelLevel: .streamed)
        XCTAssertFalse(forced.fits)
        XCTAssertTrue(forced.problems.contains { $0.contains("untied") }, "\(forced.problems)")
        // A budget too small for any placement: auto stays on the host (the last it may use).
        let auto = MemoryPlanner.plan(config: tied, batchSize: 2, seqLen: 12, gpuBudget: 1 << 20, hostBudget: nil)
        XCTAssertEqual(auto.modelLevel, .host)
    }

    private func assertRelativelyClose(_ a: [Double], _ b: [Double], _ tolerance: Double, _ what: String,
                                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        for (x, y) in zip(a, b) {
            XCTAssertLessThanOrEqual(abs(x - y), tolerance * abs(y), "\(what): \(a) vs \(b)", file: file, line: line)
        }
    }
}
