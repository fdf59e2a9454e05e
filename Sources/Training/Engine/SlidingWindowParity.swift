import Backends
import Datasets
import ModelFormats
import Support

/// The same training run twice on one backend, from the same random init on the same random
/// batches: GPU-resident (`DecoderModel` + `DeviceTrainingState`, no clipping) and sliding-window
/// (`SlidingWindowEngine`). Both run the same op kernels on the same storage type, so the first
/// step's loss is bit-identical; later steps differ only by the AdamW arithmetic (the backend's
/// `adamW` for the resident run, the host C kernel for the engine's layers), which round alike
/// on the CPU backend and may differ in the last bit on a GPU (FMA contraction).
public struct SlidingWindowParity {
    public struct Result: Sendable {
        public let residentLosses: [Double]
        public let slidingLosses: [Double]
        /// max |Δ| over every fp32 master weight after the last step.
        public let maxMasterDifference: Double
    }

    public let config: ModelConfig
    public let batch: Int
    public let seqLen: Int
    public let steps: Int
    public let window: Int
    public let residentLayers: Int
    public let learningRate: Double
    public let hyperparameters: AdamWHyperparameters

    public init(config: ModelConfig, batch: Int, seqLen: Int, steps: Int, window: Int, residentLayers: Int = 0,
                learningRate: Double = 1e-3,
                hyperparameters: AdamWHyperparameters = AdamWHyperparameters(weightDecay: 0.1)) {
        self.config = config
        self.batch = batch
        self.seqLen = seqLen
        self.steps = steps
        self.window = window
        self.residentLayers = residentLayers
        self.learningRate = learningRate
        self.hyperparameters = hyperparameters
    }

    public func run(backend: any QueuedTransfers, storage: ElementType, pool: WorkerPool = .shared) throws -> Result {
        let layout = ModelLayout(config)
        let batches = (0..<steps).map { randomTokens(seed: UInt64($0) + 11) }
        let scale = StepNormalization(targetCounts: [batch * (seqLen - 1)]).lossScale

        let residentHost = HostTrainingState(masters: TrainingBenchmark.randomWeights(config, pool: pool))
        let model = try DecoderModel(layout: layout, backend: backend, maxBatch: batch, maxSeqLen: seqLen, storage: storage)
        let state = try DeviceTrainingState(model: model, hyperparameters: hyperparameters)
        state.upload(residentHost)
        var residentLosses: [Double] = []
        for ids in batches {
            model.zeroGradients()
            let sum = try model.forwardBackward(inputIds: ids, labels: ids, batch: batch, seqLen: seqLen, lossScale: scale)
            residentLosses.append(sum / Double(batch * (seqLen - 1)))
            state.update(learningRate: learningRate, gradScale: 1)
        }
        state.download(into: residentHost)

        let slidingHost = HostTrainingState(masters: TrainingBenchmark.randomWeights(config, pool: pool))
        let engine = try SlidingWindowEngine(host: slidingHost, backend: backend, storage: storage, window: window,
                                             residentLayers: residentLayers, landingBuffers: 2, maxBatch: batch, maxSeqLen: seqLen,
                                             hyperparameters: hyperparameters, optimizerThreads: 2)
        var slidingLosses: [Double] = []
        for ids in batches {
            let r = try engine.step(inputIds: ids, labels: ids, batch: batch, seqLen: seqLen, learningRate: learningRate)
            slidingLosses.append(r.lossSum / Double(r.targets))
        }
        engine.synchronizeHostState()

        var maxDifference = 0.0
        for (a, b) in zip(residentHost.masters.namedTensors, slidingHost.masters.namedTensors) {
            for i in 0..<a.values.count { maxDifference = max(maxDifference, Double(abs(a.values[i] - b.values[i]))) }
        }
        return Result(residentLosses: residentLosses, slidingLosses: slidingLosses, maxMasterDifference: maxDifference)
    }

    private func randomTokens(seed: UInt64) -> [Int32] {
        var rng = SplitMix64(seed: seed)
        return (0..<(batch * seqLen)).map { _ in Int32(truncatingIfNeeded: rng.next() % UInt64(config.vocabSize)) }
    }
}
