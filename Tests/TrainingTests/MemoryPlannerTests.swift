import ModelFormats
import Support
import XCTest
@testable import Training

final class MemoryPlannerTests: XCTestCase {
    /// Llama-3.1-8B: C 4096, I 14336, 32 layers, 32 / 8 heads of 128, vocabulary 128256, untied.
    static let llama8B = ModelConfig(
        family: .llama, hiddenSize: 4096, intermediateSize: 14336, numLayers: 32, numHeads: 32, numKVHeads: 8,
        headDim: 128, vocabSize: 128_256, rmsNormEps: 1e-5, ropeTheta: 500_000, maxPositionEmbeddings: 8192,
        tieWordEmbeddings: false)

    private func bytes(_ items: [SlidingWindowPlan.Item], _ prefix: String) throws -> Int {
        try XCTUnwrap(items.first { $0.name.hasPrefix(prefix) }, "no item \(prefix)").bytes
    }

    /// One 8B layer: 2 norms of 4096, q and o 4096², k and v 1024·4096, gate, up, down 14336·4096
    /// (every tensor a multiple of 64 elements: no padding):
    ///   2·4096 + 2·16,777,216 + 2·4,194,304 + 3·58,720,256 = 218,112,000 parameters.
    /// At 8x1024 tokens (N = 8192):
    ///   model-level params  2 · 128256 · 4096 + 4096 = 1,050,677,248 (embedding, LM head, final norm)
    ///   masters             (32 · 218,112,000 + 1,050,677,248) · 4  = 32,121,044,992
    ///   m, v (all host-updated here)                   · 8  = 64,242,089,984
    ///   checkpoints (f32)   31 · 8192 · 4096 · 4   =  4,160,749,568  (the last layer's input stays on the GPU)
    ///   landing ring        2 · 218,112,000 · 4    =  1,744,896,000
    ///   upload scratch      16 Mi floats · 4       =     67,108,864  (masters converted in 64 MiB pieces)
    ///   gradient slots      2 · 218,112,000 · 4    =  1,744,896,000
    ///   model-level on GPU  1,050,677,248 · 6 (bf16 weights, fp32 gradients) + 4096 · 2 (the final
    ///                       norm's weights in f32) = 6,304,071,680
    ///   one weight slot     218,112,000 · 2 + 2 · 4096 · 4 (f32 norm weights) = 436,256,768
    ///   layer workspace     bf16: 8192 · (4·4096 + 2·4096 + 2·1024) (norm outputs, dNormed, dOutput;
    ///                       q, attention; k, v) + max(4096 · 4 · 14336 (the MLP's gate, up,
    ///                       activation, dActivation, one 4096-token chunk), 8192 · (2·4096 + 2·1024)
    ///                       (dAttention, dq, dk, dv)) = 452,984,832 elements; f32: 8192 · (2 + 4096
    ///                       + 32) (rstd ×2, residual, lse) = 33,832,960 → 905,969,664 + 135,331,840
    ///                       = 1,041,301,504
    func testLlama8BNumbers() throws {
        XCTAssertEqual(ModelLayout(Self.llama8B).layer.count, 218_112_000)
        let p = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil, modelLevel: .host, mlpChunkTokens: 4096)
        XCTAssertEqual(try bytes(p.pageableItems, "fp32 masters"), 32_121_044_992)
        XCTAssertEqual(try bytes(p.pageableItems, "AdamW m and v"), 64_242_089_984)
        XCTAssertEqual(p.pageableHostBytes, 96_363_134_976 + 536_870_912, "and the process and driver, nothing else")
        XCTAssertEqual(p.checkpointSaveBytes, 0, "no moments on the GPU")
        XCTAssertEqual(try bytes(p.pinnedItems, "activation checkpoints"), 4_160_749_568)
        XCTAssertEqual(try bytes(p.pinnedItems, "gradient landing"), 1_744_896_000)
        XCTAssertEqual(try bytes(p.gpuItems, "upload scratch"), 67_108_864)
        XCTAssertEqual(p.mlpChunkTokens, 4096)
        XCTAssertEqual(try bytes(p.gpuItems, "one layer's activations and backward scratch (MLP in 4096-token chunks)"),
                       1_041_301_504)
        XCTAssertFalse(p.pinnedItems.contains { $0.name.contains("staging") && $0.engineBuffer },
                       "no bf16 copy of the weights on the host")
        // The target: 12 B/param + checkpoints + 2 GB. The f32 landing ring, the backend's copy
        // staging and the process (1,744,896,000 + 33,554,432 + 536,870,912) take more than the
        // 2 GB; with bf16 gradients (a 872,448,000-byte ring) the plan is within it.
        let parameters = 32 * 218_112_000 + 1_050_677_248
        let target = parameters * 12 + 4_160_749_568 + 2_000_000_000
        XCTAssertGreaterThan(p.hostPeakBytes, target)
        let bf16 = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                      modelLevel: .host, mlpChunkTokens: 4096, landingBuffers: 2, gradientType: .bf16)
        XCTAssertEqual(try bytes(bf16.pinnedItems, "gradient landing"), 872_448_000)
        XCTAssertLessThanOrEqual(bf16.hostPeakBytes, target)
        XCTAssertEqual(try bytes(p.gpuItems, "gradient slots"), 1_744_896_000)
        XCTAssertEqual(try bytes(p.gpuItems, "embedding, final norm, LM head"), 6_304_071_680)
        XCTAssertEqual(try bytes(p.gpuItems, "decoder-layer weight slots"), 32 * 436_256_768)
        XCTAssertEqual(p.window, 32, "no GPU budget: every layer")
        XCTAssertNil(p.maxBatchSize)
        XCTAssertTrue(p.fits)
        XCTAssertEqual(p.hostPeakBytes, p.pinnedHostBytes + p.pageableHostBytes)
        XCTAssertEqual(p.gpuPeakBytes, p.gpuItems.reduce(0) { $0 + $1.bytes })
    }

    /// The moments of resident layers and of a GPU-placed embedding / LM head are updated on the
    /// GPU, so the host gives their pages back: 8 B per such parameter less on the host, and
    /// that much more while a checkpoint is saved, which a host budget must allow.
    func testGPUUpdatedMomentsLeaveTheHostUntilACheckpointIsSaved() throws {
        let layer = 218_112_000, modelLevel = 1_050_677_248
        let streamed = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil,
                                          hostBudget: nil, residentLayers: 0, modelLevel: .host, landingBuffers: 2)
        let resident = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil,
                                          hostBudget: nil, residentLayers: 17, modelLevel: .gpu, landingBuffers: 2)
        let onGPU = 17 * layer + modelLevel
        XCTAssertEqual(try bytes(resident.pageableItems, "AdamW m and v"), (32 * layer + modelLevel - onGPU) * 8)
        XCTAssertEqual(try bytes(resident.pageableItems, "fp32 masters"), try bytes(streamed.pageableItems, "fp32 masters"))
        XCTAssertEqual(resident.checkpointSaveBytes, onGPU * 8)
        let needed = resident.hostPeakBytes + resident.checkpointSaveBytes
        let tight = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil,
                                       hostBudget: needed - 1, residentLayers: 17, modelLevel: .gpu, landingBuffers: 2)
        XCTAssertFalse(tight.fits)
        XCTAssertTrue(tight.problems.contains { $0.contains("while a checkpoint is saved") }, "\(tight.problems)")
        XCTAssertTrue(MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil,
                                         hostBudget: needed, residentLayers: 17, modelLevel: .gpu, landingBuffers: 2).fits)
    }

    /// Without --landing-buffers the plan deepens the ring while the host total stays within
    /// 12 B/param + checkpoints + 2 GB and 90 % of the host budget (with a save's transient):
    /// 8B at 8×1024 with 17 resident layers and bf16 gradients gets one per streamed layer;
    /// every layer streamed with f32 gradients, the envelope leaves no room beyond the ring;
    /// a small host budget, clipping (one per layer anyway) and deferred gradients keep theirs.
    func testLandingBuffersWithoutAskingUseTheHostEnvelope() throws {
        let c = Self.llama8B, layer = 218_112_000
        func plan(_ m: Int, _ g: GradientElementType, host: Int? = nil, deferred: Int? = nil) -> SlidingWindowPlan {
            MemoryPlanner.plan(config: c, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: host, residentLayers: m,
                               modelLevel: .streamed, deferredGradients: deferred, gradientType: g)
        }
        let deep = plan(17, .bf16)
        XCTAssertEqual(deep.gradientLandingBuffers, 15)
        let parameters = 32 * layer + 2 * 128_256 * 4096 + 4096
        XCTAssertLessThanOrEqual(deep.hostPeakBytes, parameters * 12 + 31 * 8192 * 4096 * 4 + 2_000_000_000)
        XCTAssertEqual(plan(0, .f32).gradientLandingBuffers, 2)
        let five = MemoryPlanner.plan(config: c, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                      residentLayers: 17, modelLevel: .streamed, landingBuffers: 5, gradientType: .bf16)
        let limited = plan(17, .bf16, host: (five.hostPeakBytes + five.checkpointSaveBytes) * 10 / 9 + 1)
        XCTAssertEqual(limited.gradientLandingBuffers, 5, "5 fit 90 % of that budget, 6 do not")
        XCTAssertEqual(plan(17, .bf16, deferred: 2).gradientLandingBuffers, 2)
        XCTAssertEqual(MemoryPlanner.plan(config: c, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil, clipping: true,
                                          residentLayers: 17, modelLevel: .streamed).gradientLandingBuffers, 15)
    }

    /// The MLP's four (·, I) bf16 buffers are sized for one chunk of tokens, the rest of the
    /// workspace for all N; a chunk of N or more is N (one chunk). At 64x1024 (N = 65536), 4096-token
    /// chunks: bf16 65536 · 26624 + max(4096 · 4 · 14336, 65536 · 10240 (the attention block's
    /// gradients, which share the MLP's memory)) = 2,415,919,104 elements, f32 65536 · 4130 =
    /// 270,663,680 → 5,914,492,928 bytes, against 12,088,508,416 with the MLP over all N
    /// (65536 · 4 · 14336 of it).
    func testMLPChunkSizesTheLayerWorkspace() throws {
        func workspace(_ p: SlidingWindowPlan) throws -> SlidingWindowPlan.Item {
            try XCTUnwrap(p.gpuItems.first { $0.name.hasPrefix("one layer's activations") })
        }
        let wide = MemoryPlanner.plan(config: Self.llama8B, batchSize: 64, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                      modelLevel: .host, mlpChunkTokens: 4096)
        XCTAssertEqual(wide.mlpChunkTokens, 4096)
        XCTAssertEqual(try workspace(wide), .init(name: "one layer's activations and backward scratch (MLP in 4096-token chunks)",
                                                  bytes: 5_914_492_928, poolWaste: 0))
        let whole = MemoryPlanner.plan(config: Self.llama8B, batchSize: 64, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                       modelLevel: .host, mlpChunkTokens: 1 << 20)
        XCTAssertEqual(whole.mlpChunkTokens, 65536, "capped at N")
        XCTAssertEqual(try workspace(whole), .init(name: "one layer's activations and backward scratch (MLP in one chunk)",
                                                   bytes: 12_088_508_416, poolWaste: 0))
        // The chunk's saving (5.75 GiB) is all that changes: every buffer of both is a whole size
        // class of the pool (the shared scratch 1.25 GiB = 10 · 128 MiB and 7 GiB = 7 · 1 GiB).
        XCTAssertEqual(whole.gpuPeakBytes - wide.gpuPeakBytes, 12_088_508_416 - 5_914_492_928)
        // The resident model's estimate counts the same workspace.
        XCTAssertEqual(MemoryPlanner.residentTrainingBytes(config: Self.llama8B, batchSize: 64, seqLen: 1024,
                                                           mlpChunkTokens: 1 << 20)
                       - MemoryPlanner.residentTrainingBytes(config: Self.llama8B, batchSize: 64, seqLen: 1024,
                                                             mlpChunkTokens: 4096),
                       (12_088_508_416 - 5_914_492_928) * 9 / 8)
        XCTAssertEqual(try JSON.parse(wide.json.serialized())["mlp_chunk_tokens"]?.int, 4096)
    }

    /// The default chunk (16384 tokens) while the window keeps 3 slots (or every streamed layer);
    /// a tighter GPU gets smaller chunks, down to 4096 tokens, until it does.
    func testLargeMLPChunksWhileTheWindowKeepsThreeSlots() throws {
        let roomy = MemoryPlanner.plan(config: Self.llama8B, batchSize: 64, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                       modelLevel: .host)
        XCTAssertEqual(roomy.mlpChunkTokens, 16384)
        XCTAssertEqual(roomy.window, 32)
        XCTAssertEqual(MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                          modelLevel: .host).mlpChunkTokens, 8192, "capped at N")
        let capped = MemoryPlanner.plan(config: Self.llama8B, batchSize: 64, seqLen: 1024, gpuBudget: 24 << 30,
                                        hostBudget: nil, modelLevel: .host, checkpointType: .bf16, deferredGradients: 0)
        XCTAssertEqual(capped.mlpChunkTokens, 16384)
        XCTAssertGreaterThanOrEqual(capped.window, 3)
        // 32x1024 in 10.3 GiB, streamed: 16384-token chunks would leave a window of 1.
        func tight(_ chunk: Int) -> SlidingWindowPlan {
            MemoryPlanner.fixedPlan(config: Self.llama8B, batchSize: 32, seqLen: 1024, gpuBudget: 10_300 << 20,
                                    hostBudget: nil, clipping: false, residentLayers: 0, modelLevel: .streamed,
                                    checkpointType: .bf16, mlpChunkTokens: chunk, deferredGradients: 0)
        }
        let chosen = MemoryPlanner.plan(config: Self.llama8B, batchSize: 32, seqLen: 1024, gpuBudget: 10_300 << 20,
                                        hostBudget: nil, modelLevel: .streamed, checkpointType: .bf16, deferredGradients: 0)
        XCTAssertEqual(chosen.mlpChunkTokens, 8192)
        XCTAssertEqual(chosen.window, tight(8192).window)
        XCTAssertGreaterThanOrEqual(chosen.window, 3)
        XCTAssertLessThan(tight(16384).window, 3)
        XCTAssertGreaterThanOrEqual(tight(4096).window, chosen.window)
    }

    func testClippingKeepsEveryLayersGradient() throws {
        let p = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                   clipping: true, modelLevel: .host)
        XCTAssertEqual(p.gradientLandingBuffers, 32)
        // One per layer and 2 for the parts of the embedding, final norm and LM head.
        XCTAssertEqual(try bytes(p.pinnedItems, "gradient landing"), 34 * 218_112_000 * 4)
    }

    func testResidentLayersMoveToTheGPU() throws {
        let p = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                   residentLayers: 4, modelLevel: .host)
        XCTAssertEqual(p.residentLayers, 4)
        XCTAssertEqual(p.window, 28)
        XCTAssertEqual(try bytes(p.gpuItems, "resident layers"), 4 * (218_112_000 * 18 + 2 * 4096 * 4))
    }

    func testWindowIsWhatTheGPUBudgetLeavesForSlots() throws {
        let all = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil, modelLevel: .host, mlpChunkTokens: 4096,
                                   deferredGradients: 0)
        // A slot in the pool: the size classes of a 436,224,000-byte bf16 layer (209 · 2 MiB =
        // 438,304,768) and of its 32 KiB of f32 norm weights.
        let slot = 438_304_768 + 32_768
        let fixed = all.gpuPeakBytes - 32 * slot
        let five = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: fixed + 5 * slot + 1,
                                      hostBudget: nil, modelLevel: .host, mlpChunkTokens: 4096,
                                   deferredGradients: 0)
        XCTAssertEqual(five.window, 5)
        XCTAssertTrue(five.fits)
        XCTAssertEqual(five.gpuPeakBytes, fixed + 5 * slot)
        let roomy = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: 1 << 40, hostBudget: nil, modelLevel: .host, mlpChunkTokens: 4096,
                                   deferredGradients: 0)
        XCTAssertEqual(roomy.window, 32, "capped at the layer count")
        // One byte short of 2 slots: the MLP goes to 2048-token chunks (6 · 14336 · 2048 · 2 B
        // less), which makes room for the 2 slots.
        let tight = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: fixed + 2 * slot - 1,
                                       hostBudget: nil, modelLevel: .host, mlpChunkTokens: 4096, deferredGradients: 0)
        XCTAssertTrue(tight.fits, tight.description)
        XCTAssertEqual(tight.mlpChunkTokens, 2048)
        XCTAssertEqual(tight.window, 2)
        // Even 1024-token chunks leave no room for 2 slots: no plan.
        let tooTight = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: fixed - slot,
                                          hostBudget: nil, modelLevel: .host, mlpChunkTokens: 4096, deferredGradients: 0)
        XCTAssertEqual(tooTight.mlpChunkTokens, 1024)
        XCTAssertEqual(tooTight.window, 0)
        XCTAssertFalse(tooTight.fits)
        XCTAssertTrue(tooTight.problems[0].hasPrefix("GPU"), tooTight.problems[0])
    }

    func testHostBudgetAndLargestBatch() throws {
        // 48 GiB GPU, 125 GiB host: 8B at 8x1024 needs ~110 GiB of host memory.
        let p = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: 48 << 30,
                                   hostBudget: 125 << 30, modelLevel: .host)
        XCTAssertTrue(p.fits, p.description)
        XCTAssertGreaterThanOrEqual(p.window, 2)
        let best = try XCTUnwrap(p.maxBatchSize)
        XCTAssertGreaterThanOrEqual(best, 8)
        func fits(_ b: Int) -> Bool {
            MemoryPlanner.plan(config: Self.llama8B, batchSize: b, seqLen: 1024, gpuBudget: 48 << 30,
                               hostBudget: 125 << 30, modelLevel: .host).fits
        }
        XCTAssertTrue(fits(best))
        XCTAssertFalse(fits(best + 1))

        // 24 GiB: the embedding and LM head take 6 B/param on the GPU (5.87 GiB; their masters
        // and moments are on the host) and the cross-entropy chunk 1.5 GiB, which leaves a window
        // of 30 layers at 8x1024 and 20 at 32x1024 (a 64 MiB upload scratch; one layer's
        // activations 1.41 GiB with the MLP in one chunk / 3.88 GiB in 16384-token chunks); at 64x1024 (6.16 GiB of
        // activations, 4 GiB of residual stream) the GPU has room for a window of 2 or more, and
        // f32 checkpoints (31 GiB) still fit the 125 GiB host.
        // (Without deferred gradients, which trade window slots: testDeferredGradients.)
        let small24 = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: 24 << 30,
                                         hostBudget: 125 << 30, modelLevel: .host, deferredGradients: 0)
        XCTAssertTrue(small24.fits, small24.description)
        XCTAssertEqual(small24.window, 30)
        let wide24 = MemoryPlanner.plan(config: Self.llama8B, batchSize: 32, seqLen: 1024, gpuBudget: 24 << 30,
                                        hostBudget: 125 << 30, modelLevel: .host, deferredGradients: 0)
        XCTAssertTrue(wide24.fits, wide24.description)
        XCTAssertEqual(wide24.window, 20)
        XCTAssertEqual(wide24.mlpChunkTokens, 16384)
        let widest24 = MemoryPlanner.plan(config: Self.llama8B, batchSize: 64, seqLen: 1024, gpuBudget: 24 << 30,
                                          hostBudget: 125 << 30, modelLevel: .host)
        XCTAssertTrue(widest24.fits, widest24.description)
        XCTAssertGreaterThanOrEqual(widest24.window, 2)

        let small = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: 64 << 30, modelLevel: .host)
        XCTAssertFalse(small.fits)
        XCTAssertNil(small.maxBatchSize, "the fixed host state alone exceeds 64 GiB")
        XCTAssertTrue(small.problems[0].hasPrefix("host"), small.problems[0])
    }

    func testJSONHasTheByteCounts() throws {
        let p = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: 80_000_000_000,
                                   hostBudget: 125 << 30, modelLevel: .host)
        let json = try JSON.parse(p.json.serialized())
        XCTAssertEqual(json["gpu_peak_bytes"]?.int, p.gpuPeakBytes)
        XCTAssertEqual(json["host_peak_bytes"]?.int, p.hostPeakBytes)
        XCTAssertEqual(json["window"]?.int, p.window)
        XCTAssertEqual(json["fits"]?.bool, true)
        XCTAssertEqual(json["max_batch_size"]?.int, p.maxBatchSize)
    }

    /// Deferred gradients: none unless asked; as many as asked when memory is no object; under
    /// a budget only what is left after a window of 4 slots (each costs a fp32 layer in its pool
    /// size class: 872,448,000 bytes → 417 · 2 MiB = 874,512,384); none with clipping or accumulation.
    func testDeferredGradients() throws {
        XCTAssertEqual(MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                          modelLevel: .host, mlpChunkTokens: 4096).deferredGradients, 0)
        let free = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                      modelLevel: .host, mlpChunkTokens: 4096, deferredGradients: 10)
        XCTAssertEqual(free.deferredGradients, 10)
        XCTAssertEqual(free.window, 32)
        XCTAssertEqual(try bytes(free.gpuItems, "deferred gradients"), 10 * 872_448_000)
        let none = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                      modelLevel: .host, mlpChunkTokens: 4096, deferredGradients: 0)
        XCTAssertEqual(free.gpuPeakBytes - none.gpuPeakBytes, 10 * 874_512_384, "the slots in their size class")
        // A weight slot in the pool: a bf16 layer (438,304,768) and 32 KiB of f32 norm weights.
        let slot = 438_304_768 + 32_768, deferred = 874_512_384
        let fixed = none.gpuPeakBytes - 32 * slot
        let budget = fixed + 4 * slot + 2 * deferred + slot / 2
        let tight = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: budget,
                                       hostBudget: nil, modelLevel: .host, mlpChunkTokens: 4096, deferredGradients: 10)
        XCTAssertEqual(tight.deferredGradients, 2)
        XCTAssertEqual(tight.window, 4)
        XCTAssertTrue(tight.fits)
        let asked = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: budget,
                                       hostBudget: nil, modelLevel: .host, mlpChunkTokens: 4096, deferredGradients: 1)
        XCTAssertEqual(asked.deferredGradients, 1)
        XCTAssertEqual(asked.window, 6, "the memory of the second deferred gradient holds 2 more slots")
        let clipped = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                         clipping: true, modelLevel: .host, mlpChunkTokens: 4096, deferredGradients: 10)
        XCTAssertEqual(clipped.deferredGradients, 0)
        let json = try JSON.parse(tight.json.serialized())
        XCTAssertEqual(json["deferred_gradients"]?.int, 2)
    }

    /// `.auto` keeps the embedding, final norm and LM head's AdamW state on the GPU when the
    /// plan fits with it there (18 B/param, the f32 norm 16: 1,050,677,248 · 18 − 4096 · 2) at
    /// the default MLP chunk, and else on the host, or streamed where that leaves a longer window
    /// (8B at 24 GiB); either way the plan counts the choice
    /// and its buffers' pool size classes (a 1,050,673,152-byte bf16 table is 501 · 2 MiB and a
    /// 2,101,346,304-byte f32 one 1002 · 2 MiB: no rounding).
    func testModelLevelPlacement() throws {
        let roomy = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil)
        XCTAssertEqual(roomy.modelLevel, .gpu)
        XCTAssertEqual(try bytes(roomy.gpuItems, "embedding, final norm, LM head"), 18_912_182_272)
        let host = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                      modelLevel: .host)
        XCTAssertEqual(roomy.gpuPeakBytes - host.gpuPeakBytes, 18_912_182_272 - 6_304_071_680, "the difference")
        XCTAssertGreaterThanOrEqual(roomy.gradientLandingBuffers, host.gradientLandingBuffers,
                                    "the GPU-placed parts' moments leave host memory for landing buffers")
        let small = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: 24 << 30,
                                       hostBudget: 125 << 30, deferredGradients: 0)
        // On the host they would leave a window of 30 (testHostBudgetAndLargestBatch); streamed
        // (their weights and gradients in vocabulary chunks) every layer stays.
        XCTAssertEqual(small.modelLevel, .streamed)
        XCTAssertTrue(small.fits)
        XCTAssertEqual(small.window, 32)
        let forced = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: 24 << 30,
                                        hostBudget: 125 << 30, modelLevel: .gpu)
        XCTAssertEqual(forced.modelLevel, .gpu)
        // Forced there, it fits only with the MLP in 4096-token chunks and a window of 2 (17.6 GiB
        // of embedding and LM head state), which auto, at the default chunk, does not consider.
        XCTAssertTrue(forced.fits)
        XCTAssertEqual(forced.window, 2)
        XCTAssertEqual(forced.mlpChunkTokens, 4096)
        // With clipping the 2 extra landing buffers are only for host-updated parts.
        let clipped = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                         clipping: true)
        XCTAssertEqual(try bytes(clipped.pinnedItems, "gradient landing"), 32 * 218_112_000 * 4)
    }

    /// bf16 activation checkpoints, 8B at 64x1024 (N = 65536): pinned checkpoints
    /// 31 · 65536 · 4096 · 2 = 16,642,998,272 instead of · 4 = 33,285,996,544 (31 GiB); on the
    /// GPU 2 staging buffers of (N,C) bf16 = 1,073,741,824 (whole size classes of the pool).
    /// A 110 GiB host then holds the run (f32: 122.4 GiB, bf16: 106.9 GiB).
    func testBF16CheckpointsHalveTheHostCheckpoints() throws {
        func plan(_ type: CheckpointElementType, host: Int? = nil) -> SlidingWindowPlan {
            MemoryPlanner.plan(config: Self.llama8B, batchSize: 64, seqLen: 1024, gpuBudget: nil, hostBudget: host,
                               modelLevel: .host, checkpointType: type)
        }
        let f32 = plan(.f32), bf16 = plan(.bf16)
        XCTAssertEqual(try bytes(f32.pinnedItems, "activation checkpoints (31 x f32"), 33_285_996_544)
        XCTAssertEqual(try bytes(bf16.pinnedItems, "activation checkpoints (31 x bf16"), 16_642_998_272)
        XCTAssertEqual(f32.hostPeakBytes - bf16.hostPeakBytes, 16_642_998_272)
        XCTAssertEqual(try bytes(bf16.gpuItems, "checkpoint staging (2 x bf16"), 1_073_741_824)
        XCTAssertFalse(f32.gpuItems.contains { $0.name.hasPrefix("checkpoint staging") })
        XCTAssertEqual(bf16.gpuPeakBytes - f32.gpuPeakBytes, 1_073_741_824)
        XCTAssertEqual(f32.checkpointType, .f32)
        XCTAssertEqual(bf16.checkpointType, .bf16)
        XCTAssertFalse(plan(.f32, host: 110 << 30).fits)
        XCTAssertTrue(plan(.bf16, host: 110 << 30).fits)
        let json = try JSON.parse(bf16.json.serialized())
        XCTAssertEqual(json["checkpoint_dtype"]?.string, "bf16")
        XCTAssertEqual(try JSON.parse(f32.json.serialized())["checkpoint_dtype"]?.string, "f32")
        XCTAssertTrue(bf16.description.contains("activation checkpoints: bf16"), bf16.description)
    }

    /// Streamed at 8x1024 (N = 8192, the MLP in one chunk): the logits live in the layers' shared
    /// scratch, 8192 · 4 · 14336 · 2 B = 939,524,096 (19,114 rows of 6 B per token), but a chunk's
    /// f32 gradient is at most 128 MiB: 8192 rows (16 chunks), so on the GPU
    ///   final norm (f32 weights, gradients)  4096 · 8                = 32,768
    ///   LM head weight chunks                2 · 8192 · 4096 · 2     = 134,217,728
    ///   gradient chunks                      2 · 8192 · 4096 · 4     = 268,435,456
    ///   row max / sum / target logit         3 · 8192 · 4            = 98,304
    ///   the tokens grouped by row            (3 · 8192 + 1) · 4      = 98,308
    ///                                                                 = 402,882,564
    ///   dHidden in f32 instead of bf16       8192 · 4096 · 2         = 67,108,864 (in the stream's item)
    /// instead of 6,304,071,680 and the whole-vocabulary cross-entropy chunk (in the pool's size
    /// classes the tokens grouped by row take 98,816: 508 bytes of rounding). At 64×1024 the shared scratch (16384-token chunks) is
    /// 1,879,048,192 B: 4778 → 4736 rows. On the pinned host, with the layers' ring of landing
    /// buffers, a ring of chunk-sized ones (as many as fit 256 MiB, 2 to 8), 2 · 8192 · 4096 · 4
    /// = 268,435,456 (the final norm lands in the layers' ring); at 64×1024, 3 · 4736 · 4096 · 4
    /// = 232,783,872; with clipping (a landing buffer
    /// per layer) one per chunk and one for the final norm, (2 · 128256 + 1) · 4096 · 4 =
    /// 4,202,708,992 (no 2 layer-sized ones for them); and the gathered rows in two pieces of
    /// 4096 tokens, 2 · 4096 · 4096 · 4 = 134,217,728 (at 64×1024 still 2 pieces, not 1 GiB).
    func testStreamedPlacement() throws {
        XCTAssertEqual(MemoryPlanner.vocabChunkRows(Self.llama8B, tokens: 8192, mlpChunkTokens: 16384), 8192)
        XCTAssertEqual(MemoryPlanner.vocabChunkRows(Self.llama8B, tokens: 65536, mlpChunkTokens: 16384), 4736)
        let p = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                   modelLevel: .streamed)
        XCTAssertEqual(p.modelLevel, .streamed)
        XCTAssertEqual(p.vocabChunkRows, 8192)
        let streamedGPU = ["final norm", "LM head weight chunks", "embedding / LM head gradient chunks",
                           "LM head row max", "embedding gradient: the tokens grouped by row"]
        XCTAssertEqual(try streamedGPU.map { try bytes(p.gpuItems, $0) }.reduce(0, +), 402_882_564)
        XCTAssertEqual(try bytes(p.gpuItems, "one layer's activations"),
                       try bytes(MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil,
                                                    hostBudget: nil, modelLevel: .host).gpuItems, "one layer's activations"),
                       "the logits fit the shared scratch")
        XCTAssertFalse(p.gpuItems.contains { $0.name.hasPrefix("embedding, final norm, LM head") || $0.name.hasPrefix("cross-entropy") })
        XCTAssertEqual(p.gradientLandingBuffers, 2)
        XCTAssertEqual(try bytes(p.pinnedItems, "embedding and LM head gradient landing"), 268_435_456)
        let clipped = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                         clipping: true, modelLevel: .streamed)
        XCTAssertEqual(try bytes(clipped.pinnedItems, "embedding, final norm and LM head gradient landing"), 4_202_708_992)
        XCTAssertEqual(try bytes(clipped.pinnedItems, "gradient landing buffers"), 32 * 218_112_000 * 4)
        XCTAssertEqual(try bytes(p.pinnedItems, "embedding rows gathered"), 134_217_728)
        let large = MemoryPlanner.plan(config: Self.llama8B, batchSize: 64, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                       modelLevel: .streamed)
        XCTAssertEqual(try bytes(large.pinnedItems, "embedding rows gathered"), 134_217_728)
        XCTAssertEqual(try bytes(large.pinnedItems, "embedding and LM head gradient landing"), 232_783_872)
        let host = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                      modelLevel: .host)
        XCTAssertEqual(try bytes(p.gpuItems, "residual stream") - bytes(host.gpuItems, "residual stream"), 67_108_864)
        let crossEntropy = try XCTUnwrap(host.gpuItems.first { $0.name.hasPrefix("cross-entropy chunk") })
        XCTAssertEqual(host.gpuPeakBytes - p.gpuPeakBytes,
                       6_304_071_680 + crossEntropy.bytes + crossEntropy.rounding - (402_882_564 + 508 + 67_108_864),
                       "the difference and its pool rounding")

        // auto: the host placement no longer fits 10 GiB at 8x1024, streamed does.
        let budget = 10 << 30
        XCTAssertFalse(MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: budget,
                                          hostBudget: nil, modelLevel: .host).fits)
        let auto = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: budget, hostBudget: nil)
        XCTAssertEqual(auto.modelLevel, .streamed)
        XCTAssertTrue(auto.fits, auto.description)
        XCTAssertGreaterThanOrEqual(auto.window, 2)
        XCTAssertTrue(auto.description.contains("8192 rows per chunk"), auto.description)
    }

    /// `landingBuffers` below 1 is refused by the plan (train, bench and plan all check `fits`).
    func testLandingBuffersMustBePositive() {
        let p = MemoryPlanner.plan(config: Self.llama8B, batchSize: 8, seqLen: 1024, gpuBudget: nil, hostBudget: nil,
                                   landingBuffers: 0)
        XCTAssertFalse(p.fits)
        XCTAssertTrue(p.problems.contains { $0.hasPrefix("--landing-buffers") }, "\(p.problems)")
    }
}
