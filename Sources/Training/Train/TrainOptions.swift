import Datasets
import ModelFormats
import Support

/// Everything `slideformer train` is told (defaults are the ones --help states).
public struct TrainOptions: Equatable, Sendable {
    /// How long to train: a fixed number of optimizer steps, or passes over the data
    /// (steps = ceil(epochs · micro-batches per epoch / grad-accum)).
    public enum Length: Equatable, Sendable {
        case steps(Int)
        case epochs(Double)
    }

    /// Where the model computes: the CPU (fp32), an NVIDIA GPU (bf16 compute, fp32 masters and
    /// moments, everything resident on the GPU), or `auto`: the GPU when the driver, NVRTC and
    /// cuBLASLt load and a GPU is present, else the CPU (see `ComputeDevice`).
    public enum Device: String, CaseIterable, Sendable {
        case auto, cpu, cuda
    }

    public var modelDirectory: String
    public var dataPath: String
    public var outputDirectory: String
    public var device: Device = .auto
    /// Where the training state lives: the whole of it on the device (`resident`), the GPU as a
    /// window over the layers with masters and moments in host RAM (`sliding`), or `auto`:
    /// resident when the plan says the whole state fits on the GPU, else sliding (resident on the CPU).
    public enum Engine: String, CaseIterable, Sendable {
        case auto, resident, sliding
    }
    public var engine: Engine = .auto
    /// Sliding engine: first decoder layers kept on the GPU with their AdamW state (nil: chosen
    /// by `ResidentLayerChoice`).
    public var residentLayers: Int?
    /// Sliding engine: streamed layers on the GPU at once (nil: the plan's).
    public var window: Int?
    /// Sliding engine, one micro-batch without clipping: host gradient landing buffers (nil: the plan's ring).
    public var landingBuffers: Int?
    /// Sliding engine: where the embedding, final norm and LM head are updated.
    public var modelLevel: ModelLevelPlacement = .auto
    /// Sliding engine: the element type of the layers' inputs kept on the host for the backward.
    public var checkpointType: CheckpointElementType = .f32
    /// Sliding engine: the element type the host-updated gradients leave the GPU in.
    /// Tokens per MLP chunk of the decoder layers (nil: `MemoryPlanner.mlpChunkTokens`).
    public var mlpChunkTokens: Int?
    /// nil: `GradientElementType.automatic` for the device and the micro-batches.
    public var gradientType: GradientElementType?
    /// GPU bytes the run may use (nil: the device's free memory); the pool is capped to it.
    public var gpuMemory: Int?
    /// Format, sequence length, micro-batch size, packing, shuffling, seed.
    public var data: DataLoaderOptions
    /// Micro-batches per optimizer step.
    public var gradAccum = 1
    public var length: Length = .epochs(1)
    public var schedule: LearningRateSchedule.Kind = .cosine
    public var learningRate = 2e-5
    public var minLearningRate = 0.0
    public var warmupSteps = 0
    public var adamW = AdamWHyperparameters(beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.0)
    /// Global-norm clipping threshold; 0 turns clipping off.
    public var maxGradNorm = 1.0
    /// Save a checkpoint every this many steps (and always at the end); 0: only at the end.
    public var saveEvery = 500
    /// Plain progress lines (and metrics.csv / loss_curve.svg rewrites) every this many steps.
    public var logEvery = 10
    /// Per-step engine telemetry (sliding engine): a line per log step and telemetry.csv.
    public var telemetry = false
    /// Stop (saving a checkpoint) after this many steps of this process.
    public var stopAfter: Int?
    /// An output folder (its latest checkpoint is used) or one checkpoint folder.
    public var resume: String?

    public init(modelDirectory: String, dataPath: String, outputDirectory: String,
                data: DataLoaderOptions = DataLoaderOptions(seqLen: 1024, batchSize: 4)) {
        self.modelDirectory = modelDirectory
        self.dataPath = dataPath
        self.outputDirectory = outputDirectory
        self.data = data
    }

    /// Checks what can be checked without reading any file.
    public func validate() throws {
        guard gradAccum >= 1 else { throw UsageError("--grad-accum must be at least 1, got \(gradAccum)") }
        guard data.seqLen >= 2 else { throw UsageError("--seq-len must be at least 2, got \(data.seqLen)") }
        guard data.batchSize >= 1 else { throw UsageError("--batch-size must be at least 1, got \(data.batchSize)") }
        switch length {
        case .steps(let n): guard n >= 1 else { throw UsageError("--max-steps must be at least 1, got \(n)") }
        case .epochs(let e): guard e > 0, e.isFinite else { throw UsageError("--epochs must be greater than 0, got \(e)") }
        }
        guard maxGradNorm >= 0, maxGradNorm.isFinite else { throw UsageError("--max-grad-norm must be >= 0, got \(maxGradNorm)") }
        guard saveEvery >= 0 else { throw UsageError("--save-every must be >= 0, got \(saveEvery)") }
        guard logEvery >= 1 else { throw UsageError("--log-every must be at least 1, got \(logEvery)") }
        if let m = residentLayers, m < 0 { throw UsageError("--resident-layers must be >= 0, got \(m)") }
        if let k = window, k < 1 { throw UsageError("--window must be at least 1, got \(k)") }
        if let n = stopAfter, n < 1 { throw UsageError("--stop-after must be at least 1, got \(n)") }
        try adamW.validate()
        try schedule(totalSteps: 1).validate()
    }

    /// Optimizer steps of the run, given the data's micro-batches per epoch.
    public func totalSteps(batchesPerEpoch: Int) -> Int {
        switch length {
        case .steps(let n): return n
        case .epochs(let e):
            let microBatches = (e * Double(batchesPerEpoch)).rounded(.up)
            return max(1, Int((microBatches / Double(gradAccum)).rounded(.up)))
        }
    }

    public func schedule(totalSteps: Int) -> LearningRateSchedule {
        LearningRateSchedule(kind: schedule, peak: learningRate, warmupSteps: warmupSteps,
                             totalSteps: totalSteps, minLR: minLearningRate)
    }

    /// The settings a checkpoint records and a resumed run must repeat: each changes the
    /// losses or the data order. Flag name → value as text.
    func resumeSettings(totalSteps: Int, format: DataFormat) -> [(flag: String, value: String)] {
        [
            ("--data-format", format.rawValue), ("--seq-len", "\(data.seqLen)"), ("--batch-size", "\(data.batchSize)"),
            ("--grad-accum", "\(gradAccum)"), ("total steps (--max-steps / --epochs)", "\(totalSteps)"),
            ("--schedule", schedule.rawValue), ("--lr", "\(learningRate)"), ("--min-lr", "\(minLearningRate)"),
            ("--warmup-steps", "\(warmupSteps)"), ("--weight-decay", "\(adamW.weightDecay)"),
            ("--beta1", "\(adamW.beta1)"), ("--beta2", "\(adamW.beta2)"), ("--eps", "\(adamW.eps)"),
            ("--max-grad-norm", "\(maxGradNorm)"), ("--seed", "\(data.seed)"),
            ("--no-pack", data.pack ? "off" : "on"), ("--no-shuffle", data.shuffle ? "off" : "on"),
        ]
    }
}

extension DataLoaderOptions {
    /// Refuses rows longer than the model can attend over.
    public func check(against config: ModelConfig) throws {
        guard seqLen <= config.maxPositionEmbeddings else {
            throw UsageError("--seq-len \(seqLen) exceeds the model's max_position_embeddings (\(config.maxPositionEmbeddings))")
        }
        if let window = config.slidingWindow, seqLen > window {
            throw UsageError("--seq-len \(seqLen) exceeds the model's sliding_window (\(window)); windowed attention is not implemented")
        }
    }
}

extension TrainOptions {
    /// The defaults of every setting (paths empty), as --help states them.
    public static let defaults = TrainOptions(modelDirectory: "", dataPath: "", outputDirectory: "")
}
