#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Backends
import CUDABackend
import Datasets
import ModelFormats
import Support

/// Throughput of the sliding-window engine on a random-init model built from a config, or on a
/// model folder's weights: `warmup` untimed steps, then `steps` timed steps back to back, each
/// from the end of the previous step's backward to the end of its own (its host AdamW runs on
/// into the next step), then one more step that ends the last one's telemetry, then one drain.
/// Besides tokens/s it reports the mean `StepTelemetry` of the timed steps (from timing events
/// around every piece of work on each queue and the AdamW thread's clock), the pieces of the
/// last timed step (for a trace) and the `StepBounds`: compute
/// only (a `TrainingBenchmark` with `computeOnly` in the same process, or given), AdamW at the
/// memcpy bandwidth measured here, PCIe at the pinned bandwidth measured here (GPU only); on
/// request, the device time per op of one more step.
public struct SlidingWindowBenchmark {
    /// Where the compute-only bound comes from.
    public enum ComputeOnlyBound: Sendable {
        /// Measured before the engine runs (not available when it does not fit: the reason).
        case measure
        /// Taken from an earlier `--compute-only` run (ms per step).
        case given(Double)
        case skip
    }

    public struct Result: Sendable {
        public let parameters: Int
        /// Parameters the host AdamW updates (all but the resident layers').
        public let hostOptimizerParameters: Int
        public let tokensPerStep: Int
        public let window: Int
        public let secondsPerStep: Double
        public var tokensPerSecond: Double { Double(tokensPerStep) / secondsPerStep }
        /// TFLOP/s by the counts of `TrainingBenchmark.flopsPerToken` (6N, 6N+attn, Megatron).
        public let tflops: [(name: String, value: Double)]
        /// Mean over the timed steps.
        public let telemetry: StepTelemetry
        /// The last timed step's pieces.
        public let spans: [TimedSpan]
        public let bounds: StepBounds
        /// Why the compute-only bound is missing, when it is.
        public let computeOnlyNote: String?
        public let lastLoss: Double
        public let plan: SlidingWindowPlan
        public let peakPoolBytes: Int?
        /// The process's resident peak from the engine's set-up on (nil: not readable).
        public let peakResidentBytes: Int?
        /// Device time per compute-stream op over one more step (when asked and supported).
        public let profile: [OpTime]?

        public var ratio: Double { bounds.ratio(stepMilliseconds: secondsPerStep * 1e3) }
    }

    public let config: ModelConfig
    /// Real weights (a model folder) instead of the random init.
    public let modelDirectory: String?
    public let batch: Int
    public let seqLen: Int
    public let steps: Int
    public let warmup: Int
    /// nil: the plan's window for `gpuBudget`.
    public let window: Int?
    /// nil: `ResidentLayerChoice` decides (as `train --resident-layers auto`).
    public let residentLayers: Int?
    public let modelLevel: ModelLevelPlacement
    public let checkpointType: CheckpointElementType
    /// nil: `GradientElementType.automatic` for the device and the micro-batches.
    public let gradientType: GradientElementType?
    /// nil: the plan's choice.
    public let deferredGradients: Int?
    /// Gradient landing buffers without clipping (nil: the planner's ring).
    public let landingBuffers: Int?
    /// Layers keeping their attention output for the backward (nil: the plan's).
    public let keptAttentionLayers: Int?
    public let microBatches: Int
    public let maxGradNorm: Double
    public let gpuBudget: Int?
    public let computeOnly: ComputeOnlyBound
    /// Bytes of the memcpy bandwidth measurement.
    public let memcpyBytes: Int
    /// Time every compute-stream op of one more step after the timed ones (GPU only).
    public let profile: Bool

    public init(config: ModelConfig, modelDirectory: String? = nil, batch: Int, seqLen: Int, steps: Int, warmup: Int = 2,
                window: Int?, residentLayers: Int? = 0, modelLevel: ModelLevelPlacement = .auto,
                checkpointType: CheckpointElementType = .f32, gradientType: GradientElementType? = nil,
                deferredGradients: Int? = nil, landingBuffers: Int? = nil, keptAttentionLayers: Int? = nil,
                microBatches: Int = 1, maxGradNorm: Double = 0, gpuBudget: Int?,
                computeOnly: ComputeOnlyBound = .measure, memcpyBytes: Int = 1 << 30, profile: Bool = false) throws {
        guard batch >= 1, seqLen >= 2, steps >= 1, warmup >= 0, microBatches >= 1 else {
            throw UsageError("bench sliding needs batch >= 1, seq-len >= 2, steps >= 1 (got \(batch), \(seqLen), \(steps))")
        }
        self.config = config
        self.modelDirectory = modelDirectory
        self.batch = batch
        self.seqLen = seqLen
        self.steps = steps
        self.warmup = warmup
        self.window = window
        self.residentLayers = residentLayers
        self.modelLevel = modelLevel
        self.checkpointType = checkpointType
        self.gradientType = gradientType
        self.deferredGradients = deferredGradients
        self.landingBuffers = landingBuffers
        self.keptAttentionLayers = keptAttentionLayers
        self.microBatches = microBatches
        self.maxGradNorm = maxGradNorm
        self.gpuBudget = gpuBudget
        self.computeOnly = computeOnly
        self.memcpyBytes = memcpyBytes
        self.profile = profile
    }

    public func run(device: ComputeDevice, pool: WorkerPool = .shared, log: (String) -> Void = { print($0) }) throws -> Result {
        guard let backend = device.backend as? QueuedTransfers else {
            throw UsageError("\(device.backend.name) has no transfer queues")
        }
        let clipping = maxGradNorm > 0 || microBatches > 1, hostBudget = MemoryPlan.availableHostBytes()
        let gradientType = self.gradientType ?? .automatic(storage: device.storage, microBatches: microBatches)
        // As `train`: without --gpu-memory the budget is the device's free memory, for the choice
        // of resident layers, the plan and the pool's cap alike.
        let budget = try gpuBudget ?? (backend as? DeviceMemoryReporting)?.deviceMemory().free
        func planWith(residentLayers m: Int) -> SlidingWindowPlan {
            MemoryPlanner.plan(config: config, batchSize: batch, seqLen: seqLen, gpuBudget: budget, hostBudget: hostBudget,
                               clipping: clipping, residentLayers: m, modelLevel: modelLevel, checkpointType: checkpointType,
                               mlpChunkTokens: device.mlpChunkTokens, deferredGradients: deferredGradients,
                               landingBuffers: landingBuffers, gradientType: gradientType)
        }
        let residentLayers: Int
        if let m = self.residentLayers {
            residentLayers = m
        } else {
            let rates = try ResidentLayerRates.forChoice(config: config, batchSize: batch, seqLen: seqLen,
                                                         storage: device.storage, bf16Gradients: gradientType == .bf16,
                                                         streamedPlan: planWith(residentLayers: 0), gpuBudget: budget,
                                                         backend: backend)
            log("resident-layer rates: \(rates.description)")
            let choice = ResidentLayerChoice.choose(config: config, batchSize: batch, seqLen: seqLen, gradAccum: microBatches,
                                                    clipping: clipping, gpuBudget: budget, hostBudget: hostBudget,
                                                    rates: rates, modelLevel: modelLevel, checkpointType: checkpointType,
                                                    mlpChunkTokens: device.mlpChunkTokens)
            residentLayers = choice.layers
            log("resident layers: \(choice.layers) (auto: \(choice.reason))")
        }
        let plan = planWith(residentLayers: residentLayers)
        guard plan.fits || window != nil else { throw UsageError("the plan does not fit:\n\(plan.description)") }
        let k = window ?? plan.window

        var computeOnlyMilliseconds: Double?
        var computeOnlyNote: String?
        switch computeOnly {
        case .given(let ms): computeOnlyMilliseconds = ms
        case .skip: computeOnlyNote = "not asked"
        case .measure:
            do {
                let r = try TrainingBenchmark(config: config, batch: batch * microBatches, seqLen: seqLen, steps: steps,
                                              warmup: warmup, computeOnly: true).run(device: device, profile: false, pool: pool, log: log)
                computeOnlyMilliseconds = r.secondsPerStep * 1e3
            } catch {
                computeOnlyNote = "compute-only run failed: \(error)"
            }
        }

        // Host memcpy and pinned PCIe bandwidths for the bounds, measured before the engine exists:
        // their buffers (2 x 256 MiB on the GPU, 2 GiB of host memory) must count in neither the
        // engine's peaks nor a capped pool.
        let memcpyBytesPerSecond = AdamWBenchmark.memcpyBandwidth(bytes: memcpyBytes, pool: pool)
        let pinned = try (backend as? CUDABackend).map { try TransferBenchmark(backend: $0).run() }

        // The engine's own peaks, not the compute-only run's; a GPU budget caps the pool as `train` does.
        if let memory = backend as? DeviceMemoryReporting {
            try memory.restartPeak()
            if let budget { memory.limitPool(toBytes: budget - MemoryPlanner.contextBytes) }
        }
        ProcessMemory.resetPeakResident()
        let clock = ContinuousClock()
        var start = clock.now
        let masters = try modelDirectory.map { try ModelWeights.load(directory: $0, pool: pool) }
            ?? TrainingBenchmark.randomWeights(config, pool: pool)
        let host = HostTrainingState(masters: masters)
        let engine = try SlidingWindowEngine(host: host, backend: backend, storage: device.storage, window: k,
                                             residentLayers: residentLayers, modelLevel: plan.modelLevel,
                                             vocabChunkRows: plan.vocabChunkRows,
                                             landingBuffers: plan.gradientLandingBuffers, maxBatch: batch,
                                             maxSeqLen: seqLen, maxMicroBatches: microBatches, checkpointType: checkpointType,
                                             mlpChunkTokens: plan.mlpChunkTokens, deferredGradients: plan.deferredGradients,
                                             keptAttentionLayers: keptAttentionLayers ?? plan.keptAttentionLayers,
                                             gradientType: plan.gradientType,
                                             hyperparameters: AdamWHyperparameters(weightDecay: 0.1),
                                             measure: true)
        engine.drain()
        let parameters = host.masters.namedTensors.reduce(0) { $0 + $1.values.count }
        log("model: \(parameters) parameters, \(residentLayers) resident layers, window \(k) of "
            + "\(config.numLayers - residentLayers) streamed layers on \(backend.name), embedding / final norm / LM head "
            + "\(plan.modelLevel.rawValue) (\(modelLevel.rawValue)), "
            + "\(checkpointType.rawValue) activation checkpoints, \(gradientType.rawValue) gradients to the host, "
            + "\(plan.deferredGradients) deferred layer gradients, "
            + "attention kept for the backward in \(keptAttentionLayers ?? plan.keptAttentionLayers) layers; "
            + "set up in \(Format.fixed(seconds(clock.now - start), 1)) s")

        var rng = SplitMix64(seed: 1)
        let n = batch * seqLen * microBatches
        let batches = (0..<microBatches).map { _ in
            let ids = (0..<(batch * seqLen)).map { _ in Int32(truncatingIfNeeded: rng.next() % UInt64(config.vocabSize)) }
            return MicroBatch(batchSize: batch, seqLen: seqLen, inputIds: ids, labels: ids)
        }
        var loss = Double.nan
        var timed: [StepTelemetry] = []
        let timedSteps = (warmup + 1)...(warmup + steps)
        func step() throws {
            let r = try engine.step(batches, learningRate: 1e-5, maxGradNorm: maxGradNorm)
            loss = r.lossSum / Double(r.targets)
            if let t = engine.telemetry, timedSteps.contains(t.step), timed.last?.step != t.step { timed.append(t) }
        }
        for _ in 0..<warmup { try step() }
        // A step returns when its backward is done; its host AdamW runs on into the next one.
        // The steady-state step is the time between those returns (the warm-up step's AdamW tail
        // counts in the first timed step). One more step ends the last timed step's telemetry,
        // which runs to the next step's start; the final drain is not part of any step.
        start = clock.now
        for _ in 0..<steps { try step() }
        let perStep = seconds(clock.now - start) / Double(steps)
        try step()
        let spans = engine.telemetrySpans
        engine.drain()
        guard let telemetry = StepTelemetry.mean(timed) else { preconditionFailure("engine made without timing") }
        var ops: [OpTime]?
        if profile, let profiling = backend as? OpProfiling {
            try profiling.startProfiling()
            try step()
            engine.drain()
            ops = try profiling.stopProfiling()
        }

        let layout = ModelLayout(config)
        let modelLevelParameters = layout.embedding.count + layout.finalNorm.count + (layout.lmHead?.count ?? 0)
        let hostOptimizerParameters = parameters - residentLayers * layout.layer.count
            - (plan.modelLevel == .gpu ? modelLevelParameters : 0)
        let bounds = StepBounds(
            computeOnlyMilliseconds: computeOnlyMilliseconds,
            optimizerBytes: hostOptimizerParameters * AdamWBenchmark.bytesPerParameter(bf16Gradients: gradientType == .bf16),
            memcpyBytesPerSecond: memcpyBytesPerSecond,
            hostToDeviceBytes: telemetry.hostToDeviceBytes, deviceToHostBytes: telemetry.deviceToHostBytes,
            pinnedHostToDeviceBytesPerSecond: pinned.map { $0.hostToDevice * 1e9 },
            pinnedDeviceToHostBytesPerSecond: pinned.map { $0.deviceToHost * 1e9 })
        let tflops = TrainingBenchmark.flopsPerToken(config, seqLen: seqLen, parameters: parameters).map {
            (name: $0.name, value: $0.value * Double(n) / perStep / 1e12)
        }
        return Result(parameters: parameters, hostOptimizerParameters: hostOptimizerParameters, tokensPerStep: n, window: k,
                      secondsPerStep: perStep, tflops: tflops, telemetry: telemetry, spans: spans,
                      bounds: bounds, computeOnlyNote: computeOnlyNote, lastLoss: loss, plan: plan,
                      peakPoolBytes: (backend as? DeviceMemoryReporting)?.peakReservedBytes,
                      peakResidentBytes: ProcessMemory.peakResidentBytes(), profile: ops)
    }
}
