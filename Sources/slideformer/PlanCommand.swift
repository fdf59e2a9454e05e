import ArgumentParser
import ModelFormats
import Support
import Training

/// `slideformer plan`: the sliding-window engine's memory plan, before anything is allocated.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "GPU, pinned and pageable host memory of a sliding-window training run, the window of layers "
            + "on the GPU and the largest batch that fits (no GPU needed). Exits non-zero when it does not fit."
    )

    @OptionGroup var source: ModelSourceFlags

    @Option(help: "Tokens per row.")
    var seqLen: Int

    @Option(help: "Rows per step.")
    var batchSize: Int

    @Option(help: "GPU memory to plan for, e.g. 24GiB or 80GB (default: not checked, every layer on the GPU).")
    var gpuMemory: String?

    @Option(help: "Host memory to plan for, e.g. 125GiB (default: this host's MemAvailable).")
    var cpuMemory: String?

    @Flag(help: "Plan for exact global-norm gradient clipping (every layer's gradient kept on the host).")
    var clipping = false

    @Option(help: "The first N decoder layers stay on the GPU with their AdamW state.")
    var residentLayers = 0

    @OptionGroup var engineFlags: SlidingEngineFlags

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    func run() throws {
        let configPath = try source.configPath()
        guard seqLen >= 1, batchSize >= 1 else { throw UsageError("--seq-len and --batch-size must be positive") }
        let plan = MemoryPlanner.plan(
            config: try ModelConfig.load(path: configPath), batchSize: batchSize, seqLen: seqLen,
            gpuBudget: try gpuMemory.map { try ByteCount.parse($0, option: "--gpu-memory") },
            hostBudget: try cpuMemory.map { try ByteCount.parse($0, option: "--cpu-memory") } ?? MemoryPlan.availableHostBytes(),
            clipping: clipping, residentLayers: residentLayers, modelLevel: engineFlags.modelLevelOn,
            checkpointType: engineFlags.checkpointDtype,
            mlpChunkTokens: engineFlags.mlpChunkTokens ?? MemoryPlanner.mlpChunkTokens, landingBuffers: engineFlags.landingBuffers,
            gradientType: engineFlags.gradientDtype ?? .automatic(storage: .bf16, microBatches: 1))
        print(json ? plan.json.serialized() : plan.description)
        if !plan.fits { throw ExitCode(1) }
    }
}
