#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Backends
import Datasets
import ModelFormats
import Support

/// End-to-end training throughput of a model built from a config alone (random init, random
/// tokens, no files): full optimizer steps as the trainer runs them (zero gradients, forward +
/// backward with recomputation, device global norm and clipping, AdamW with the compute-weight
/// emit), `warmup` untimed then `steps` timed, each ended by a device synchronize.
///
/// FLOPs per token as bench/torch_baseline.py counts them (model FLOPs: recomputation is not
/// counted), N = every parameter:
///   6n        6·N
///   6n_attn   6·N + 6·L·T·d_attn                 (causal attention)
///   megatron  3·(2·L·P_layer + 2·h·V + 4·L·T·d_attn)
public struct TrainingBenchmark {
    public struct Result {
        public let parameters: Int
        public let tokensPerStep: Int
        public let secondsPerStep: Double
        public var tokensPerSecond: Double { Double(tokensPerStep) / secondsPerStep }
        /// TFLOP/s by the three counts above, in that order.
        public let tflops: [(name: String, value: Double)]
        public let lastLoss: Double
        /// The backend's pool high-water mark and the device's used memory at the end (GPU only).
        public let peakPoolBytes: Int?
        public let deviceUsedBytes: Int?
        /// Device time per op over one profiled step (when asked and supported).
        public let profile: [OpTime]?
    }

    public let config: ModelConfig
    public let batch: Int
    public let seqLen: Int
    public let steps: Int
    public let warmup: Int
    /// Forward + backward only: weights and gradients resident, no optimizer state, no update.
    public let computeOnly: Bool

    public init(config: ModelConfig, batch: Int, seqLen: Int, steps: Int, warmup: Int = 2, computeOnly: Bool = false) throws {
        guard batch >= 1, seqLen >= 2, steps >= 1, warmup >= 0 else {
            throw UsageError("bench train needs batch >= 1, seq-len >= 2, steps >= 1 (got \(batch), \(seqLen), \(steps))")
        }
        self.config = config
        self.batch = batch
        self.seqLen = seqLen
        self.steps = steps
        self.warmup = warmup
        self.computeOnly = computeOnly
    }

    /// FLOPs per token of the three counts.
    public static func flopsPerToken(_ c: ModelConfig, seqLen T: Int, parameters: Int) -> [(name: String, value: Double)] {
        let h = Double(c.hiddenSize), L = Double(c.numLayers), V = Double(c.vocabSize), ffn = Double(c.intermediateSize)
        let dAttn = Double(c.qDim), dKV = Double(c.kvDim), t = Double(T)
        let pLayer = h * (dAttn + 2 * dKV) + dAttn * h + 3 * h * ffn
        return [("6N", 6 * Double(parameters)),
                ("6N+attn", 6 * Double(parameters) + 6 * L * t * dAttn),
                ("Megatron", 3 * (2 * L * pLayer + 2 * h * V + 4 * L * t * dAttn))]
    }

    /// FLOPs per token by 6·N + causal attention (the count the progress line and bench use).
    public static func modelFlopsPerToken(_ c: ModelConfig, seqLen T: Int, parameters: Int) -> Double {
        flopsPerToken(c, seqLen: T, parameters: parameters)[1].value
    }

    public func run(device: ComputeDevice, profile: Bool, pool: WorkerPool = .shared,
                    log: (String) -> Void = { print($0) }) throws -> Result {
        let layout = ModelLayout(config)
        let clock = ContinuousClock()
        var start = clock.now
        let masters = Self.randomWeights(config, pool: pool)
        let host = HostTrainingState(masters: masters)
        let model = try device.modelFactory(layout, batch, seqLen)
        let state = computeOnly ? nil : try DeviceTrainingState(model: model, hyperparameters: AdamWHyperparameters(weightDecay: 0.1))
        if let state { state.upload(host) } else { try model.loadParameters(masters) }
        device.backend.synchronize()
        let parameters = masters.namedTensors.reduce(0) { $0 + $1.values.count }
        log("model: \(parameters) parameters on \(device.description); set up in \(Format.fixed(seconds(clock.now - start), 1)) s")

        var rng = SplitMix64(seed: 1)
        let n = batch * seqLen
        let ids = (0..<n).map { _ in Int32(truncatingIfNeeded: rng.next() % UInt64(config.vocabSize)) }
        let scale = StepNormalization(targetCounts: [batch * (seqLen - 1)]).lossScale
        var loss = Double.nan
        func step() throws {
            model.zeroGradients()
            loss = try model.forwardBackward(inputIds: ids, labels: ids, batch: batch, seqLen: seqLen, lossScale: scale)
                * Double(scale)
            if let state {
                let norm = state.gradientNorm()
                state.update(learningRate: 1e-5, gradScale: GradientClipping.coefficient(totalNorm: norm, maxNorm: 1))
            }
            device.backend.synchronize()
        }
        for _ in 0..<warmup { try step() }
        start = clock.now
        for _ in 0..<steps { try step() }
        let perStep = seconds(clock.now - start) / Double(steps)
        var ops: [OpTime]?
        if profile, let profiling = device.backend as? OpProfiling {
            try profiling.startProfiling()
            try step()
            ops = try profiling.stopProfiling()
        }
        let memory = device.backend as? DeviceMemoryReporting
        let used = try memory.map { m -> Int in let (free, total) = try m.deviceMemory(); return total - free }
        let tflops = Self.flopsPerToken(config, seqLen: seqLen, parameters: parameters).map {
            ($0.name, $0.value * Double(n) / perStep / 1e12)
        }
        return Result(parameters: parameters, tokensPerStep: n, secondsPerStep: perStep, tflops: tflops, lastLoss: loss,
                      peakPoolBytes: memory?.peakReservedBytes, deviceUsedBytes: used, profile: ops)
    }

    /// Hugging Face's init scale without its cost: matrices uniform with std 0.02, 1-D tensors
    /// (norms) 1; chunks filled in parallel from per-chunk seeds.
    static func randomWeights(_ config: ModelConfig, pool: WorkerPool) -> ModelWeights {
        let weights = ModelWeights(config: config)
        let bound = Float(0.02 * 3.0.squareRoot())
        for (t, tensor) in weights.namedTensors.enumerated() {
            let values = tensor.values
            if tensor.shape.count == 1 { values.update(repeating: 1); continue }
            let chunk = 1 << 20
            pool.parallelFor((values.count + chunk - 1) / chunk) { c in
                var rng = SplitMix64(seed: UInt64(t) << 32 | UInt64(c))
                for i in (c * chunk)..<min(values.count, (c + 1) * chunk) {
                    values[i] = (Float(rng.next() >> 40) * 0x1p-24 * 2 - 1) * bound
                }
            }
        }
        return weights
    }
}
