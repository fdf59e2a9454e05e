#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Backends
import Datasets
import ModelFormats
import Support

/// Throughput of the sliding-window engine on a random-init model built from a config: `warmup`
/// untimed steps, then `steps` steps back to back (no drain between them), then one drain.
/// Besides tokens/s it reports where the step's time could go, from timing events around every
/// piece of work on each queue (waits excluded) and the optimizer thread's clock:
///   compute bound   tokens / (compute queue busy time): the step with transfers and AdamW free
///   AdamW bound     tokens / (host AdamW time): the step if only the CPU update mattered
///   PCIe bound      tokens / max(H2D busy, D2H busy): the step if only the copies mattered
/// and the GPU busy fraction = compute busy time / step time.
public struct SlidingWindowBenchmark {
    public struct Result: Sendable {
        public let parameters: Int
        /// Parameters of the decoder layers (those the host AdamW updates).
        public let layerParameters: Int
        public let tokensPerStep: Int
        public let window: Int
        public let secondsPerStep: Double
        public var tokensPerSecond: Double { Double(tokensPerStep) / secondsPerStep }
        /// Per step, averaged over the timed steps.
        public let times: SlidingWindowEngine.StepTimes
        public var gpuBusyFraction: Double { times.computeMilliseconds / (secondsPerStep * 1e3) }
        public var computeBound: Double { Double(tokensPerStep) / (times.computeMilliseconds / 1e3) }
        public var optimizerBound: Double { Double(tokensPerStep) / (times.optimizerMilliseconds / 1e3) }
        public var transferBound: Double {
            Double(tokensPerStep) / (max(times.hostToDeviceMilliseconds, times.deviceToHostMilliseconds) / 1e3)
        }
        public let lastLoss: Double
        public let plan: SlidingWindowPlan
        public let peakPoolBytes: Int?
    }

    public let config: ModelConfig
    public let batch: Int
    public let seqLen: Int
    public let steps: Int
    public let warmup: Int
    /// nil: the plan's window for `gpuBudget`.
    public let window: Int?
    public let residentLayers: Int
    public let microBatches: Int
    public let maxGradNorm: Double
    public let gpuBudget: Int?

    public init(config: ModelConfig, batch: Int, seqLen: Int, steps: Int, warmup: Int = 2, window: Int?,
                residentLayers: Int = 0, microBatches: Int = 1, maxGradNorm: Double = 0, gpuBudget: Int?) throws {
        guard batch >= 1, seqLen >= 2, steps >= 1, warmup >= 0, microBatches >= 1 else {
            throw UsageError("bench sliding needs batch >= 1, seq-len >= 2, steps >= 1 (got \(batch), \(seqLen), \(steps))")
        }
        self.config = config
        self.batch = batch
        self.seqLen = seqLen
        self.steps = steps
        self.warmup = warmup
        self.window = window
        self.residentLayers = residentLayers
        self.microBatches = microBatches
        self.maxGradNorm = maxGradNorm
        self.gpuBudget = gpuBudget
    }

    public func run(backend: any QueuedTransfers, storage: ElementType, pool: WorkerPool = .shared,
                    log: (String) -> Void = { print($0) }) throws -> Result {
        let plan = MemoryPlanner.plan(config: config, batchSize: batch, seqLen: seqLen, gpuBudget: gpuBudget,
                                      hostBudget: MemoryPlan.availableHostBytes(),
                                      clipping: maxGradNorm > 0 || microBatches > 1, residentLayers: residentLayers)
        guard plan.fits || window != nil else { throw UsageError("the plan does not fit:\n\(plan.description)") }
        let k = window ?? plan.window
        let clock = ContinuousClock()
        var start = clock.now
        let host = HostTrainingState(masters: TrainingBenchmark.randomWeights(config, pool: pool))
        let engine = try SlidingWindowEngine(host: host, backend: backend, storage: storage, window: k,
                                             residentLayers: residentLayers,
                                             landingBuffers: plan.gradientLandingBuffers, maxBatch: batch,
                                             maxSeqLen: seqLen, maxMicroBatches: microBatches, hyperparameters: AdamWHyperparameters(weightDecay: 0.1),
                                             measure: true)
        engine.drain()
        let parameters = host.masters.namedTensors.reduce(0) { $0 + $1.values.count }
        log("model: \(parameters) parameters, \(residentLayers) resident layers, window \(k) of "
            + "\(config.numLayers - residentLayers) streamed layers on \(backend.name); "
            + "set up in \(Format.fixed(seconds(clock.now - start), 1)) s")

        var rng = SplitMix64(seed: 1)
        let n = batch * seqLen * microBatches
        let batches = (0..<microBatches).map { _ in
            let ids = (0..<(batch * seqLen)).map { _ in Int32(truncatingIfNeeded: rng.next() % UInt64(config.vocabSize)) }
            return MicroBatch(batchSize: batch, seqLen: seqLen, inputIds: ids, labels: ids)
        }
        var loss = Double.nan
        func step() throws {
            let r = try engine.step(batches, learningRate: 1e-5, maxGradNorm: maxGradNorm)
            loss = r.lossSum / Double(r.targets)
        }
        for _ in 0..<warmup { try step() }
        _ = engine.takeStepTimes()
        start = clock.now
        for _ in 0..<steps { try step() }
        engine.drain()
        let perStep = seconds(clock.now - start) / Double(steps)
        guard let total = engine.takeStepTimes() else { preconditionFailure("engine made without timing") }
        let s = Double(steps)
        let times = SlidingWindowEngine.StepTimes(
            computeMilliseconds: total.computeMilliseconds / s, hostToDeviceMilliseconds: total.hostToDeviceMilliseconds / s,
            deviceToHostMilliseconds: total.deviceToHostMilliseconds / s, optimizerMilliseconds: total.optimizerMilliseconds / s)
        let layerParameters = (config.numLayers - residentLayers) * ModelLayout(config).layer.tensors.reduce(0) { $0 + $1.count }
        return Result(parameters: parameters, layerParameters: layerParameters, tokensPerStep: n, window: k, secondsPerStep: perStep, times: times,
                      lastLoss: loss, plan: plan, peakPoolBytes: (backend as? DeviceMemoryReporting)?.peakReservedBytes)
    }
}
