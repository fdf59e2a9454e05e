import Backends
import ModelFormats

/// What the training loop, the loss evaluation and text generation need from a model that
/// runs on a compute device. Parameters cross to the host as `ModelWeights` (fp32, the
/// engine's flat per-layer layout); the device keeps its own copy of the weights, and the
/// optimizer (`DeviceTrainingState`) works on `trainableBuffers` on `backend`.
///
/// Labels follow the Hugging Face convention (aligned with the inputs, -100 = ignored, the
/// model shifts): see `MicroBatch`.
public protocol TrainableModel: AnyObject {
    /// The backend the model's buffers live on.
    var backend: any Backend { get }

    /// Every flat parameter buffer with its gradient (`HostTrainingState`'s order and names).
    var trainableBuffers: [TrainableBuffer] { get }

    /// Replaces the device's weights with `weights` (fp32, rounded to the model's storage).
    func loadParameters(_ weights: ModelWeights) throws

    /// Sets every gradient on the device to zero (the start of an optimizer step).
    func zeroGradients()

    /// Forward and backward of one micro-batch (B x T). Gradients are accumulated on the
    /// device with every token's cross-entropy multiplied by `lossScale`. Returns the
    /// unscaled Σ cross-entropy over the micro-batch's target tokens.
    func forwardBackward(inputIds: [Int32], labels: [Int32], batch: Int, seqLen: Int, lossScale: Float) throws -> Double

    /// Forward only: Σ cross-entropy over the target tokens and their count.
    func loss(inputIds: [Int32], labels: [Int32], batch: Int, seqLen: Int) throws -> (lossSum: Double, targets: Int)

    /// Forward only, one row of `seqLen` tokens: the logits (V) of its last position.
    func lastLogits(inputIds: [Int32], seqLen: Int) throws -> [Float]
}
