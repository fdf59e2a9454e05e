#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CKernels
import Datasets
import ModelFormats
import Support
import Tokenization

/// How a run ended.
public struct TrainResult: Equatable, Sendable {
    /// Optimizer steps completed (resumed runs included).
    public let step: Int
    public let totalSteps: Int
    /// True when Ctrl-C, SIGTERM or --stop-after ended the run before `totalSteps`.
    public var stoppedEarly: Bool { step < totalSteps }
    /// The last checkpoint written (nil only if the run had nothing left to do).
    public let checkpoint: String?
    /// Mean target-token loss of the last step (NaN when no step ran).
    public let lastLoss: Double
}

/// Builds the model that runs on the compute device, sized for micro-batches of B x T.
public typealias TrainableModelFactory = (_ layout: ModelLayout, _ maxBatch: Int, _ maxSeqLen: Int) throws -> any TrainableModel

/// The training loop, with the training state wherever its `TrainingStepEngine` keeps it (the
/// whole state on the model's backend, CPU or GPU; or the GPU as a sliding window over the
/// layers). The engine is planned before anything large is allocated. Per optimizer step:
///   1. fetch the step's `gradAccum` micro-batches and count their target tokens (after the
///      shift): the loss scale is 1 / total, so the summed gradients are those of the step's
///      token-weighted mean loss;
///   2. the engine's step: forward + backward of every micro-batch, the global gradient norm
///      (before clipping), AdamW with the scheduled learning rate and the clip coefficient;
///   3. log the step (loss of the step before its update, lr, grad norm, tokens, tokens/s).
/// Masters and moments come to the host only for checkpoints and the final model.
/// Checkpoints every `saveEvery` steps, at the end, and when stopped (Ctrl-C, SIGTERM,
/// --stop-after); a resumed run continues with the exact losses of an uninterrupted one.
public final class Trainer {
    public let options: TrainOptions
    private let encoder: any TextEncoding
    private let chatTemplate: (any ChatRendering)?
    private let engines: any TrainingEngineBuilder
    private let availableMemory: Int?
    private let pool: WorkerPool
    private let log: (String) -> Void

    /// `availableMemory`: host bytes the plan may use (nil: not checked).
    public init(options: TrainOptions, encoder: any TextEncoding, chatTemplate: (any ChatRendering)?,
                engines: any TrainingEngineBuilder, availableMemory: Int? = MemoryPlan.availableHostBytes(),
                pool: WorkerPool = .shared, log: @escaping (String) -> Void = { print($0) }) {
        self.options = options
        self.encoder = encoder
        self.chatTemplate = chatTemplate
        self.engines = engines
        self.availableMemory = availableMemory
        self.pool = pool
        self.log = log
    }

    public func run() throws -> TrainResult {
        try options.validate()
        let modelConfigPath = options.modelDirectory + "/config.json"
        let config = try ModelConfig.load(path: modelConfigPath)
        try options.data.check(against: config)
        let (B, T, accum) = (options.data.batchSize, options.data.seqLen, options.gradAccum)

        let loader = try DataLoader(path: options.dataPath, encoder: encoder, chatTemplate: chatTemplate, options: options.data)
        let totalSteps = options.totalSteps(batchesPerEpoch: loader.batchesPerEpoch)
        let schedule = options.schedule(totalSteps: totalSteps)
        try schedule.validate()
        log("data: \(loader.format.rawValue), \(loader.stats); \(loader.batchesPerEpoch) micro-batches of \(B)x\(T) per epoch")
        let layout = ModelLayout(config)
        try engines.plan(layout: layout, batchSize: B, seqLen: T, gradAccum: accum, maxGradNorm: options.maxGradNorm,
                         documents: loader.stats.documents, hostBytes: availableMemory, log: log)

        // Resume: the checkpoint's masters replace the model folder's weights.
        let checkpoint = try options.resume.map(Checkpoint.locate)
        let saved = try checkpoint.map(Checkpoint.readState)
        let settings = options.resumeSettings(totalSteps: totalSteps, format: loader.format)
        if let saved, let checkpoint { try Checkpoint.checkSettings(saved, current: settings, checkpoint: checkpoint) }
        if checkpoint == nil, !(try Checkpoint.list(options.outputDirectory + "/" + Checkpoint.folderName)).isEmpty {
            throw UsageError("\(options.outputDirectory) already holds checkpoints of another run: continue it with "
                             + "--resume \(options.outputDirectory), or choose another --output")
        }
        let masters = try ModelWeights.load(directory: checkpoint ?? options.modelDirectory, pool: pool)
        guard masters.config == config else {
            throw UsageError("the checkpoint \(checkpoint ?? "") was saved for a different model than \(modelConfigPath)")
        }
        let host = HostTrainingState(masters: masters)
        if let checkpoint, let saved {
            try Checkpoint.loadOptimizer(checkpoint, into: host)
            guard host.step == saved.step else {
                throw InputError(file: checkpoint + "/" + Checkpoint.optimizerFile, "optimizer step \(host.step) does not match the checkpoint's step \(saved.step)")
            }
            try loader.restore(saved.data)
            log("resuming from \(checkpoint) at step \(saved.step) of \(totalSteps)")
        }
        let engine = try engines.make(host: host, layout: layout, batchSize: B, seqLen: T, gradAccum: accum,
                                      maxGradNorm: options.maxGradNorm, hyperparameters: options.adamW)
        log(engine.summary)
        try FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
        let flopsPerToken = TrainingBenchmark.modelFlopsPerToken(
            config, seqLen: T, parameters: host.masters.namedTensors.reduce(0) { $0 + $1.values.count })
        let telemetry = options.telemetry ? TelemetryLog(path: options.outputDirectory + "/" + TelemetryLog.fileName) : nil
        let metrics = try MetricsLog(path: options.outputDirectory + "/" + OutputFolder.metricsFile, keepThroughStep: saved?.step)

        log("training \(totalSteps) steps of \(accum)x\(B)x\(T) tokens, \(schedule.kind.rawValue) lr \(Format.sci(options.learningRate, 2))"
            + " (warm-up \(options.warmupSteps)), output \(options.outputDirectory)")
        sf_install_stop_signal_handlers()
        let reporter = ProgressReporter(totalSteps: totalSteps, logEvery: options.logEvery)
        let clock = ContinuousClock()
        let start = clock.now
        let elapsedBefore = saved?.elapsedSeconds ?? 0
        var step = saved?.step ?? 0
        var stepsHere = 0
        var lastCheckpoint = checkpoint
        var lastLoss = Double.nan

        func saveCheckpoint() throws {
            let record = CheckpointState(step: step, elapsedSeconds: elapsedBefore + seconds(clock.now - start),
                                         settings: settings, data: loader.state)
            engine.synchronize(into: host)
            lastCheckpoint = try Checkpoint.save(record, host: host, hyperparameters: options.adamW, outputDirectory: options.outputDirectory)
            try OutputFolder.writeCurves(metrics, output: options.outputDirectory)
        }

        while step < totalSteps {
            let stepStart = clock.now
            let batches = try (0..<accum).map { _ in try loader.next() }
            let normalization = StepNormalization(targetCounts: batches.map(\.targetTokenCount))
            let lr = schedule.learningRate(stepsTaken: step)
            let (lossSum, gradNorm) = try engine.step(batches, normalization: normalization, learningRate: lr,
                                                      maxGradNorm: options.maxGradNorm)
            let loss = normalization.totalTargets > 0 ? lossSum / Double(normalization.totalTargets) : .nan
            guard gradNorm.isFinite, loss.isFinite || normalization.totalTargets == 0 else {
                reporter.finishLine()
                throw UsageError("training diverged at step \(step + 1): loss \(loss), gradient norm \(gradNorm) "
                                 + "(try a lower --lr; the last checkpoint is \(lastCheckpoint ?? "none"))")
            }
            step += 1
            stepsHere += 1
            lastLoss = loss

            let now = clock.now
            let tokens = accum * B * T
            let row = StepMetrics(step: step, loss: loss, lr: lr, gradNorm: gradNorm, tokens: tokens,
                                  tokensPerSecond: Double(tokens) / max(1e-9, seconds(now - stepStart)),
                                  elapsedSeconds: elapsedBefore + seconds(now - start))
            metrics.append(row)
            reporter.report(row, secondsPerStep: seconds(now - start) / Double(stepsHere),
                            tflops: flopsPerToken * row.tokensPerSecond / 1e12)
            if let telemetry, let t = engine.telemetry {
                telemetry.append(t)
                if step % options.logEvery == 0 {
                    reporter.finishLine()
                    log(TelemetryLog.line(t))
                    try telemetry.flush()
                }
            }

            let stop = sf_stop_requested() != 0 || stepsHere == options.stopAfter
            if step == totalSteps || stop || (options.saveEvery > 0 && step % options.saveEvery == 0) {
                try saveCheckpoint()
            } else if step % options.logEvery == 0 {
                try OutputFolder.writeCurves(metrics, output: options.outputDirectory)
            }
            if stop { break }
        }
        reporter.finishLine()
        engine.synchronize(into: host)
        if let telemetry {
            if let t = engine.telemetry { telemetry.append(t) }
            try telemetry.flush()
        }
        try OutputFolder.writeModel(host.masters, modelDirectory: options.modelDirectory, output: options.outputDirectory)
        try OutputFolder.writeCurves(metrics, output: options.outputDirectory)
        return TrainResult(step: step, totalSteps: totalSteps, checkpoint: lastCheckpoint, lastLoss: lastLoss)
    }
}

/// A `Duration` in seconds.
func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}
