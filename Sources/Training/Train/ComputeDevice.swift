import Backends
import CUDABackend
import ModelFormats
import Support

extension DecoderModel: TrainableModel {}

/// The backend a run computes on and the storage type of its models: the one place that
/// chooses between the CPU and the GPU (Layers and the optimizer only see `Backend`).
public struct ComputeDevice {
    public let backend: any Backend
    /// f32 on the CPU, bf16 on the GPU.
    public let storage: ElementType
    /// What was chosen, and for `auto` why.
    public let description: String
    /// Tokens per MLP chunk of the decoder layers, in resident models and sliding engines alike.
    public let mlpChunkTokens: Int

    public init(backend: any Backend, storage: ElementType, description: String,
                mlpChunkTokens: Int = MemoryPlanner.mlpChunkTokens) {
        self.backend = backend
        self.storage = storage
        self.description = description
        self.mlpChunkTokens = mlpChunkTokens
    }

    /// The same device with `tokens` per MLP chunk (nil: unchanged).
    public func with(mlpChunkTokens tokens: Int?) throws -> ComputeDevice {
        guard let tokens else { return self }
        guard tokens >= 1 else { throw UsageError("--mlp-chunk-tokens must be positive (got \(tokens))") }
        return ComputeDevice(backend: backend, storage: storage, description: description, mlpChunkTokens: tokens)
    }

    /// Opens `device`: `cuda` fails with the loader's message when no GPU can be used; `auto`
    /// falls back to the CPU, saying why.
    public static func open(_ device: TrainOptions.Device, pool: WorkerPool = .shared) throws -> ComputeDevice {
        switch device {
        case .cpu:
            return cpu(pool: pool, "cpu")
        case .cuda:
            return try cuda("cuda")
        case .auto:
            do {
                return try cuda("auto: CUDA")
            } catch {
                let reason = "\(error)".split(separator: "\n").prefix(2).joined(separator: " ")
                return cpu(pool: pool, "auto: CPU (no usable GPU: \(reason))")
            }
        }
    }

    private static func cpu(pool: WorkerPool, _ why: String) -> ComputeDevice {
        let backend = CPUBackend(pool: pool)
        return ComputeDevice(backend: backend, storage: .f32, description: "\(why), \(backend.name), fp32")
    }

    private static func cuda(_ why: String) throws -> ComputeDevice {
        let backend = try CUDABackend(libraries: try CUDALibraries.load())
        return ComputeDevice(backend: backend, storage: .bf16,
                             description: "\(why), \(backend.name), bf16 compute with fp32 masters and AdamW state on the GPU")
    }

    /// Builds decoder models on this device.
    public var modelFactory: TrainableModelFactory {
        { [backend, storage, mlpChunkTokens] layout, maxBatch, maxSeqLen in
            try DecoderModel(layout: layout, backend: backend, maxBatch: maxBatch, maxSeqLen: maxSeqLen, storage: storage,
                             mlpChunkTokens: mlpChunkTokens)
        }
    }
}

extension TrainOptions.Device {
    /// Builds decoder models on this device (opened now).
    public func modelFactory(pool: WorkerPool = .shared) throws -> TrainableModelFactory {
        try ComputeDevice.open(self, pool: pool).modelFactory
    }
}

extension Trainer {
    /// The tokenizer and chat template of `options.modelDirectory`, the model on `options.device`
    /// with `options.engine`.
    public convenience init(options: TrainOptions, log: @escaping (String) -> Void = { print($0) }) throws {
        try options.validate()
        let tokenizer = try ModelTokenizer.load(directory: options.modelDirectory)
        let device = try ComputeDevice.open(options.device).with(mlpChunkTokens: options.mlpChunkTokens)
        log("device: \(device.description)")
        self.init(options: options, encoder: tokenizer.encoder, chatTemplate: tokenizer.chatTemplate,
                  engines: try device.engineBuilder(options), log: log)
    }
}

extension ComputeDevice {
    /// The engine builder `options.engine` asks for on this device. The GPU budget is
    /// `options.gpuMemory`, else the device's free memory; the CPU backend has none.
    public func engineBuilder(_ options: TrainOptions) throws -> any TrainingEngineBuilder {
        let resident = ResidentEngineBuilder(makeModel: modelFactory)
        if options.engine == .resident { return resident }
        guard let queued = backend as? QueuedTransfers else {
            if options.engine == .auto { return resident }
            throw UsageError("\(backend.name) has no transfer queues for the sliding-window engine")
        }
        let memory = backend as? DeviceMemoryReporting
        let budget = try options.gpuMemory ?? memory.map { try $0.deviceMemory().free }
        let sliding = SlidingEngineBuilder(backend: queued, storage: storage, gpuBudget: budget,
                                           residentLayers: options.residentLayers, window: options.window,
                                           landingBuffers: options.landingBuffers,
                                           modelLevel: options.modelLevel, checkpointType: options.checkpointType,
                                           gradientType: options.gradientType, mlpChunkTokens: mlpChunkTokens,
                                           measure: options.telemetry)
        if options.engine == .sliding { return sliding }
        return AutomaticEngineBuilder(resident: resident, sliding: memory == nil ? nil : sliding)
    }
}
