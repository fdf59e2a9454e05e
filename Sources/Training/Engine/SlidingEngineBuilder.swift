import Backends
import Datasets
import ModelFormats
import Support

/// Sliding-window engines for `Trainer`: plans first (window, resident layers, landing
/// buffers for the GPU budget and the host's memory) and refuses a run that does not fit
/// before anything is allocated; caps the backend's pool to the budget less the CUDA context.
public final class SlidingEngineBuilder: TrainingEngineBuilder {
    public let backend: any QueuedTransfers
    public let storage: ElementType
    /// nil: not checked (the CPU backend).
    public let gpuBudget: Int?
    /// nil: `ResidentLayerChoice`.
    public let residentLayers: Int?
    /// nil: the plan's.
    public let window: Int?
    /// Landing buffers without clipping or accumulation (nil: the plan's ring).
    public let landingBuffers: Int?
    /// Where the embedding, final norm and LM head are updated.
    public let modelLevel: ModelLevelPlacement
    /// The activation checkpoints' element type.
    public let checkpointType: CheckpointElementType
    /// The element type of the host-bound gradients (nil: `GradientElementType.automatic` for
    /// the storage and the micro-batches).
    public let gradientType: GradientElementType?
    /// Tokens per MLP chunk of the layer workspace (planned, then built).
    public let mlpChunkTokens: Int
    /// Engines record `StepTelemetry`.
    public let measure: Bool
    /// The plan of the last `plan` call.
    public private(set) var chosen: SlidingWindowPlan?

    public init(backend: any QueuedTransfers, storage: ElementType, gpuBudget: Int?, residentLayers: Int?, window: Int?,
                landingBuffers: Int? = nil,
                modelLevel: ModelLevelPlacement = .auto, checkpointType: CheckpointElementType = .f32,
                gradientType: GradientElementType? = nil,
                mlpChunkTokens: Int = MemoryPlanner.mlpChunkTokens,
                measure: Bool = false) {
        self.backend = backend
        self.storage = storage
        self.gpuBudget = gpuBudget
        self.residentLayers = residentLayers
        self.window = window
        self.landingBuffers = landingBuffers
        self.modelLevel = modelLevel
        self.checkpointType = checkpointType
        self.gradientType = gradientType
        self.mlpChunkTokens = mlpChunkTokens
        self.measure = measure
    }

    public func plan(layout: ModelLayout, batchSize: Int, seqLen: Int, gradAccum: Int, maxGradNorm: Double,
                     documents: Int, hostBytes: Int?, log: (String) -> Void) throws {
        let c = layout.config
        let perLayer = maxGradNorm > 0 || gradAccum > 1
        let gradientType = self.gradientType ?? .automatic(storage: storage, microBatches: gradAccum)
        func planWith(residentLayers m: Int) -> SlidingWindowPlan {
            MemoryPlanner.plan(config: c, batchSize: batchSize, seqLen: seqLen, gpuBudget: gpuBudget,
                               hostBudget: hostBytes, clipping: perLayer, residentLayers: m, modelLevel: modelLevel,
                               checkpointType: checkpointType, mlpChunkTokens: mlpChunkTokens,
                               landingBuffers: landingBuffers, gradientType: gradientType)
        }
        var why = "as asked"
        var m = residentLayers ?? 0
        if residentLayers == nil {
            let rates = try ResidentLayerRates.forChoice(config: c, batchSize: batchSize, seqLen: seqLen, storage: storage,
                                                         bf16Gradients: gradientType == .bf16,
                                                         streamedPlan: planWith(residentLayers: 0), gpuBudget: gpuBudget,
                                                         backend: backend)
            log("resident-layer rates: \(rates.description)")
            (m, why) = ResidentLayerChoice.choose(config: c, batchSize: batchSize, seqLen: seqLen, gradAccum: gradAccum,
                                                  clipping: perLayer, gpuBudget: gpuBudget, hostBudget: hostBytes,
                                                  rates: rates, modelLevel: modelLevel, checkpointType: checkpointType,
                                                  mlpChunkTokens: mlpChunkTokens)
        }
        guard gradientType == .f32 || gradAccum == 1 else {
            throw UsageError("--gradient-dtype bf16 needs --grad-accum 1 (accumulated partial sums stay f32)")
        }
        guard m <= c.numLayers else { throw UsageError("--resident-layers \(m) exceeds the model's \(c.numLayers) layers") }
        let p = planWith(residentLayers: m)
        guard p.fits else { throw UsageError("the sliding-window plan does not fit:\n\(p.description)") }
        let streamed = c.numLayers - m
        if let k = window, k > p.window || k < min(2, streamed) {
            throw UsageError("--window \(k): between \(min(2, streamed)) and \(p.window) layers fit this plan")
        }
        if let budget = gpuBudget, let memory = backend as? DeviceMemoryReporting {
            memory.limitPool(toBytes: budget - MemoryPlanner.contextBytes)
        }
        chosen = p
        log(p.description)
        log("sliding-window engine: window \(window ?? p.window) of \(streamed) streamed layers, "
            + "\(m) resident layers (\(why)), \(p.gradientLandingBuffers) gradient landing buffers, "
            + "\(p.deferredGradients) deferred layer gradients, attention kept in \(p.keptAttentionLayers) layers, "
            + "embedding / final norm / LM head \(p.modelLevel.rawValue) (\(modelLevel.rawValue)), "
            + "\(checkpointType.rawValue) activation checkpoints, \(gradientType.rawValue) gradients to the host")
    }

    public func make(host: HostTrainingState, layout: ModelLayout, batchSize: Int, seqLen: Int, gradAccum: Int,
                     maxGradNorm: Double, hyperparameters: AdamWHyperparameters) throws -> any TrainingStepEngine {
        guard let p = chosen, p.batchSize == batchSize, p.seqLen == seqLen else {
            preconditionFailure("make before plan")
        }
        return try SlidingWindowEngine(host: host, backend: backend, storage: storage, window: window ?? p.window,
                                       residentLayers: p.residentLayers, modelLevel: p.modelLevel,
                                       vocabChunkRows: p.vocabChunkRows,
                                       landingBuffers: p.gradientLandingBuffers,
                                       maxBatch: batchSize, maxSeqLen: seqLen, maxMicroBatches: gradAccum,
                                       checkpointType: p.checkpointType, mlpChunkTokens: p.mlpChunkTokens,
                                       deferredGradients: p.deferredGradients, keptAttentionLayers: p.keptAttentionLayers,
                                       gradientType: p.gradientType,
                                       hyperparameters: hyperparameters, measure: measure)
    }
}

extension SlidingWindowEngine: TrainingStepEngine {
    public var summary: String {
        "sliding-window engine on \(backend.name): window \(window) of \(layout.config.numLayers - residentLayers) "
            + "streamed layers, \(residentLayers) resident, embedding / final norm / LM head: "
            + modelLevel.rawValue + ", \(checkpointType.rawValue) activation checkpoints"
    }

    public func step(_ microBatches: [MicroBatch], normalization: StepNormalization, learningRate: Double,
                     maxGradNorm: Double) throws -> (lossSum: Double, gradientNorm: Double) {
        let r = try step(microBatches, learningRate: learningRate, maxGradNorm: maxGradNorm)
        return (r.lossSum, r.gradientNorm)
    }

    public func synchronize(into host: HostTrainingState) {
        precondition(host === self.host, "the engine fills the host state it was made from")
        synchronizeHostState()
    }
}

/// `--engine auto`: resident when the whole training state fits the GPU budget (by
/// `MemoryPlanner.residentTrainingBytes`), else sliding; resident when there is no GPU.
public final class AutomaticEngineBuilder: TrainingEngineBuilder {
    public let resident: ResidentEngineBuilder
    public let sliding: SlidingEngineBuilder?
    private var choice: (any TrainingEngineBuilder)?

    public init(resident: ResidentEngineBuilder, sliding: SlidingEngineBuilder?) {
        self.resident = resident
        self.sliding = sliding
    }

    public func plan(layout: ModelLayout, batchSize: Int, seqLen: Int, gradAccum: Int, maxGradNorm: Double,
                     documents: Int, hostBytes: Int?, log: (String) -> Void) throws {
        var why = "no GPU"
        var chosen: any TrainingEngineBuilder = resident
        if let sliding, let budget = sliding.gpuBudget {
            let needed = MemoryPlanner.residentTrainingBytes(config: layout.config, batchSize: batchSize, seqLen: seqLen,
                                                             mlpChunkTokens: sliding.mlpChunkTokens)
            let fits = needed <= budget
            why = "the whole state needs \(Format.bytes(needed)) on the GPU, \(Format.bytes(budget)) available"
            if !fits { chosen = sliding }
        }
        choice = chosen
        log("engine: \(chosen is SlidingEngineBuilder ? "sliding" : "resident") (auto: \(why))")
        try chosen.plan(layout: layout, batchSize: batchSize, seqLen: seqLen, gradAccum: gradAccum,
                        maxGradNorm: maxGradNorm, documents: documents, hostBytes: hostBytes, log: log)
    }

    public func make(host: HostTrainingState, layout: ModelLayout, batchSize: Int, seqLen: Int, gradAccum: Int,
                     maxGradNorm: Double, hyperparameters: AdamWHyperparameters) throws -> any TrainingStepEngine {
        guard let choice else { preconditionFailure("make before plan") }
        return try choice.make(host: host, layout: layout, batchSize: batchSize, seqLen: seqLen, gradAccum: gradAccum,
                               maxGradNorm: maxGradNorm, hyperparameters: hyperparameters)
    }
}
