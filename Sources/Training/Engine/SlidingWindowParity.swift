import Backends
import Datasets
import ModelFormats
import Support

/// The same training run twice on one backend, from the same random init on the same random
/// batches: GPU-resident (`DecoderModel` + `DeviceTrainingState`, the `Trainer`'s step:
/// accumulation over `microBatches`, the global norm, clipping when `maxGradNorm` > 0) and
/// sliding-window (`SlidingWindowEngine`). The micro-batches after the first have their first
/// row's labels ignored, so the step's loss scale (1 / all its targets) is not 1 / (micro-batches
/// x targets of one). Both run the same op kernels on the same storage type, so the first
/// step's loss is bit-identical; later steps differ only by the AdamW arithmetic (the backend's
/// `adamW` for the resident run, the host C kernel for the engine's layers), which round alike
/// on the CPU backend and may differ in the last bit on a GPU (FMA contraction). With bf16
/// `checkpointType` the sliding run's recompute reads bf16-rounded layer inputs: the first loss
/// is still identical, the gradients and later steps differ slightly.
public struct SlidingWindowParity {
    public struct Result: Sendable {
        public let residentLosses: [Double]
        public let slidingLosses: [Double]
        public let residentNorms: [Double]
        public let slidingNorms: [Double]
        /// max |Δ| over every fp32 master weight after the last step.
        public let maxMasterDifference: Double
    }

    public let config: ModelConfig
    public let batch: Int
    public let seqLen: Int
    public let steps: Int
    public let window: Int
    public let residentLayers: Int
    /// Where the engine keeps the embedding, final norm and LM head (gpu, host or streamed).
    public let modelLevel: ModelLevelPlacement
    /// Rows per vocabulary chunk when streamed (nil: the planner's).
    public let vocabChunkRows: Int?
    public let checkpointType: CheckpointElementType
    public let gradientType: GradientElementType
    /// The engine's `deferredGradients` (one micro-batch without clipping only).
    public let deferredGradients: Int
    /// Landing buffers of one micro-batch without clipping (a ring below the streamed layers'
    /// count, one per layer from there); per layer otherwise.
    public let landingBuffers: Int
    /// The first layers keep their attention output from the forward for the backward.
    public let keptAttentionLayers: Int
    public let microBatches: Int
    public let maxGradNorm: Double
    public let learningRate: Double
    public let hyperparameters: AdamWHyperparameters
    /// The streamed placement sends the embedding's gradient as the batch's rows (the engine's
    /// default) or every vocabulary chunk whole.
    public var sendsEmbeddingRows = true

    public init(config: ModelConfig, batch: Int, seqLen: Int, steps: Int, window: Int, residentLayers: Int = 0,
                modelLevel: ModelLevelPlacement = .host, vocabChunkRows: Int? = nil,
                checkpointType: CheckpointElementType = .f32, gradientType: GradientElementType = .f32,
                deferredGradients: Int = 0, landingBuffers: Int = 2, keptAttentionLayers: Int = 0,
                microBatches: Int = 1, maxGradNorm: Double = 0, learningRate: Double = 1e-3,
                hyperparameters: AdamWHyperparameters = AdamWHyperparameters(weightDecay: 0.1)) {
        self.config = config
        self.batch = batch
        self.seqLen = seqLen
        self.steps = steps
        self.window = window
        self.residentLayers = residentLayers
        self.modelLevel = modelLevel
        self.vocabChunkRows = vocabChunkRows
        self.checkpointType = checkpointType
        self.gradientType = gradientType
        self.deferredGradients = deferredGradients
        self.landingBuffers = landingBuffers
        self.keptAttentionLayers = keptAttentionLayers
        self.microBatches = microBatches
        self.maxGradNorm = maxGradNorm
        self.learningRate = learningRate
        self.hyperparameters = hyperparameters
    }

    /// One run's per-step mean losses and gradient norms, and its final masters.
    public struct Run {
        public let losses: [Double]
        public let norms: [Double]
        public let masters: ModelWeights
        /// Sliding, streamed: the landing buffers the embedding's rows took in the last step (0:
        /// every chunk sent whole, or not streamed).
        public var embeddingRowLandings = 0
    }

    public func run(backend: any QueuedTransfers, storage: ElementType, pool: WorkerPool = .shared) throws -> Result {
        let resident = try runResident(backend: backend, storage: storage, pool: pool)
        let sliding = try runSliding(backend: backend, storage: storage, pool: pool)
        var maxDifference = 0.0
        for (a, b) in zip(resident.masters.namedTensors, sliding.masters.namedTensors) {
            for i in 0..<a.values.count { maxDifference = max(maxDifference, Double(abs(a.values[i] - b.values[i]))) }
        }
        return Result(residentLosses: resident.losses, slidingLosses: sliding.losses, residentNorms: resident.norms,
                      slidingNorms: sliding.norms, maxMasterDifference: maxDifference)
    }

    /// The step's micro-batches, every step.
    private var stepBatches: [[MicroBatch]] {
        (0..<steps).map { step in
            (0..<microBatches).map { randomBatch(seed: UInt64(step * microBatches + $0) + 11, dropFirstRow: $0 > 0) }
        }
    }

    /// The GPU-resident run.
    public func runResident(backend: any QueuedTransfers, storage: ElementType, pool: WorkerPool = .shared) throws -> Run {
        let layout = ModelLayout(config)
        let residentHost = HostTrainingState(masters: TrainingBenchmark.randomWeights(config, pool: pool))
        let model = try DecoderModel(layout: layout, backend: backend, maxBatch: batch, maxSeqLen: seqLen, storage: storage)
        let state = try DeviceTrainingState(model: model, hyperparameters: hyperparameters)
        state.upload(residentHost)
        var residentLosses: [Double] = [], residentNorms: [Double] = []
        for batches in stepBatches {
            let normalization = StepNormalization(targetCounts: batches.map(\.targetTokenCount))
            model.zeroGradients()
            var sum = 0.0
            for b in batches {
                sum += try model.forwardBackward(inputIds: b.inputIds, labels: b.labels, batch: batch, seqLen: seqLen,
                                                 lossScale: normalization.lossScale)
            }
            let norm = state.gradientNorm()
            residentLosses.append(sum / Double(normalization.totalTargets))
            residentNorms.append(norm)
            state.update(learningRate: learningRate,
                         gradScale: GradientClipping.coefficient(totalNorm: norm, maxNorm: maxGradNorm))
        }
        state.download(into: residentHost)
        return Run(losses: residentLosses, norms: residentNorms, masters: residentHost.masters)
    }

    /// The sliding-window run.
    public func runSliding(backend: any QueuedTransfers, storage: ElementType, pool: WorkerPool = .shared) throws -> Run {
        let slidingHost = HostTrainingState(masters: TrainingBenchmark.randomWeights(config, pool: pool))
        let perLayer = microBatches > 1 || maxGradNorm > 0
        let engine = try SlidingWindowEngine(host: slidingHost, backend: backend, storage: storage, window: window,
                                             residentLayers: residentLayers, modelLevel: modelLevel,
                                             vocabChunkRows: vocabChunkRows,
                                             landingBuffers: perLayer ? config.numLayers : landingBuffers, maxBatch: batch,
                                             maxSeqLen: seqLen, maxMicroBatches: microBatches, checkpointType: checkpointType,
                                             deferredGradients: perLayer ? 0 : deferredGradients,
                                             keptAttentionLayers: keptAttentionLayers, gradientType: gradientType,
                                             hyperparameters: hyperparameters, optimizerThreads: 2)
        engine.sendsEmbeddingRows = sendsEmbeddingRows
        var slidingLosses: [Double] = [], slidingNorms: [Double] = []
        for batches in stepBatches {
            let r = try engine.step(batches, learningRate: learningRate, maxGradNorm: maxGradNorm)
            slidingLosses.append(r.lossSum / Double(r.targets))
            slidingNorms.append(r.gradientNorm)
        }
        engine.synchronizeHostState()
        return Run(losses: slidingLosses, norms: slidingNorms, masters: slidingHost.masters,
                   embeddingRowLandings: engine.embeddingRowLandings)
    }

    private func randomBatch(seed: UInt64, dropFirstRow: Bool) -> MicroBatch {
        var rng = SplitMix64(seed: seed)
        let ids = (0..<(batch * seqLen)).map { _ in Int32(truncatingIfNeeded: rng.next() % UInt64(config.vocabSize)) }
        let labels = ids.enumerated().map { dropFirstRow && $0.offset < seqLen ? ignoredTarget : $0.element }
        return MicroBatch(batchSize: batch, seqLen: seqLen, inputIds: ids, labels: labels)
    }
}
