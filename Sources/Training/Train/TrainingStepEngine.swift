import Backends
import Datasets
import ModelFormats

/// One optimizer step as the `Trainer` runs it, whatever holds the training state: the whole
/// state on one backend (`ResidentStepEngine`) or the GPU as a window over the layers
/// (`SlidingWindowEngine`). Both give the same losses, norms and weights.
public protocol TrainingStepEngine: AnyObject {
    /// Where the steps run, for the log.
    var summary: String { get }

    /// Forward and backward of every micro-batch (each token's cross-entropy scaled by
    /// `normalization.lossScale`, gradients summed in fp32), the global gradient norm, then
    /// AdamW with `learningRate` and the gradients multiplied by the clip coefficient
    /// (`maxGradNorm` > 0). Returns the unscaled Σ cross-entropy and the norm before clipping.
    func step(_ microBatches: [MicroBatch], normalization: StepNormalization, learningRate: Double,
              maxGradNorm: Double) throws -> (lossSum: Double, gradientNorm: Double)

    /// Fills `host` (the state the engine was made from) with the masters and moments of every
    /// update so far: for checkpoints and the final model.
    func synchronize(into host: HostTrainingState)

    /// The breakdown of the last step whose work has all finished, when the engine measures.
    var telemetry: StepTelemetry? { get }
}

extension TrainingStepEngine {
    public var telemetry: StepTelemetry? { nil }
}

/// Builds a run's step engine in two stages, so that a run that cannot fit is refused before
/// anything large is allocated: `plan` from the shapes alone, then `make` from the host state.
public protocol TrainingEngineBuilder {
    /// Logs the plan and checks that the run fits. `hostBytes`: the host memory the run may
    /// use (nil: not checked).
    func plan(layout: ModelLayout, batchSize: Int, seqLen: Int, gradAccum: Int, maxGradNorm: Double,
              documents: Int, hostBytes: Int?, log: (String) -> Void) throws

    /// The engine, starting from `host` (the model folder's weights or a checkpoint's state).
    func make(host: HostTrainingState, layout: ModelLayout, batchSize: Int, seqLen: Int, gradAccum: Int,
              maxGradNorm: Double, hyperparameters: AdamWHyperparameters) throws -> any TrainingStepEngine
}

/// The whole training state on the model's backend: `TrainableModel` + `DeviceTrainingState`.
public final class ResidentStepEngine: TrainingStepEngine {
    public let model: any TrainableModel
    public let state: DeviceTrainingState

    public init(model: any TrainableModel, state: DeviceTrainingState) {
        self.model = model
        self.state = state
    }

    public var summary: String { "model on \(model.backend.name)" }

    public func step(_ microBatches: [MicroBatch], normalization: StepNormalization, learningRate: Double,
                     maxGradNorm: Double) throws -> (lossSum: Double, gradientNorm: Double) {
        model.zeroGradients()
        var lossSum = 0.0
        for b in microBatches {
            lossSum += try model.forwardBackward(inputIds: b.inputIds, labels: b.labels, batch: b.batchSize,
                                                 seqLen: b.seqLen, lossScale: normalization.lossScale)
        }
        let norm = state.gradientNorm()
        state.update(learningRate: learningRate, gradScale: GradientClipping.coefficient(totalNorm: norm, maxNorm: maxGradNorm))
        return (lossSum, norm)
    }

    public func synchronize(into host: HostTrainingState) {
        if host.step != state.step { state.download(into: host) }
    }
}

/// Resident engines from a model factory, after the host memory plan (`MemoryPlan`).
public struct ResidentEngineBuilder: TrainingEngineBuilder {
    public let makeModel: TrainableModelFactory

    public init(makeModel: @escaping TrainableModelFactory) {
        self.makeModel = makeModel
    }

    public func plan(layout: ModelLayout, batchSize: Int, seqLen: Int, gradAccum: Int, maxGradNorm: Double,
                     documents: Int, hostBytes: Int?, log: (String) -> Void) throws {
        let plan = MemoryPlan(layout: layout, batchSize: batchSize, seqLen: seqLen, documents: documents)
        log(plan.description)
        try plan.check(availableBytes: hostBytes)
    }

    public func make(host: HostTrainingState, layout: ModelLayout, batchSize: Int, seqLen: Int, gradAccum: Int,
                     maxGradNorm: Double, hyperparameters: AdamWHyperparameters) throws -> any TrainingStepEngine {
        let model = try makeModel(layout, batchSize, seqLen)
        let state = try DeviceTrainingState(model: model, hyperparameters: hyperparameters)
        state.upload(host)
        return ResidentStepEngine(model: model, state: state)
    }
}
