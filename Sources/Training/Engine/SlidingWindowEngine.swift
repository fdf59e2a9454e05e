#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Backends
import Datasets
import ModelFormats
import Support

/// Training with the GPU as a sliding window over the decoder layers: the fp32 masters and
/// AdamW moments of every layer stay in host RAM, only `window` layers' compute weights are on
/// the device at once, and four kinds of work overlap on three device queues and one host thread:
///
///     compute queue: forward(i) / recompute + backward(i), embedding, final norm + chunked
///                    cross-entropy (and the AdamW of the first `residentLayers` layers, which
///                    stay on the device with their optimizer state)
///     H2D queue:     layer i's fp32 masters (registered host memory) into weight slot i mod K,
///                    converted to the compute type on the way (prefetched up to K-1 layers
///                    ahead); in the backward, checkpoint x_{i-1} (one layer ahead); the updated
///                    embedding / final norm / LM head before their first use
///     D2H queue:     checkpoint x_i (the layer's f32 input, or its bf16 rounding: see
///                    `CheckpointElementType`) in the forward; fp32 grads(i) in
///                    the backward, and the embedding / final norm / LM head gradients in
///                    layer-sized parts, into pinned landing buffers
///     AdamW thread:  AdamW(i) on the fp32 masters/moments as soon as grads(i) have landed;
///                    the same for each part of the embedding / final norm / LM head
///                    (`ModelLevelParameters`: only their compute weights and gradients are
///                    on the device)
///
/// Ordering is by events only (no drain inside or between steps): a slot is reloaded after the
/// compute that read it; a hidden buffer (or checkpoint staging buffer) is overwritten after its
/// checkpoint copy; a gradient slot (and a host-updated embedding / final norm / LM head
/// gradient) is zeroed after its copy to the host; the next step's H2D of layer i waits (on the host)
/// only for AdamW(i). Without clipping AdamW(i) needs nothing but grads(i), so it runs during
/// the backward of layers i-1...0; with clipping it runs after the backward, during the next
/// forward.
///
/// Gradients accumulate in fp32 on the device and travel as `gradientType`: fp32 by default
/// (identical to resident training), or bf16 rounded on the D2H queue (half the D2H and landing
/// memory; torch autocast's own values for linear weights; see `GradientElementType`).
/// The AdamW thread takes the landed gradients in the order the next forward needs them.
///
/// Clipping by the global norm is exact (Σ g² per tensor on the device; with clipping the
/// updates run after the backward, in forward order) and gradients accumulate over micro-batches
/// in fp32 (see `step(_:learningRate:maxGradNorm:)`); both need a landing buffer per streamed layer.
///
/// The embedding and LM head may also be streamed (`ModelLevelPlacement.streamed`,
/// `StreamedModelLevel`): the embedding's rows gathered on the host, the LM head's weights in
/// vocabulary chunks through the H2D queue twice per micro-batch (the cross-entropy's two
/// passes), their gradients chunk by chunk through the D2H queue to the AdamW thread.
///
/// Not yet: NVMe.
public final class SlidingWindowEngine {
    public let layout: ModelLayout
    public let backend: any QueuedTransfers
    /// f32 (CPU) or bf16 (GPU): the compute weights and the activations GEMMs read.
    public let storage: ElementType
    /// Streamed decoder layers whose weights are on the device at once.
    public let window: Int
    /// Layers 0..<residentLayers stay on the device with their optimizer state (see
    /// `ResidentParameters`); the others are streamed.
    public let residentLayers: Int
    /// Where the embedding, final norm and LM head are (gpu, host or streamed).
    public let modelLevel: ModelLevelPlacement
    public let maxBatch: Int
    public let maxSeqLen: Int
    /// Micro-batches one step may accumulate.
    public let maxMicroBatches: Int
    /// The element type of the layers' inputs kept on the host for the backward.
    public let checkpointType: CheckpointElementType
    public let hyperparameters: AdamWHyperparameters
    /// The fp32 masters and moments; current after `synchronizeHostState()`.
    public let host: HostTrainingState
    /// Optimizer updates applied (AdamW's step count).
    public private(set) var updates: Int
    /// Set by `synchronizeHostState` until the next step releases the host copies of the
    /// device-updated moments again (they are there for a checkpoint meanwhile).
    private var hostHoldsResidentMoments = false
    /// With `measure`: the breakdown of the last step whose work has all finished (a step's
    /// copies and AdamW end during the next one, so this is the step before the last, or the
    /// last after `drain()`).
    public private(set) var telemetry: StepTelemetry?
    /// With `measure`: the timed pieces of the step of `telemetry` (for a trace).
    public var telemetrySpans: [TimedSpan] { telemetry.map { recorders?[$0.step % 2].spans ?? [] } ?? [] }

    var config: ModelConfig { layout.config }

    // Queues, and a recorder per step parity when measuring (a step is read during the next).
    let compute: any DeviceQueue
    let hostToDevice: any DeviceQueue
    let deviceToHost: any DeviceQueue
    private let recorders: [StepRecorder]?

    // Weight slots: slot k holds streamed layer j with (j - residentLayers) mod K = k.
    private let slots: [any DeviceBuffer]
    private let slotTensors: [DecoderLayerTensors]
    /// Per slot, the f32 norm weights its layer reads when the storage is not f32 (empty
    /// otherwise), loaded from the fp32 masters with the slot.
    private let slotNorms: [NormWeightCopies]
    private let slotLoaded: [any DeviceEvent]
    private let slotReleased: [any DeviceEvent]
    /// (layer, weights version = updates applied when they were written) per slot.
    private var slotContent: [(layer: Int, version: Int)?]

    /// The last `deferredLayers` decoder layers (streamed, the first in the backward) keep their
    /// gradient in a slot of their own until the next step's forward, which sends it to the
    /// host while it computes the layers before: their AdamW then overlaps that forward instead
    /// of throttling the backward behind a ring of two landing buffers (the plan's choice; only
    /// with the ring, i.e. without clipping or accumulation).
    public let deferredLayers: Int
    /// The first layers' attention output and lse, kept from their forward for their backward.
    private let keptAttention: [KeptAttention]

    /// Deferred gradients not sent yet, in forward order.
    private var deferred: [(layer: Int, slot: Int, version: Int, learningRate: Double)] = []

    // fp32 gradient slots: two alternating over the backward's layers, then one per deferred layer.
    private let gradientSlots: [any DeviceBuffer]
    private let gradientTensors: [DecoderLayerTensors]
    private let gradientReady: [any DeviceEvent]
    private let gradientSent: [any DeviceEvent]
    /// A partial gradient sum is back in the slot (accumulation).
    private let gradientLoaded: [any DeviceEvent]

    // Two (N,C) f32 hidden buffers: layer i reads hidden[i mod 2] (forward and backward).
    // Checkpoint x_i crosses PCIe from and to hidden[i mod 2] itself (f32 checkpoints) or
    // checkpointStaging[i mod 2] (bf16: rounded from / widened into hidden[i mod 2] on the
    // compute queue); the events below are per index b and name that device buffer.
    let hidden: [any DeviceBuffer]
    /// (N,C) bf16 x 2 with bf16 checkpoints, else empty.
    private let checkpointStaging: [any DeviceBuffer]
    /// x_i is ready to leave (in hidden[b], or rounded into checkpointStaging[b]).
    private let hiddenProduced: [any DeviceEvent]
    /// Checkpoint x_i has left the device buffer.
    private let hiddenSaved: [any DeviceEvent]
    /// A checkpoint has arrived in the device buffer.
    private let hiddenLoaded: [any DeviceEvent]
    /// The compute that last read hidden[b] (and, after it, checkpointStaging[b]) is done.
    let hiddenReleased: [any DeviceEvent]

    private let resident: ResidentParameters
    let model: ModelLevelParameters
    /// Per model-level tensor (`model.all`'s order): its updated weights are on the device.
    private let modelLoaded: [any DeviceEvent]
    /// The model-level gradients about to be sent are final.
    private let modelGradientsReady: any DeviceEvent
    /// The host-updated model-level gradients have left for the host: the next step may zero them.
    private let modelGradientsSent: any DeviceEvent
    /// The step's backward is done on the compute queue (`loadNextWindowEarly` stops waiting).
    private let backwardDone: any DeviceEvent
    /// (weights, gradients) of the resident layers.
    private let residentTensors: [(DecoderLayerTensors, DecoderLayerTensors)]
    private let layer: DecoderLayer
    let ids: any DeviceBuffer            // (N) i32
    let targets: any DeviceBuffer        // (N) i32, labels shifted left by one
    private let positions: any DeviceBuffer      // (N) i32
    let normedFinal: any DeviceBuffer    // (N,C) storage
    private let rstdFinal: any DeviceBuffer      // (N) f32
    let dNormedFinal: any DeviceBuffer   // (N,C) storage; f32 when streamed (summed over chunks)
    let dResidual: any DeviceBuffer      // (N,C) f32
    let lossSums: any DeviceBuffer       // (micro-batches) f32
    /// One f32 Σ g² per tensor: the layers' tensors in layer order, then the embedding, final
    /// norm and LM head (`DeviceTrainingState`'s order).
    let squareSums: any DeviceBuffer
    private var squareSumsHost: [Float]
    private let layerSegments: [DecaySegment]
    private let chunkTokens: Int

    // Host arenas.
    /// The streamed layers' fp32 masters, pinned where they are: the H2D source of their weights.
    private let registeredMasters: [any PinnedHostMemory]
    /// (layer) f32 on the device: masters pass through it on the H2D queue when converted to bf16.
    let uploadScratch: any DeviceBuffer
    /// The streamed placement's chunk buffers (nil for the others).
    private let streamed: StreamedModelLevel?
    /// Streamed, one micro-batch, no clipping: the embedding's gradient leaves as the batch's
    /// distinct rows (`sendEmbeddingRows`); false sends every chunk whole (to compare the two).
    var sendsEmbeddingRows = true
    /// The landing buffers the embedding's rows took when last sent as rows.
    var embeddingRowLandings = 0
    /// Streamed placement with a landing buffer per streamed layer (clipping, accumulation, or
    /// asked for): each part of the embedding, final norm and LM head has one of its own too (by
    /// update unit), instead of 2 layer-sized ones for all.
    let ownLanding: [Int: Int]
    /// Streamed placement with the layers' ring: the embedding's and LM head's chunks take turns
    /// on these vocabulary-chunk-sized landing buffers (their updates start as each lands), and
    /// the final norm lands in the layers' ring.
    let streamedLanding: Range<Int>
    private var nextStreamedLanding = 0
    /// Per layer but the last, (N,C) of `checkpointType`.
    let checkpoints: [any PinnedHostMemory]
    /// Gradients (`gradientType`) of one layer's size: one per streamed layer and 2 for the
    /// model-level parts, or a ring that both share; then, streamed, one per model-level part
    /// (`ownLanding`) or a ring of vocabulary chunks (`streamedLanding`), always f32.
    let landing: [any PinnedHostMemory]
    /// How the layers' and host-placed model-level parts' gradients leave the device.
    let gradientType: GradientElementType
    /// (pieces) bf16 on the device: `.bf16` gradients are rounded into it on the D2H queue.
    private let downloadScratch: (any DeviceBuffer)?
    /// Every streamed layer has its own landing buffer (needed by clipping and accumulation).
    private let landingPerLayer: Bool
    let landed: [any DeviceEvent]
    /// (optimizer unit, its update count) that last read each landing buffer.
    var landingUser: [(unit: Int, updates: Int)?]
    private var nextLanding = 0
    /// Landing buffers the model-level parts take turns on: every one in a ring, else the 2 extra.
    private let modelLanding: Range<Int>
    private var nextModelLanding = 0
    let optimizerPool: WorkerPool
    let worker: LayerOptimizerWorker

    private var hostTargets: [Int32]
    private var hostPositions: [Int32]
    private var positionsSeqLen = 0
    private var lossHost: [Float]

    /// `host`: the starting masters and moments (its step is the updates already applied).
    /// `window` (2...streamed layers, or fewer when there are fewer), `residentLayers` and
    /// `landingBuffers` (≥ 1; one per streamed layer for clipping or accumulation, which adds 2
    /// for the host-placed model-level parts) come from the plan; `maxMicroBatches`: the most micro-batches a step accumulates;
    /// `modelLevel`: where the embedding, final norm and LM head are (gpu, host or streamed: the
    /// plan's); `vocabChunkRows`: rows per chunk when streamed (nil: the planner's
    /// `vocabChunkRows`); `checkpointType`: the layer inputs kept for the backward (the plan's);
    /// `mlpChunkTokens`: tokens per MLP chunk of the layer workspace (the plan's);
    /// `deferredGradients`: the plan's `deferredGradients` (0 when landing buffers are per layer);
    /// `keptAttentionLayers`: the plan's (the first layers keep their attention output for the backward);
    /// `optimizerThreads` run the CPU AdamW; `measure` records timing events.
    public init(host: HostTrainingState, backend: any QueuedTransfers, storage: ElementType, window: Int,
                residentLayers: Int = 0, modelLevel: ModelLevelPlacement = .host, vocabChunkRows: Int? = nil,
                landingBuffers: Int, maxBatch: Int, maxSeqLen: Int, maxMicroBatches: Int = 1,
                checkpointType: CheckpointElementType = .f32, mlpChunkTokens: Int = MemoryPlanner.mlpChunkTokens,
                deferredGradients: Int = 0, keptAttentionLayers: Int = 0, gradientType: GradientElementType = .f32,
                hyperparameters: AdamWHyperparameters, optimizerThreads: Int = WorkerPool.defaultThreadCount,
                measure: Bool = false) throws {
        let layout = host.masters.layout, c = layout.config, L = c.numLayers
        guard L >= 1, residentLayers >= 0, residentLayers <= L else {
            throw UsageError("resident layers must be between 0 and \(L) (got \(residentLayers))")
        }
        let streamed = L - residentLayers
        guard window >= min(2, streamed), window <= streamed else {
            throw UsageError("window must be between \(min(2, streamed)) and \(streamed) layers (got \(window))")
        }
        guard landingBuffers >= 1, maxBatch >= 1, maxSeqLen >= 1, maxMicroBatches >= 1, mlpChunkTokens >= 1 else {
            throw UsageError("landing buffers, batch, sequence length, micro-batches and MLP chunk tokens must be positive")
        }
        let perLayerLanding = min(landingBuffers, max(1, streamed)) >= streamed
        guard deferredGradients >= 0, deferredGradients <= streamed, deferredGradients == 0 || !perLayerLanding else {
            throw UsageError("deferred gradients: 0 to \(streamed) layers, and only with a ring of landing buffers "
                             + "(got \(deferredGradients) of \(landingBuffers) landing buffers)")
        }
        guard modelLevel != .auto else { throw UsageError("the engine takes a resolved placement (gpu, host or streamed)") }
        guard gradientType == .f32 || maxMicroBatches == 1 else {
            throw UsageError("bf16 gradients need one micro-batch per step (accumulated partial sums stay f32)")
        }
        guard modelLevel != .streamed || layout.lmHead != nil else {
            throw UsageError("the streamed placement needs an untied LM head (a tied head is the embedding)")
        }
        precondition(storage != .i32, "storage is f32 or bf16")
        self.layout = layout
        deferredLayers = deferredGradients
        self.gradientType = gradientType
        self.backend = backend
        self.storage = storage
        self.window = window
        self.residentLayers = residentLayers
        self.modelLevel = modelLevel
        self.maxBatch = maxBatch
        self.maxSeqLen = maxSeqLen
        self.maxMicroBatches = maxMicroBatches
        self.checkpointType = checkpointType
        self.hyperparameters = hyperparameters
        self.host = host
        updates = host.step
        let n = maxBatch * maxSeqLen, C = c.hiddenSize, count = layout.layer.count
        guard (0...L).contains(keptAttentionLayers) else {
            throw UsageError("kept attention layers must be between 0 and \(L) (got \(keptAttentionLayers))")
        }
        keptAttention = try (0..<keptAttentionLayers).map { _ in
            KeptAttention(out: try backend.makeBuffer(storage, count: n * c.qDim).ref(),
                          lse: try backend.makeBuffer(.f32, count: n * c.numHeads).ref())
        }

        compute = backend.computeQueue
        hostToDevice = try backend.makeQueue()
        deviceToHost = try backend.makeQueue()
        recorders = measure ? try (0..<2).map { _ in try StepRecorder(backend: backend) } : nil
        func events(_ k: Int) throws -> [any DeviceEvent] { try (0..<k).map { _ in try backend.makeEvent(timing: false) } }

        let slots = try (0..<window).map { _ in try backend.makeBuffer(storage, count: count) }
        let norms = try storage == .f32 ? [] : slots.map { _ in try NormWeightCopies(layout: layout.layer, backend: backend) }
        self.slots = slots
        slotNorms = norms
        slotTensors = slots.indices.map {
            DecoderLayerTensors(layout: layout.layer, buffer: slots[$0], norms: norms.isEmpty ? nil : norms[$0])
        }
        slotLoaded = try events(window)
        slotReleased = try events(window)
        slotContent = Array(repeating: nil, count: window)
        gradientSlots = try (0..<(2 + deferredGradients)).map { _ in try backend.makeBuffer(.f32, count: count) }
        gradientTensors = gradientSlots.map { DecoderLayerTensors(layout: layout.layer, buffer: $0) }
        gradientReady = try events(gradientSlots.count)
        gradientSent = try events(gradientSlots.count)
        gradientLoaded = try events(gradientSlots.count)
        hidden = try (0..<2).map { _ in try backend.makeBuffer(.f32, count: n * C) }
        checkpointStaging = try checkpointType == .f32 ? [] : (0..<2).map { _ in
            try backend.makeBuffer(checkpointType.elementType, count: n * C)
        }
        hiddenProduced = try events(2)
        hiddenSaved = try events(2)
        hiddenLoaded = try events(2)
        hiddenReleased = try events(2)

        resident = try ResidentParameters(layout: layout, host: host, decoderLayers: residentLayers,
                                          modelLevel: modelLevel == .gpu, storage: storage, backend: backend)
        resident.releaseHostMoments(of: host)
        let pool = WorkerPool(threads: optimizerThreads)
        let chunkRows = vocabChunkRows ?? MemoryPlanner.vocabChunkRows(c, tokens: n, mlpChunkTokens: mlpChunkTokens)
        guard chunkRows >= 1 else { throw UsageError("vocabulary chunks need at least one row (got \(chunkRows))") }
        model = try ModelLevelParameters(layout: layout, host: host, storage: storage, onDevice: resident.modelLevel,
                                         partElements: count, streamedRows: modelLevel == .streamed ? chunkRows : nil,
                                         firstUnit: streamed, backend: backend)
        let workspace = try DecoderLayerWorkspace(
            config: c, maxTokens: n, mlpChunkTokens: mlpChunkTokens, storage: storage,
            sharedScratchBytes: modelLevel == .streamed
                ? StreamedModelLevel.logitsBytes(tokens: n, chunkRows: chunkRows, storage: storage) : 0,
            backend: backend)
        self.streamed = modelLevel == .streamed
            ? try StreamedModelLevel(config: c, tokens: n, chunkRows: chunkRows, storage: storage,
                                     logitsMemory: workspace.sharedScratch, backend: backend) : nil
        uploadScratch = try backend.makeBuffer(.f32, count: storage == .f32 ? 1 : min(count, MemoryPlanner.uploadPieceElements))
        downloadScratch = gradientType == .f32 ? nil
            : try backend.makeBuffer(.bf16, count: min(count, MemoryPlanner.uploadPieceElements))
        modelLoaded = try events(model.all.count)
        modelGradientsReady = try backend.makeEvent(timing: false)
        modelGradientsSent = try backend.makeEvent(timing: false)
        backwardDone = try backend.makeEvent(timing: false)
        residentTensors = resident.layers.map {
            (DecoderLayerTensors(layout: layout.layer, buffer: $0.weights, norms: $0.norms),
             DecoderLayerTensors(layout: layout.layer, buffer: $0.gradients))
        }
        let invFreq = try backend.makeBuffer(RopeFrequencies.inverseFrequencies(
            headDim: c.headDim, theta: c.ropeTheta, scaling: RopeFrequencyScaling(c.ropeScaling)))
        layer = DecoderLayer(config: c, backend: backend, workspace: workspace, invFreq: invFreq.ref())
        ids = try backend.makeBuffer(.i32, count: n)
        targets = try backend.makeBuffer(.i32, count: n)
        positions = try backend.makeBuffer(.i32, count: n)
        normedFinal = try backend.makeBuffer(storage, count: n * C)
        rstdFinal = try backend.makeBuffer(.f32, count: n)
        dNormedFinal = try backend.makeBuffer(modelLevel == .streamed ? .f32 : storage, count: n * C)
        dResidual = try backend.makeBuffer(.f32, count: n * C)
        lossSums = try backend.makeBuffer(.f32, count: maxMicroBatches)
        lossHost = [Float](repeating: 0, count: maxMicroBatches)
        layerSegments = OptimizerSegments(layout.layer.tensors).segments
        let tensors = L * layerSegments.count + model.all.reduce(0) { $0 + $1.segments.segments.count }
        squareSums = try backend.makeBuffer(.f32, count: tensors)
        squareSumsHost = [Float](repeating: 0, count: tensors)
        chunkTokens = MemoryPlanner.crossEntropyChunkTokens(c, tokens: n)
        hostTargets = [Int32](repeating: ignoredTarget, count: n)
        hostPositions = [Int32](repeating: 0, count: n)

        registeredMasters = try (residentLayers..<L).map { i in
            let w = host.buffers[i].weights.pointer
            return try backend.registerHostMemory(UnsafeMutableRawPointer(w.baseAddress!), bytes: w.count * 4)
        }
        checkpoints = try (0..<max(0, L - 1)).map { _ in
            try backend.makePinnedHostMemory(bytes: n * C * checkpointType.byteSize)
        }
        let layerLanding = min(landingBuffers, max(1, streamed))
        landingPerLayer = perLayerLanding
        modelLanding = landingPerLayer ? layerLanding..<(layerLanding + (modelLevel == .host ? 2 : 0)) : 0..<layerLanding
        var landing = try (0..<modelLanding.upperBound).map { _ in
            try backend.makePinnedHostMemory(bytes: count * gradientType.byteSize)
        }
        var ownLanding: [Int: Int] = [:]
        var streamedRing = 0
        if modelLevel == .streamed && perLayerLanding {
            for t in model.all {
                for part in t.parts {
                    ownLanding[part.unit] = landing.count
                    landing.append(try backend.makePinnedHostMemory(bytes: part.range.count * 4))
                }
            }
        } else if modelLevel == .streamed {
            let largest = model.all.filter(\.streamed).flatMap(\.parts).map(\.range.count).max() ?? 0
            streamedRing = MemoryPlanner.streamedLandingRing(chunkElements: largest)
            for _ in 0..<streamedRing { landing.append(try backend.makePinnedHostMemory(bytes: largest * 4)) }
        }
        streamedLanding = (landing.count - streamedRing)..<landing.count
        self.landing = landing
        self.ownLanding = ownLanding
        landed = try events(landing.count)
        landingUser = Array(repeating: nil, count: landing.count)

        let segments = OptimizerSegments(layout.layer.tensors)
        var layers: [LayerOptimizerWorker.Layer] = []
        for i in residentLayers..<L {
            let b = host.buffers[i]
            precondition(b.name == "model.layers.\(i)" && b.weights.count == count, "host state of another layout")
            layers.append(.init(masters: b.weights.pointer.baseAddress!, m: b.moments.expAvg, v: b.moments.expAvgSq,
                                moments: b.moments, segments: segments, count: count))
        }
        layers += model.units
        optimizerPool = pool
        // The next forward needs the embedding first, then the layers in order, the final norm and
        // the LM head's chunks last.
        var ranks = (0..<streamed).map { $0 + 1 }
        ranks += Array(repeating: 0, count: model.units.count)
        for part in model.embedding.parts { ranks[part.unit] = 0 }
        for part in model.finalNorm.parts { ranks[part.unit] = streamed + 1 }
        for (c, part) in (model.lmHead?.parts ?? []).enumerated() { ranks[part.unit] = streamed + 2 + c }
        worker = LayerOptimizerWorker(optimizer: AdamW(hyperparameters), layers: layers, ranks: ranks, pool: pool)
    }

    deinit {
        worker.shutdown()
        compute.synchronize()
        hostToDevice.synchronize()
        deviceToHost.synchronize()
        optimizerPool.shutdown()
    }

    // MARK: The step

    /// What one optimizer step reports.
    public struct StepResult: Sendable {
        /// Σ cross-entropy over the step's target tokens (each micro-batch's f32 sum, added in
        /// fp64 in micro-batch order, as the trainer adds `forwardBackward`'s results).
        public let lossSum: Double
        /// Target tokens of the whole step (the loss scale is 1 / this).
        public let targets: Int
        /// The global 2-norm of the step's gradients before clipping.
        public let gradientNorm: Double
    }

    /// One optimizer step on one batch (B x T, HF labels), without clipping.
    public func step(inputIds: [Int32], labels: [Int32], batch: Int, seqLen: Int,
                     learningRate: Double) throws -> StepResult {
        try step([MicroBatch(batchSize: batch, seqLen: seqLen, inputIds: inputIds, labels: labels)],
                 learningRate: learningRate)
    }

    /// One optimizer step over `microBatches` (gradient accumulation): forward and backward of
    /// each, the cross-entropy of every token scaled by 1 / (target tokens of the whole step),
    /// the layers' fp32 gradients summed over the micro-batches, then AdamW with `learningRate`
    /// and, when `maxGradNorm` > 0, the gradients multiplied by torch's clip_grad_norm_
    /// coefficient. Nothing runs when a micro-batch is invalid.
    ///
    /// Accumulation: a streamed layer's gradient crosses to its own landing buffer after every
    /// micro-batch; before the layer's backward of the next micro-batch, the partial sum comes
    /// back into the gradient slot and the backward adds to it, exactly as resident training
    /// adds into its gradient buffers. That costs 4 B/param of H2D per extra micro-batch (the
    /// backward's H2D queue carries little else) and no host memory bandwidth, which the host
    /// AdamW needs; a host-side sum would also round differently from resident training.
    ///
    /// Clipping: Σ g² of every tensor is taken on the device right after its last backward,
    /// so the norm is known when the backward ends; then the updates run in forward order —
    /// resident layers and the embedding / final norm / LM head on the device, the streamed
    /// layers on the AdamW thread — and the next step's forward of layer i waits only for
    /// AdamW(i). Without clipping a layer's update starts as soon as its gradient is final.
    ///
    /// The step's host AdamW may still be running on return; the next step waits for each
    /// layer's update just before loading it.
    public func step(_ microBatches: [MicroBatch], learningRate: Double, maxGradNorm: Double = 0) throws -> StepResult {
        guard !microBatches.isEmpty, microBatches.count <= maxMicroBatches else {
            throw UsageError("a step takes 1 to \(maxMicroBatches) micro-batches (got \(microBatches.count))")
        }
        if hostHoldsResidentMoments {
            resident.releaseHostMoments(of: host)
            hostHoldsResidentMoments = false
        }
        let clipping = maxGradNorm > 0
        guard landingPerLayer || (microBatches.count == 1 && !clipping) else {
            throw UsageError("clipping and gradient accumulation need a gradient landing buffer per streamed layer")
        }
        for b in microBatches { try validate(b) }
        let normalization = StepNormalization(targetCounts: microBatches.map(\.targetTokenCount))
        let version = updates
        recording?.begin(step: version + 1, on: compute)
        // The last step's D2H of host-updated gradients may still be reading them.
        computeWaits(for: modelGradientsSent, on: .deviceToHost)
        onCompute {
            backend.fill(lossSums.ref(), count: lossSums.count, value: 0)
            backend.fill(squareSums.ref(), count: squareSums.count, value: 0)
            for t in model.all {
                if let g = t.gradients { backend.fill(g.ref(), count: g.count, value: 0) }
            }
        }
        for (k, b) in microBatches.enumerated() {
            try pass(b, index: k, last: k == microBatches.count - 1, scale: normalization.lossScale,
                     version: version, learningRate: learningRate, eager: !clipping)
        }
        if !clipping { loadNextWindowEarly(version: version + 1) }

        // The norm (and the losses) once the backward is done: Σ g² per tensor in the order of
        // `DeviceTrainingState.gradientNorm`, added in fp64.
        squareSumsHost.withUnsafeMutableBytes { backend.download(squareSums.ref(), into: $0) }
        lossHost.withUnsafeMutableBytes { backend.download(lossSums.ref(), into: $0) }
        let norm = squareSumsHost.reduce(0.0) { $0 + Double($1) }.squareRoot()
        if clipping {
            let coefficient = GradientClipping.coefficient(totalNorm: norm, maxNorm: maxGradNorm)
            onCompute {
                for b in resident.layers {
                    resident.update(b, hyperparameters: hyperparameters, learningRate: learningRate, step: version + 1,
                                    gradScale: coefficient)
                }
            }
            // In the order the next forward needs them.
            sendModelGradients([model.embedding], version: version, learningRate: learningRate, gradScale: coefficient)
            for i in residentLayers..<config.numLayers {
                submitUpdate(layer: i, landing: i - residentLayers, version: version,
                             learningRate: learningRate, gradScale: coefficient)
            }
            sendModelGradients([model.finalNorm] + (model.lmHead.map { [$0] } ?? []), version: version,
                               learningRate: learningRate, gradScale: coefficient)
        }
        updates = version + 1
        finishTelemetry(step: version, end: recorders?[(version + 1) % 2].start)
        let lossSum = lossHost[0..<microBatches.count].reduce(0.0) { $0 + Double($1) }
        return StepResult(lossSum: lossSum, targets: normalization.totalTargets, gradientNorm: norm)
    }

    /// Forward and backward of micro-batch `index` of a step. The last one takes each tensor's
    /// Σ g² and, when `eager` (no clipping), starts each update as soon as its gradient is final.
    private func pass(_ batch: MicroBatch, index: Int, last: Bool, scale: Float, version: Int,
                      learningRate: Double, eager: Bool) throws {
        let grid = upload(batch)
        let L = config.numLayers, n = grid.tokens, C = config.hiddenSize

        // Forward: layer i reads hidden[i mod 2], writes hidden[(i+1) mod 2]; its input goes to the host.
        if let streamed {
            loadGatheredEmbedding(batch, version: version, streamed: streamed) {
                // Where the first layer's update is under way (the AdamW keeps up with the
                // backward), its weights go ahead of the gathered rows on the H2D queue, and the
                // update runs before the gather rather than taking turns with it on the host's threads.
                // (Unit 0 is the first streamed layer.)
                if residentLayers < L - deferredLayers, worker.hasStarted(layer: 0, count: version) {
                    loadWeights(residentLayers, version: version)
                }
            }
        } else {
            loadModelWeights(model.embedding, version: version)
            onCompute {
                backend.embeddingForward(out: hidden[0].ref(), ids: ids.ref(), table: model.embedding.deviceWeights.ref(),
                                         tokens: n, channels: C, vocab: config.vocabSize)
            }
        }
        for i in 0..<L {
            // The last step's deferred gradients leave as landing buffers free up, layer i's at the latest.
            sendDeferred(through: i)
            // Layer i waits for its update; the layers ahead are prefetched only when theirs is
            // done, so the forward of i is enqueued while the AdamW of later layers still runs.
            let first = max(i, residentLayers)
            for j in first..<min(L, first + window) { loadWeights(j, version: version, wait: j == i) }
            let x = i % 2, y = (i + 1) % 2
            if let k = slot(i) { computeWaits(for: slotLoaded[k], on: .hostToDevice) }
            if i < L - 1 { saveCheckpoint(i, tokens: n) }
            // An f32 checkpoint x_{i-1} leaves from hidden[y] itself: overwrite it after that.
            if checkpointStaging.isEmpty { computeWaits(for: hiddenSaved[y], on: .deviceToHost) }
            onCompute {
                layer.forward(input: hidden[x].ref(), output: hidden[y].ref(), weights: weights(i), grid: grid,
                              keep: kept(i))
            }
            if let k = slot(i) { slotReleased[k].record(on: compute) }
        }

        // Loss: final norm, fused LM head + cross-entropy, the final norm's backward.
        let lastHidden = L % 2
        let head = model.lmHead ?? model.embedding
        let finalNorm = model.finalNorm
        loadModelWeights(finalNorm, version: version)
        onCompute {
            backend.rmsNormForward(out: normedFinal.ref(), rstd: rstdFinal.ref(), inp: hidden[lastHidden].ref(),
                                   weight: finalNorm.deviceWeights.ref(), rows: n, cols: C, eps: Float(config.rmsNormEps))
        }
        if let streamed {
            streamedCrossEntropy(head, index: index, last: last, scale: scale, version: version,
                                 learningRate: learningRate, tokens: n, streamed: streamed)
        } else {
            loadModelWeights(head, version: version)
            onCompute {
                backend.linearCrossEntropy(lossSum: lossSums.ref(index), dHidden: dNormedFinal.ref(),
                                           dWeight: head.deviceGradients.ref(), hidden: normedFinal.ref(),
                                           weight: head.deviceWeights.ref(), targets: targets.ref(), tokens: n,
                                           channels: C, vocab: config.vocabSize, scale: scale, chunkTokens: chunkTokens)
            }
        }
        onCompute {
            backend.rmsNormBackward(dInp: dResidual.ref(), dWeight: finalNorm.deviceGradients.ref(),
                                    dOut: dNormedFinal.ref(), inp: hidden[lastHidden].ref(),
                                    weight: finalNorm.deviceWeights.ref(), rstd: rstdFinal.ref(), rows: n, cols: C,
                                    accumulate: false)
        }
        hiddenReleased[lastHidden].record(on: compute)
        if last && eager {
            // Final now (a tied head's gradient also gets the embedding's backward).
            sendModelGradients([model.finalNorm] + (model.lmHead.map { [$0] } ?? []), version: version,
                               learningRate: learningRate, gradScale: 1)
        }

        // Backward: x_{L-1} is still on the device; every other input comes back from the host.
        for i in stride(from: L - 1, through: 0, by: -1) {
            for j in stride(from: i, to: max(residentLayers - 1, i - window), by: -1) { loadWeights(j, version: version) }
            if i >= 1 { loadCheckpoint(i - 1, tokens: n) }
            let x = i % 2
            if i < L - 1 { restoreCheckpoint(i, tokens: n) }
            if let k = slot(i) {
                // A deferred layer (only with the ring: one micro-batch, no clipping) keeps its slot.
                let defers = i >= L - deferredLayers
                let g = defers ? 2 + (L - 1 - i) : (L - 1 - i) % 2
                let r = defers ? nil : landingIndex(for: i)
                computeWaits(for: slotLoaded[k], on: .hostToDevice)
                if index == 0 {
                    computeWaits(for: gradientSent[g], on: .deviceToHost)
                    onCompute { backend.fill(gradientSlots[g].ref(), count: gradientSlots[g].count, value: 0) }
                } else if let r {
                    loadPartialGradient(landing: r, slot: g)
                    computeWaits(for: gradientLoaded[g], on: .hostToDevice)
                }
                onCompute {
                    layer.backward(input: hidden[x].ref(), dResidual: dResidual.ref(), weights: slotTensors[k],
                                   gradients: gradientTensors[g], grid: grid, kept: kept(i))
                    if last { sumOfSquares(of: gradientSlots[g], layer: i) }
                }
                hiddenReleased[x].record(on: compute)
                slotReleased[k].record(on: compute)
                gradientReady[g].record(on: compute)
                if let r {
                    sendGradients(slot: g, landing: r)
                    if last && eager {
                        submitUpdate(layer: i, landing: r, version: version, learningRate: learningRate, gradScale: 1)
                    }
                } else {
                    deferred.insert((i, g, version, learningRate), at: 0)
                }
            } else {
                let b = resident.layers[i]
                onCompute {
                    if index == 0 { backend.fill(b.gradients.ref(), count: b.gradients.count, value: 0) }
                    layer.backward(input: hidden[x].ref(), dResidual: dResidual.ref(), weights: residentTensors[i].0,
                                   gradients: residentTensors[i].1, grid: grid, kept: kept(i))
                    if last { sumOfSquares(of: b.gradients, layer: i) }
                    if last && eager {
                        resident.update(b, hyperparameters: hyperparameters, learningRate: learningRate, step: version + 1,
                                        gradScale: 1)
                    }
                }
                hiddenReleased[x].record(on: compute)
            }
        }

        onCompute {
            backend.dropPaddingLookups(dResidual.ref(), inputIds: batch.inputIds, tokens: n, channels: C,
                                       padId: config.padTokenId)
        }
        if let streamed {
            streamedEmbeddingBackward(index: index, last: last, version: version, learningRate: learningRate,
                                      inputIds: batch.inputIds, streamed: streamed)
        } else {
            onCompute {
                backend.embeddingBackward(dTable: model.embedding.deviceGradients.ref(), dOut: dResidual.ref(),
                                          ids: ids.ref(), tokens: n, channels: C, vocab: config.vocabSize)
            }
        }
        if last {
            onCompute {
                for b in model.all where !b.streamed {
                    for (k, s) in b.segments.segments.enumerated() {
                        backend.sumOfSquares(b.deviceGradients.ref(s.range.lowerBound), count: s.range.count,
                                             into: squareSums.ref(squareSumSlot(of: b) + k))
                    }
                }
            }
        }
        if last && eager {
            sendModelGradients([model.embedding], version: version, learningRate: learningRate, gradScale: 1)
            sendDeferred(through: -1)
        }
    }

    /// Sends deferred gradients in forward order while the ring's next landing buffer is free,
    /// and those of layers ≤ `layer` in any case (waiting on the host for a landing buffer),
    /// handing each update to the AdamW thread.
    private func sendDeferred(through layer: Int) {
        while let d = deferred.first {
            if d.layer > layer, let user = landingUser[nextLanding],
               !worker.hasUpdate(layer: user.unit, count: user.updates) { return }
            deferred.removeFirst()
            let r = landingIndex(for: d.layer)
            sendGradients(slot: d.slot, landing: r)
            submitUpdate(layer: d.layer, landing: r, version: d.version, learningRate: d.learningRate, gradScale: 1)
        }
    }

    /// Enqueues D2H of each part of these tensors' (final) gradients into a landing buffer and
    /// hands its update number version + 1 to the AdamW thread.
    /// GPU-updated tensors are updated on the compute queue instead.
    private func sendModelGradients(_ tensors: [ModelLevelParameters.Tensor], version: Int, learningRate: Double,
                                    gradScale: Float) {
        let onDevice = tensors.compactMap(\.device)
        if !onDevice.isEmpty {
            onCompute {
                for b in onDevice {
                    resident.update(b, hyperparameters: hyperparameters, learningRate: learningRate, step: version + 1,
                                    gradScale: gradScale)
                }
            }
        }
        // Streamed tensors' chunks have landed in buffers of their own (`streamedCrossEntropy`,
        // `streamedEmbeddingBackward`): their updates only need submitting. (Those of the
        // streamed ring were submitted as each chunk landed.)
        for t in tensors where t.streamed {
            for part in t.parts {
                guard let r = ownLanding[part.unit] else { continue }
                submit(unit: part.unit, landing: r, version: version, learningRate: learningRate, gradScale: gradScale)
            }
        }
        let tensors = tensors.filter { $0.device == nil && !$0.streamed }
        guard !tensors.isEmpty else { return }
        modelGradientsReady.record(on: compute)
        deviceToHost.wait(for: modelGradientsReady)
        for t in tensors {
            for part in t.parts {
                let r = ownLanding[part.unit] ?? takeModelLanding()
                if let user = landingUser[r], worker.waitForUpdate(layer: user.unit, count: user.updates) {
                    recording?.noteOptimizerWait()
                }
                sendToLanding(t.deviceGradients.ref(part.range.lowerBound), count: part.range.count, landing: r)
                recordCopies(landed[r], on: .deviceToHost)
                submit(unit: part.unit, landing: r, version: version, learningRate: learningRate, gradScale: gradScale)
            }
        }
        recordCopies(modelGradientsSent, on: .deviceToHost)
    }

    /// Enqueues H2D of a model-level tensor's compute weights of `version` from its masters
    /// (after waiting on the host for the update of each part), unless already there; the
    /// compute queue waits for it. GPU-updated tensors are always current.
    func loadModelWeights(_ t: ModelLevelParameters.Tensor, version: Int) {
        guard let registration = t.registration, t.deviceVersion != version,
              let e = model.all.firstIndex(where: { $0 === t }) else { return }
        let masters = UnsafePointer(registration.bytes.assumingMemoryBound(to: Float.self))
        for part in t.parts {
            if worker.waitForUpdate(layer: part.unit, count: version) { recording?.noteOptimizerWait() }
            onHostToDevice(bytes: part.range.count * 4) {
                backend.copyToDevice(converting: masters + part.range.lowerBound, to: t.deviceWeights.ref(part.range.lowerBound),
                                     count: part.range.count, scratch: uploadScratch.ref(), on: hostToDevice)
            }
        }
        recordCopies(modelLoaded[e], on: .hostToDevice)
        compute.wait(for: modelLoaded[e])
        t.deviceVersion = version
    }

    /// Σ g² of each tensor of layer i's gradient into its slots of `squareSums`.
    private func sumOfSquares(of gradients: any DeviceBuffer, layer i: Int) {
        for (t, s) in layerSegments.enumerated() {
            backend.sumOfSquares(gradients.ref(s.range.lowerBound), count: s.range.count,
                                 into: squareSums.ref(i * layerSegments.count + t))
        }
    }

    /// The weight slot of a streamed layer; nil for a resident one.
    private func slot(_ j: Int) -> Int? { j < residentLayers ? nil : (j - residentLayers) % window }

    /// Layer i's kept attention, if it keeps it.
    private func kept(_ i: Int) -> KeptAttention? { i < keptAttention.count ? keptAttention[i] : nil }

    /// The compute weights layer j reads.
    func weights(_ j: Int) -> DecoderLayerTensors {
        slot(j).map { slotTensors[$0] } ?? residentTensors[j].0
    }

    /// While the backward's last layers still run, the next forward's window after its first
    /// layer: layers first+window-1 … first+1, whose updates end in that order, go to their
    /// slots (each once the backward has released it) behind the backward's own copies as their
    /// updates end, until the backward does; the forward loads the rest. The first layer's update
    /// ends after the backward; a deferred layer's starts only in the next forward.
    private func loadNextWindowEarly(version: Int) {
        let first = residentLayers, end = min(config.numLayers - deferredLayers, first + window)
        guard first + 1 < end else { return }
        backwardDone.record(on: compute)
        for j in stride(from: end - 1, to: first, by: -1) {
            while !worker.hasUpdate(layer: j - residentLayers, count: version) {
                if backwardDone.isComplete { return }
                usleep(200)
            }
            loadWeights(j, version: version)
        }
    }

    /// Enqueues H2D of streamed layer j's compute weights of `version` into its slot (from its
    /// fp32 masters, converted on the H2D queue), unless already there; waits for the layer's
    /// update unless `wait` is false (then it skips a layer whose update is not done yet). The
    /// copy goes piece by piece, each as soon as the update has written it, so a layer's copy
    /// runs behind its AdamW instead of after it.
    func loadWeights(_ j: Int, version: Int, wait: Bool = true) {
        guard let k = slot(j) else { return }
        if let c = slotContent[k], c.layer == j, c.version == version { return }
        let unit = j - residentLayers, count = layout.layer.count
        if !wait && !worker.hasUpdate(layer: unit, count: version) { return }
        hostToDevice.wait(for: slotReleased[k])
        let masters = UnsafePointer(registeredMasters[unit].bytes.assumingMemoryBound(to: Float.self))
        for lo in stride(from: 0, to: count, by: worker.pieceElements) {
            let hi = min(count, lo + worker.pieceElements)
            if worker.waitForUpdate(layer: unit, count: version, elements: hi) { recording?.noteOptimizerWait() }
            onHostToDevice(bytes: (hi - lo) * 4) {
                backend.copyToDevice(converting: masters + lo, to: slots[k].ref(lo), count: hi - lo,
                                     scratch: uploadScratch.ref(), on: hostToDevice)
            }
        }
        if worker.waitForUpdate(layer: unit, count: version) { recording?.noteOptimizerWait() }
        if !slotNorms.isEmpty {
            onHostToDevice(bytes: slotNorms[k].slots.reduce(0) { $0 + $1.slot.count * 4 }) {
                slotNorms[k].load(from: masters, backend: backend, on: hostToDevice)
            }
        }
        recordCopies(slotLoaded[k], on: .hostToDevice)
        slotContent[k] = (j, version)
    }

    /// The device buffer checkpoint x_j leaves from and comes back to.
    private func checkpointBuffer(_ j: Int) -> any DeviceBuffer {
        checkpointStaging.isEmpty ? hidden[j % 2] : checkpointStaging[j % 2]
    }

    /// Enqueues D2H of x_i (in hidden[i mod 2]) into its checkpoint. With bf16 checkpoints it is
    /// first rounded into its staging buffer on the compute queue, once that buffer's last
    /// checkpoint (x_{i-2}) has left.
    private func saveCheckpoint(_ i: Int, tokens n: Int) {
        let b = i % 2, bytes = n * config.hiddenSize * checkpointType.byteSize
        if !checkpointStaging.isEmpty {
            computeWaits(for: hiddenSaved[b], on: .deviceToHost)
            onCompute { backend.copy(hidden[b].ref(), to: checkpointStaging[b].ref(), count: n * config.hiddenSize) }
        }
        hiddenProduced[b].record(on: compute)
        deviceToHost.wait(for: hiddenProduced[b])
        onDeviceToHost(bytes: bytes) {
            backend.copyToHost(from: checkpointBuffer(i).ref(), to: checkpoints[i].bytes, bytes: bytes, on: deviceToHost)
        }
        recordCopies(hiddenSaved[b], on: .deviceToHost)
    }

    /// Enqueues H2D of checkpoint x_j into hidden[j mod 2] (or its staging buffer), after the
    /// compute that last read it; a staging buffer also after the forward's D2H from it.
    private func loadCheckpoint(_ j: Int, tokens n: Int) {
        let b = j % 2, bytes = n * config.hiddenSize * checkpointType.byteSize
        hostToDevice.wait(for: hiddenReleased[b])
        if !checkpointStaging.isEmpty { hostToDevice.wait(for: hiddenSaved[b]) }
        onHostToDevice(bytes: bytes) {
            backend.copyToDevice(from: checkpoints[j].bytes, to: checkpointBuffer(j).ref(), bytes: bytes, on: hostToDevice)
        }
        recordCopies(hiddenLoaded[b], on: .hostToDevice)
    }

    /// Orders the compute queue after the H2D of checkpoint x_i; a bf16 one is then widened
    /// into hidden[i mod 2] (exactly: bf16 → f32 is a shift).
    private func restoreCheckpoint(_ i: Int, tokens n: Int) {
        let b = i % 2
        computeWaits(for: hiddenLoaded[b], on: .hostToDevice)
        if !checkpointStaging.isEmpty {
            onCompute { backend.copy(checkpointStaging[b].ref(), to: hidden[b].ref(), count: n * config.hiddenSize) }
        }
    }

    /// Enqueues H2D of the partial gradient sum in landing buffer r into gradient slot g, once
    /// the slot's previous content has left and the partial sum has landed.
    private func loadPartialGradient(landing r: Int, slot g: Int) {
        hostToDevice.wait(for: gradientSent[g])
        hostToDevice.wait(for: landed[r])
        onHostToDevice(bytes: layout.layer.count * 4) {
            backend.copyToDevice(from: landing[r].bytes, to: gradientSlots[g].ref(), bytes: layout.layer.count * 4,
                                 on: hostToDevice)
        }
        recordCopies(gradientLoaded[g], on: .hostToDevice)
    }

    /// The landing buffer of streamed layer i's gradient: its own, or the next of the ring.
    private func landingIndex(for i: Int) -> Int {
        if landingPerLayer { return i - residentLayers }
        // The ring is every buffer up to the model-level ones (streamed chunks' own buffers follow).
        defer { nextLanding = (nextLanding + 1) % modelLanding.upperBound }
        return nextLanding
    }

    /// Enqueues D2H of gradient slot g into landing buffer r, once the AdamW that last read the
    /// buffer is done.
    private func sendGradients(slot g: Int, landing r: Int) {
        if let user = landingUser[r], worker.waitForUpdate(layer: user.unit, count: user.updates) {
            recording?.noteOptimizerWait()
        }
        deviceToHost.wait(for: gradientReady[g])
        sendToLanding(gradientSlots[g].ref(), count: layout.layer.count, landing: r)
        recordCopies(gradientSent[g], on: .deviceToHost)
        recordCopies(landed[r], on: .deviceToHost)
    }

    /// The element type landing buffer r holds: `gradientType`, but f32 in the streamed parts'
    /// own buffers (the final norm's included).
    private func landingType(_ r: Int) -> GradientElementType {
        r < modelLanding.upperBound ? gradientType : .f32
    }

    /// Enqueues D2H of `count` f32 gradients from `source` into landing buffer r, as its type.
    private func sendToLanding(_ source: TensorRef, count: Int, landing r: Int) {
        onDeviceToHost(bytes: count * landingType(r).byteSize) {
            if landingType(r) == .bf16, let scratch = downloadScratch {
                backend.copyToHost(converting: source, toBF16: landing[r].bytes.assumingMemoryBound(to: UInt16.self),
                                   count: count, scratch: scratch.ref(), on: deviceToHost)
            } else {
                backend.copyToHost(from: source, to: landing[r].bytes, bytes: count * 4, on: deviceToHost)
            }
        }
    }

    /// Hands streamed layer i's update number version + 1, from landing buffer r, to the AdamW thread.
    private func submitUpdate(layer i: Int, landing r: Int, version: Int, learningRate: Double, gradScale: Float) {
        submit(unit: i - residentLayers, landing: r, version: version, learningRate: learningRate, gradScale: gradScale)
    }

    /// Hands an optimizer unit's update number version + 1, from landing buffer r, to the AdamW thread.
    func submit(unit: Int, landing r: Int, version: Int, learningRate: Double, gradScale: Float) {
        let bytes = UnsafeRawPointer(landing[r].bytes)
        let gradients: GradientInput = landingType(r) == .bf16
            ? .bf16(bytes.assumingMemoryBound(to: UInt16.self)) : .f32(bytes.assumingMemoryBound(to: Float.self))
        worker.submit(.init(layer: unit, landed: landed[r], gradients: gradients,
                            learningRate: learningRate, gradScale: gradScale))
        landingUser[r] = (unit, version + 1)
    }

    /// Landing room for the embedding's rows at the end of the backward (`sendEmbeddingRows`), as
    /// (landing buffer, rows of `rowBytes`): the streamed chunks' ring, then the layers' ring but
    /// the buffer the first streamed layer's gradient just landed in (its update runs first in the
    /// next forward). The layers' ring is not needed again before the next backward, by which time
    /// the embedding's updates, which free it, have run in the forward.
    func embeddingRowRoom(rowBytes: Int) -> [(landing: Int, rows: Int)] {
        let layers = landingPerLayer ? [] : modelLanding.filter { landingUser[$0]?.unit != 0 }
        return (Array(streamedLanding) + layers).map { ($0, landing[$0].byteCount / rowBytes) }.filter { $0.rows > 0 }
    }

    /// The next of the streamed chunks' ring of landing buffers.
    func takeStreamedLanding() -> Int {
        defer { nextStreamedLanding = (nextStreamedLanding + 1) % streamedLanding.count }
        return streamedLanding.lowerBound + nextStreamedLanding
    }

    /// The next of the landing buffers the model-level parts take turns on.
    private func takeModelLanding() -> Int {
        defer { nextModelLanding = (nextModelLanding + 1) % modelLanding.count }
        return modelLanding.lowerBound + nextModelLanding
    }

    /// The first `squareSums` slot of a model-level tensor (one per segment, after the layers').
    func squareSumSlot(of t: ModelLevelParameters.Tensor) -> Int {
        var slot = config.numLayers * layerSegments.count
        for b in model.all {
            if b === t { return slot }
            slot += b.segments.segments.count
        }
        preconditionFailure("\(t.name) is not a model-level tensor")
    }
    func onCompute(_ body: () -> Void) { measured(.compute, on: compute, bytes: 0, body) }
    func onHostToDevice(bytes: Int, _ body: () -> Void) { measured(.hostToDevice, on: hostToDevice, bytes: bytes, body) }
    func onDeviceToHost(bytes: Int, _ body: () -> Void) { measured(.deviceToHost, on: deviceToHost, bytes: bytes, body) }

    /// The recorder of the step being enqueued.
    var recording: StepRecorder? { recorders?[(updates + 1) % 2] }

    private func measured(_ track: TelemetryTrack, on queue: any DeviceQueue, bytes: Int, _ body: () -> Void) {
        guard let recording else { return body() }
        do { try recording.measure(track, on: queue, bytes: bytes, body) } catch { fatalError("timing event: \(error)") }
    }

    /// Orders the compute queue after `event`, recorded on `track`'s queue.
    func computeWaits(for event: any DeviceEvent, on track: TelemetryTrack) {
        compute.wait(for: event)
        recording?.computeWaits(for: event, on: track)
    }

    /// Records `event` on `track`'s queue, after the copies enqueued so far.
    func recordCopies(_ event: any DeviceEvent, on track: TelemetryTrack) {
        event.record(on: track == .hostToDevice ? hostToDevice : deviceToHost)
        recording?.recorded(event, on: track)
    }

    /// Reads the telemetry of the step after `updates` = `version` - 1 updates (step `version`)
    /// when it was recorded and not yet read: its device work and AdamW are done once the next
    /// step's forward has run (or after a drain). `end`: the next step's start.
    private func finishTelemetry(step version: Int, end: ContinuousClock.Instant?) {
        guard version >= 1, let r = recorders?[version % 2], r.step == version else { return }
        // Units: the streamed layers, then the parts of the embedding / final norm / LM head (layer -1).
        let streamed = config.numLayers - residentLayers
        let optimizer = (0..<worker.unitCount).compactMap { u in
            worker.updateSpan(layer: u, count: version).map {
                (layer: u < streamed ? u + residentLayers : -1, start: $0.start, end: $0.end)
            }
        }
        telemetry = r.finish(optimizer: optimizer, end: end)
    }

    // MARK: Host side

    /// Waits for every queued update and copies the device-resident tensors' state into
    /// `host`: its masters and moments are then those of `updates` steps (for checkpoints).
    public func synchronizeHostState() {
        drain()
        resident.download(into: host)   // the host-updated state is on the host already
        hostHoldsResidentMoments = true
        for b in host.buffers { b.moments.step = updates }
    }

    /// Waits until every queue and the optimizer thread are idle.
    public func drain() {
        sendDeferred(through: Int.max)
        worker.drain()
        compute.synchronize()
        hostToDevice.synchronize()
        deviceToHost.synchronize()
        finishTelemetry(step: updates, end: nil)
    }

    /// Checks a micro-batch's shape, ids and labels against the model and the engine's sizes.
    private func validate(_ b: MicroBatch) throws {
        try TokenBatchValidation.checkShape(batch: b.batchSize, seqLen: b.seqLen, maxBatch: maxBatch, maxSeqLen: maxSeqLen)
        let n = b.batchSize * b.seqLen, V = config.vocabSize
        try TokenBatchValidation.checkIds(b.inputIds, expected: n, seqLen: b.seqLen, vocab: V)
        try TokenBatchValidation.checkLabels(b.labels, expected: n, seqLen: b.seqLen, vocab: V)
    }

    /// Uploads ids, shifted targets and (when T changes) positions of a validated micro-batch.
    private func upload(_ b: MicroBatch) -> TokenGrid {
        let (batch, seqLen) = (b.batchSize, b.seqLen), n = batch * seqLen
        for r in 0..<batch {
            for t in 0..<seqLen {
                hostTargets[r * seqLen + t] = t + 1 < seqLen ? b.labels[r * seqLen + t + 1] : ignoredTarget
            }
        }
        hostTargets.withUnsafeBytes { backend.upload(UnsafeRawBufferPointer(rebasing: $0[0..<(n * 4)]), to: targets.ref()) }
        b.inputIds.withUnsafeBytes { backend.upload($0, to: ids.ref()) }
        if positionsSeqLen != seqLen {
            for i in 0..<hostPositions.count { hostPositions[i] = Int32(i % seqLen) }
            backend.upload(hostPositions, to: positions.ref())
            positionsSeqLen = seqLen
        }
        return TokenGrid(batch: batch, seqLen: seqLen, positions: positions.ref())
    }
}
