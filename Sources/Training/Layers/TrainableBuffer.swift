import Backends

/// One flat parameter buffer of a model on its backend, as the optimizer sees it: the compute
/// weights (f32, or bf16 rounded from the fp32 masters), their f32 gradient of the same
/// layout, and the tensors' element ranges with their weight-decay flags. `name` matches the
/// buffer's name in `HostTrainingState` and in checkpoints ("model.layers.3", or the
/// tensor's Hugging Face name).
public struct TrainableBuffer {
    public let name: String
    public let weights: any DeviceBuffer
    public let gradients: any DeviceBuffer
    public let segments: OptimizerSegments
}
