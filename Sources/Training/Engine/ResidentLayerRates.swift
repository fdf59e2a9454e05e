import Backends
import CUDABackend
import ModelFormats
import Support

/// The rates `ResidentLayerChoice` weighs, for one run's micro-batch: a decoder layer's forward
/// and recompute + backward on the GPU, the host AdamW's parameters per second and the pinned
/// host → device bandwidth. `measure` times them on this machine before the engine exists
/// (`train` and `bench sliding` with `--resident-layers auto`); `nominal` stands in where
/// nothing is measured.
public struct ResidentLayerRates: Sendable {
    /// Seconds of one decoder layer's forward at the micro-batch's tokens.
    public var layerForward: Double
    /// Seconds of one decoder layer's recompute + backward.
    public var layerBackward: Double
    /// Host AdamW parameters per second.
    public var hostAdamW: Double
    /// Pinned host → device bytes per second.
    public var hostToDevice: Double
    /// How they were obtained: "measured" or "nominal".
    public var source: String

    /// An H100 host's rates from bench/RESULTS.md: layers at 400 TFLOP/s sustained (forward
    /// 2·P·N FLOPs, recompute + backward three times that), the host AdamW at 4 Gparam/s with
    /// the engine's threads, 50 GB/s pinned uploads.
    public static func nominal(config: ModelConfig, tokens: Int) -> ResidentLayerRates {
        let forward = 2 * Double(LayerLayout(config).count) * Double(tokens) / 400e12
        return ResidentLayerRates(layerForward: forward, layerBackward: 3 * forward, hostAdamW: 4e9,
                                  hostToDevice: 50e9, source: "nominal")
    }

    /// Times a layer at the micro-batch's shape on `backend`, the host AdamW over 2^24 parameters
    /// on the shared pool (the engine's thread count) and a pinned 256 MiB upload (CUDA; otherwise
    /// the nominal bandwidth). Every buffer is released before returning.
    public static func measure(config: ModelConfig, batchSize: Int, seqLen: Int, storage: ElementType,
                               mlpChunkTokens: Int, bf16Gradients: Bool, backend: any Backend) throws -> ResidentLayerRates {
        let layer = try DecoderLayerTiming.measure(config: config, batchSize: batchSize, seqLen: seqLen, storage: storage,
                                                   mlpChunkTokens: mlpChunkTokens, backend: backend)
        let adamW = AdamWBenchmark(parameters: 1 << 24, iterations: 3, bf16Gradients: bf16Gradients)
        let adamWSeconds = try adamW.updateSeconds(pool: .shared)
        let upload = try (backend as? CUDABackend).map { try TransferBenchmark(backend: $0).run().hostToDevice * 1e9 }
        return ResidentLayerRates(layerForward: layer.forward, layerBackward: layer.backward,
                                  hostAdamW: Double(adamW.parameters) / adamWSeconds,
                                  hostToDevice: upload ?? nominal(config: config, tokens: batchSize * seqLen).hostToDevice,
                                  source: upload == nil ? "measured, nominal upload" : "measured")
    }

    /// The rates `--resident-layers auto` plans with: nominal on the CPU backend (whose "GPU"
    /// layers and AdamW share one memory) and where `streamedPlan` (the run's plan with no resident
    /// layer, the least GPU memory) does not fit, so that nothing is allocated for a run that is
    /// then refused; else measured with that plan's MLP chunk, the pool capped at `gpuBudget` less
    /// the context meanwhile, and its cached blocks handed back after (the measurement counts in
    /// no later peak; the caller sets the run's cap).
    static func forChoice(config: ModelConfig, batchSize: Int, seqLen: Int, storage: ElementType, bf16Gradients: Bool,
                          streamedPlan: SlidingWindowPlan, gpuBudget: Int?, backend: any Backend) throws -> ResidentLayerRates {
        guard let memory = backend as? DeviceMemoryReporting, streamedPlan.fits else {
            return nominal(config: config, tokens: batchSize * seqLen)
        }
        memory.limitPool(toBytes: gpuBudget.map { $0 - MemoryPlanner.contextBytes })
        defer { memory.limitPool(toBytes: nil) }
        let rates = try measure(config: config, batchSize: batchSize, seqLen: seqLen, storage: storage,
                                mlpChunkTokens: streamedPlan.mlpChunkTokens, bf16Gradients: bf16Gradients, backend: backend)
        try memory.restartPeak()
        return rates
    }

    /// "forward 2.49 ms, recompute + backward 7.47 ms per layer, host AdamW 4.00 Gparam/s, upload 50.0 GB/s (nominal)"
    public var description: String {
        "forward \(Format.fixed(layerForward * 1e3, 2)) ms, recompute + backward \(Format.fixed(layerBackward * 1e3, 2)) ms "
            + "per layer, host AdamW \(Format.fixed(hostAdamW / 1e9, 2)) Gparam/s, "
            + "upload \(Format.fixed(hostToDevice / 1e9, 1)) GB/s (\(source))"
    }
}
