import Backends
import CUDABackend
import ModelFormats
import XCTest
@testable import Training

/// The memory plan counts what the engine allocates: every device buffer and pinned host
/// allocation of an engine built from a plan (recorded by the CPU backend's allocation log,
/// bf16 compute as on the GPU) adds up to the plan's engine items, byte for byte. The items
/// the backend holds itself (pool scratch, cuBLASLt, context, rounding, copy staging) and the
/// fp32 masters and moments (the host state's own buffers, registered in place) are not
/// engine allocations. (The CPU backend's embedding takes f32 tables only, so the bf16 engine
/// is built, not run; a step allocates nothing, checked with f32 compute.) The MLP's buffers
/// hold one chunk of tokens: the cases with `mlpChunkTokens` below N = 24 check that the plan
/// counts the chunk, not N.
final class SlidingWindowAllocationTests: XCTestCase {
    private func assertPlanMatchesAllocations(_ config: ModelConfig, residentLayers: Int, clipping: Bool,
                                              gpuBudget: Int? = nil, modelLevel: ModelLevelPlacement = .auto,
                                              checkpointType: CheckpointElementType = .f32,
                                              mlpChunkTokens: Int = MemoryPlanner.mlpChunkTokens,
                                              deferredGradients: Int? = nil, landingBuffers: Int? = nil,
                                              gradientType: GradientElementType = .f32,
                                              file: StaticString = #filePath, line: UInt = #line) throws {
        let (batch, seqLen) = (2, 12)
        let plan = MemoryPlanner.plan(config: config, batchSize: batch, seqLen: seqLen, gpuBudget: gpuBudget,
                                      hostBudget: nil, clipping: clipping, residentLayers: residentLayers,
                                      modelLevel: modelLevel, checkpointType: checkpointType,
                                      mlpChunkTokens: mlpChunkTokens, deferredGradients: deferredGradients,
                                      landingBuffers: landingBuffers, gradientType: gradientType)
        XCTAssertEqual(plan.mlpChunkTokens, min(mlpChunkTokens, batch * seqLen), file: file, line: line)
        XCTAssertTrue(plan.fits, plan.description, file: file, line: line)
        let host = HostTrainingState(masters: TrainingBenchmark.randomWeights(config, pool: .shared))
        let backend = CPUBackend(threads: 1)
        let log = AllocationLog()
        backend.allocationLog = log
        let engine = try SlidingWindowEngine(host: host, backend: backend, storage: .bf16, window: plan.window,
                                             residentLayers: plan.residentLayers, modelLevel: plan.modelLevel, vocabChunkRows: plan.vocabChunkRows,
                                             landingBuffers: plan.gradientLandingBuffers, maxBatch: batch,
                                             maxSeqLen: seqLen, checkpointType: plan.checkpointType,
                                             mlpChunkTokens: plan.mlpChunkTokens, deferredGradients: plan.deferredGradients,
                                             keptAttentionLayers: plan.keptAttentionLayers,
                                             gradientType: plan.gradientType,
                                             hyperparameters: AdamWHyperparameters(), optimizerThreads: 1)
        withExtendedLifetime(engine) {}
        let gpu = plan.gpuItems.filter(\.engineBuffer).reduce(0) { $0 + $1.bytes }
        let pinned = plan.pinnedItems.filter(\.engineBuffer).reduce(0) { $0 + $1.bytes }
        XCTAssertEqual(log.deviceBytes, gpu, "device buffers: \(log.device)", file: file, line: line)
        // The pool's size-class rounding of the engine's buffers is planned exactly, item by item.
        let plannedWaste = plan.gpuItems.filter(\.engineBuffer).map(\.poolWaste)
        XCTAssertFalse(plannedWaste.contains(nil), "\(plan.gpuItems.filter { $0.engineBuffer && $0.poolWaste == nil })",
                       file: file, line: line)
        XCTAssertEqual(plannedWaste.reduce(0) { $0 + ($1 ?? 0) },
                       log.device.reduce(0) { $0 + DeviceMemoryPool.sizeClass($1.bytes) - $1.bytes },
                       file: file, line: line)
        XCTAssertEqual(log.pinnedTotal, pinned, "pinned: \(log.pinnedBytes)", file: file, line: line)
        XCTAssertTrue(plan.pageableItems.allSatisfy { !$0.engineBuffer }, file: file, line: line)
    }

    func testAStepAllocatesNothing() throws {
        for checkpointType in CheckpointElementType.allCases {
            let config = SlidingWindowEngineTests.config(layers: 3)
            let host = HostTrainingState(masters: TrainingBenchmark.randomWeights(config, pool: .shared))
            let backend = CPUBackend(threads: 1)
            let log = AllocationLog()
            backend.allocationLog = log
            let engine = try SlidingWindowEngine(host: host, backend: backend, storage: .f32, window: 2, landingBuffers: 2,
                                                 maxBatch: 1, maxSeqLen: 6, checkpointType: checkpointType, mlpChunkTokens: 4,
                                                 hyperparameters: AdamWHyperparameters(), optimizerThreads: 1)
            let (device, pinned) = (log.device.count, log.pinnedBytes.count)
            let ids: [Int32] = [1, 2, 3, 4, 5, 6]
            for _ in 0..<2 {
                let r = try engine.step(inputIds: ids, labels: ids, batch: 1, seqLen: 6, learningRate: 1e-3)
                XCTAssertTrue(r.lossSum.isFinite && r.lossSum > 0)
            }
            engine.drain()
            XCTAssertEqual(log.device.count, device, "\(checkpointType)")
            XCTAssertEqual(log.pinnedBytes.count, pinned, "\(checkpointType)")
        }
    }

    func testLlamaRing() throws {
        try assertPlanMatchesAllocations(SlidingWindowEngineTests.config(layers: 4), residentLayers: 0, clipping: false)
    }

    /// bf16 host-bound gradients: landing buffers of half the size and a bf16 download scratch,
    /// in a ring, one per layer, with clipping (2 more for the host-placed model level) and streamed.
    func testBF16Gradients() throws {
        let config = SlidingWindowEngineTests.config(layers: 4)
        for modelLevel in [ModelLevelPlacement.host, .gpu] {
            try assertPlanMatchesAllocations(config, residentLayers: 0, clipping: false, modelLevel: modelLevel,
                                             gradientType: .bf16)
            try assertPlanMatchesAllocations(config, residentLayers: 1, clipping: false, modelLevel: modelLevel,
                                             landingBuffers: 3, gradientType: .bf16)
            try assertPlanMatchesAllocations(config, residentLayers: 0, clipping: true, modelLevel: modelLevel,
                                             gradientType: .bf16)
        }
        try assertPlanMatchesAllocations(config, residentLayers: 0, clipping: false, modelLevel: .streamed,
                                         gradientType: .bf16)
        let f32 = MemoryPlanner.plan(config: config, batchSize: 2, seqLen: 12, gpuBudget: nil, hostBudget: nil,
                                     landingBuffers: 2)
        let bf16 = MemoryPlanner.plan(config: config, batchSize: 2, seqLen: 12, gpuBudget: nil, hostBudget: nil,
                                      landingBuffers: 2, gradientType: .bf16)
        let layer = ModelLayout(config).layer.count
        XCTAssertEqual(f32.hostPeakBytes - bf16.hostPeakBytes, 2 * layer * 2, "2 landing buffers at 2 B instead of 4")
    }

    func testMLPInChunks() throws {
        // 24 tokens: chunks of 10 (10, 10, 4), 24 (one), more than N (capped at 24).
        for chunk in [10, 24, 100] {
            try assertPlanMatchesAllocations(SlidingWindowEngineTests.config(layers: 4), residentLayers: 0,
                                             clipping: false, mlpChunkTokens: chunk)
        }
    }

    func testQwen3TiedWithResidentLayerAndClipping() throws {
        for placement in [ModelLevelPlacement.gpu, .host] {
            try assertPlanMatchesAllocations(SlidingWindowEngineTests.config(layers: 4, qwen3: true, tied: true),
                                             residentLayers: 1, clipping: true, modelLevel: placement, mlpChunkTokens: 7)
        }
    }

    func testModelLevelOnTheHost() throws {
        for clipping in [false, true] {
            try assertPlanMatchesAllocations(SlidingWindowEngineTests.config(layers: 4), residentLayers: 0,
                                             clipping: clipping, modelLevel: .host)
        }
    }

    func testBF16Checkpoints() throws {
        try assertPlanMatchesAllocations(SlidingWindowEngineTests.config(layers: 4), residentLayers: 0, clipping: false,
                                         checkpointType: .bf16)
        try assertPlanMatchesAllocations(SlidingWindowEngineTests.config(layers: 4, qwen3: true, tied: true),
                                         residentLayers: 1, clipping: true, modelLevel: .host, checkpointType: .bf16)
    }

    /// Streamed: the final norm, the LM head's weight, gradient and logits chunks, its row
    /// statistics and the f32 dHidden on the device; pinned, the gathered rows and, with a ring
    /// of layer landing buffers, a ring of chunk-sized ones, else a landing buffer per chunk of
    /// the embedding and LM head (a vocabulary of 600: 4 chunks of at most 192 rows).
    func testStreamedModelLevel() throws {
        var config = SlidingWindowEngineTests.config(layers: 4)
        config.vocabSize = 600
        for (clipping, residentLayers, landing) in [(false, 0, 2), (false, 0, 4), (true, 1, nil)] {
            try assertPlanMatchesAllocations(config, residentLayers: residentLayers, clipping: clipping,
                                             modelLevel: .streamed, landingBuffers: landing)
        }
    }

    func testWindowFromAGPUBudget() throws {
        let config = SlidingWindowEngineTests.config(layers: 5)
        let all = MemoryPlanner.plan(config: config, batchSize: 2, seqLen: 12, gpuBudget: nil, hostBudget: nil, modelLevel: .gpu)
        let slot = MemoryPlanner.weightSlotBytes(ModelLayout(config))
        let budget = all.gpuPeakBytes - 2 * slot
        let p = MemoryPlanner.plan(config: config, batchSize: 2, seqLen: 12, gpuBudget: budget, hostBudget: nil, modelLevel: .gpu)
        XCTAssertEqual(p.window, 3)
        try assertPlanMatchesAllocations(config, residentLayers: 0, clipping: false, gpuBudget: budget, modelLevel: .gpu)
    }

    /// Kept attention outputs: with a budget that has room once every layer has a slot, as many
    /// layers as it holds keep theirs (bf16 (N, H·D) and f32 lse each), counted by the plan; a
    /// budget short of the full window keeps none, and without a budget none either.
    func testKeptAttention() throws {
        let config = SlidingWindowEngineTests.config(layers: 5)
        let free = MemoryPlanner.plan(config: config, batchSize: 2, seqLen: 12, gpuBudget: nil, hostBudget: nil, modelLevel: .gpu)
        XCTAssertEqual(free.keptAttentionLayers, 0)
        let kept = SlidingWindowPlan.Item.buffers("kept", MemoryPlanner.keptAttentionBuffers(config, tokens: 24))
        let three = free.gpuPeakBytes + 3 * (kept.bytes + kept.rounding) + 100
        let p = MemoryPlanner.plan(config: config, batchSize: 2, seqLen: 12, gpuBudget: three, hostBudget: nil, modelLevel: .gpu)
        XCTAssertEqual(p.window, 5)
        XCTAssertEqual(p.keptAttentionLayers, 3)
        try assertPlanMatchesAllocations(config, residentLayers: 0, clipping: false, gpuBudget: three, modelLevel: .gpu)
        let everyLayer = free.gpuPeakBytes + 5 * (kept.bytes + kept.rounding)
        XCTAssertEqual(MemoryPlanner.plan(config: config, batchSize: 2, seqLen: 12, gpuBudget: everyLayer * 2,
                                          hostBudget: nil, modelLevel: .gpu).keptAttentionLayers, 5)
        let slot = MemoryPlanner.weightSlotBytes(ModelLayout(config))
        XCTAssertEqual(MemoryPlanner.plan(config: config, batchSize: 2, seqLen: 12, gpuBudget: free.gpuPeakBytes - slot,
                                          hostBudget: nil, modelLevel: .gpu).keptAttentionLayers, 0)
    }

    /// Deferred gradients: one fp32 gradient slot each, counted by the plan (2 of 5 layers with
    /// memory to spare; under a budget only what a window of 4 leaves).
    func testDeferredGradients() throws {
        let config = SlidingWindowEngineTests.config(layers: 5)
        let free = MemoryPlanner.plan(config: config, batchSize: 2, seqLen: 12, gpuBudget: nil, hostBudget: nil,
                                      modelLevel: .gpu, deferredGradients: 2)
        XCTAssertEqual(free.deferredGradients, 2)
        try assertPlanMatchesAllocations(config, residentLayers: 0, clipping: false, modelLevel: .gpu, deferredGradients: 2)
        // A slot and a deferred gradient as the pool holds them (their buffers' size classes).
        let l = ModelLayout(config)
        let slotItem = SlidingWindowPlan.Item.buffers("slot", MemoryPlanner.weightSlotBuffers(l))
        let deferredItem = SlidingWindowPlan.Item.buffers("deferred", [l.layer.count * 4])
        let slot = slotItem.bytes + slotItem.rounding, deferred = deferredItem.bytes + deferredItem.rounding
        let budget = free.gpuPeakBytes - deferred - slot
        let tight = MemoryPlanner.plan(config: config, batchSize: 2, seqLen: 12, gpuBudget: budget, hostBudget: nil,
                                       modelLevel: .gpu, deferredGradients: 2)
        XCTAssertEqual(tight.deferredGradients, 1)
        XCTAssertEqual(tight.window, 4, "one slot less than every layer")
        try assertPlanMatchesAllocations(config, residentLayers: 0, clipping: false, gpuBudget: budget, modelLevel: .gpu,
                                         deferredGradients: 2)
    }


}
