import ArgumentParser
import Support
import Training

extension TrainOptions.Device: ExpressibleByArgument {}
extension TrainOptions.Engine: ExpressibleByArgument {}
extension LearningRateSchedule.Kind: ExpressibleByArgument {}

/// `slideformer train`: full-parameter fine-tuning of a Hugging Face model folder.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune every parameter of a Hugging Face model on a dataset.",
        discussion: """
            The output folder holds a model that transformers loads (config.json, bf16 \
            model.safetensors, the tokenizer files), metrics.csv, loss_curve.svg and \
            checkpoints/step-NNNNNN/ (fp32 master weights, AdamW state, data position). \
            Only the last 2 checkpoints are kept. Ctrl-C (or SIGTERM) finishes the current step, \
            saves a checkpoint and exits; --resume continues with the same losses as an \
            uninterrupted run.
            """
    )

    private static let d = TrainOptions.defaults

    @Option(help: "Model folder: config.json, safetensors weights, tokenizer.json.")
    var model: String

    @OptionGroup var dataFlags: DataFlags

    @Option(help: "Output folder (created if needed).")
    var output: String

    @Option(help: "Compute device: cpu (fp32), cuda (bf16 compute, fp32 masters and AdamW state, all on the GPU), or auto (cuda when a usable GPU is found, else cpu).")
    var device = d.device

    @Option(help: "Where the training state lives: resident (all of it on the device), sliding (the GPU as a window over the layers; masters and AdamW state in host RAM), or auto (resident when the planner says it fits the GPU, else sliding).")
    var engine = d.engine

    @Option(help: "Sliding engine: the first N decoder layers stay on the GPU with their AdamW state, or auto (the fewest that hide the host AdamW behind compute, within GPU memory).")
    var residentLayers = ResidentLayerCount(nil)

    @Option(help: "Sliding engine: streamed decoder layers on the GPU at once (default: the plan's).")
    var window: Int?

    @OptionGroup var engineFlags: SlidingEngineFlags

    @Option(help: "GPU memory the run may use, e.g. 24GiB (default: the GPU's free memory); the memory pool is capped to it.")
    var gpuMemory: String?

    @Option(help: "Micro-batches per optimizer step (gradient accumulation).")
    var gradAccum = d.gradAccum

    @Option(help: "Optimizer steps to run (instead of --epochs).")
    var maxSteps: Int?

    @Option(help: "Passes over the data (default 1 when --max-steps is not given); may be fractional.")
    var epochs: Double?

    @Option(help: "Peak learning rate.")
    var lr = d.learningRate

    @Option(help: "Learning rate the linear or cosine decay ends at.")
    var minLr = d.minLearningRate

    @Option(help: "Steps of linear warm-up from 0 to --lr.")
    var warmupSteps = d.warmupSteps

    @Option(help: "Learning-rate schedule after warm-up: constant, linear or cosine.")
    var schedule = d.schedule

    @Option(help: "AdamW decoupled weight decay (matrices only; never norms or biases).")
    var weightDecay = d.adamW.weightDecay

    @Option(help: "AdamW beta1.")
    var beta1 = d.adamW.beta1

    @Option(help: "AdamW beta2.")
    var beta2 = d.adamW.beta2

    @Option(help: "AdamW epsilon.")
    var eps = d.adamW.eps

    @Option(help: "Clip the global gradient norm to this value (0: no clipping).")
    var maxGradNorm = d.maxGradNorm

    @Option(help: "Save a checkpoint every N steps (0: only at the end); the last 2 are kept.")
    var saveEvery = d.saveEvery

    @Option(help: "Continue a run: an output folder (its latest checkpoint) or a checkpoint folder. Use the same settings.")
    var resume: String?

    @Option(help: "Progress line (when not on a terminal) and metrics.csv / loss_curve.svg rewrite every N steps.")
    var logEvery = d.logEvery

    @Flag(help: "Sliding engine: time every queue and the AdamW thread; print GPU busy %, H2D/D2H GB/s, AdamW ms and the exposed waits every --log-every steps and write telemetry.csv.")
    var telemetry = false

    @Option(help: "Stop after N steps of this process, saving a checkpoint (resume later with --resume).")
    var stopAfter: Int?

    func run() throws {
        var o = TrainOptions(modelDirectory: model, dataPath: dataFlags.data, outputDirectory: output, data: dataFlags.loaderOptions)
        o.device = device
        o.gradAccum = gradAccum
        o.engine = engine
        o.residentLayers = residentLayers.count
        o.window = window
        o.landingBuffers = engineFlags.landingBuffers
        o.modelLevel = engineFlags.modelLevelOn
        o.checkpointType = engineFlags.checkpointDtype
        o.gradientType = engineFlags.gradientDtype
        o.mlpChunkTokens = engineFlags.mlpChunkTokens
        o.gpuMemory = try gpuMemory.map { try ByteCount.parse($0, option: "--gpu-memory") }
        if maxSteps != nil && epochs != nil { throw ValidationError("give --max-steps or --epochs, not both") }
        o.length = maxSteps.map { .steps($0) } ?? .epochs(epochs ?? 1)
        o.learningRate = lr
        o.minLearningRate = minLr
        o.warmupSteps = warmupSteps
        o.schedule = schedule
        o.adamW = AdamWHyperparameters(beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay)
        o.maxGradNorm = maxGradNorm
        o.saveEvery = saveEvery
        o.logEvery = logEvery
        o.stopAfter = stopAfter
        o.telemetry = telemetry
        o.resume = resume

        let result = try Trainer(options: o).run()
        if result.stoppedEarly {
            print("stopped after step \(result.step) of \(result.totalSteps); checkpoint \(result.checkpoint ?? "-")")
            print("resume with: " + resumeCommand())
        } else {
            print("done: \(result.step) steps; model, metrics.csv and loss_curve.svg in \(output)")
        }
    }

    /// This command line with --resume OUTPUT instead of any --resume / --stop-after it had.
    private func resumeCommand() -> String {
        var args: [String] = []
        var skipNext = false
        for arg in CommandLine.arguments.dropFirst() {
            if skipNext { skipNext = false; continue }
            if arg == "--resume" || arg == "--stop-after" { skipNext = true; continue }
            if arg.hasPrefix("--resume=") || arg.hasPrefix("--stop-after=") { continue }
            args.append(arg)
        }
        let quoted = (["slideformer"] + args + ["--resume", output]).map { arg in
            arg.contains(where: { " '\"$\\".contains($0) }) ? "'" + arg.replacing("'", with: "'\\''") + "'" : arg
        }
        return quoted.joined(separator: " ")
    }
}
