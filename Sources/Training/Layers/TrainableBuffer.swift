import Backends

/// One flat parameter buffer of a model on its backend, as the optimizer sees it: the compute
/// weights (f32, or bf16 rounded from the fp32 masters), their f32 gradient of the same
/// layout, and the tensors' element ranges with their weight-decay flags. `name` matches the
/// buffer's name in `HostTrainingState` and in checkpoints ("model.layers.3", or the
/// tensor's Hugging Face name).
public struct TrainableBuffer {
    /// Elements of the buffer that the model reads from a separate f32 copy (a bf16 model's
    /// norm weights): after each update the optimizer copies their fp32 masters there.
    public struct F32Copy {
        public let range: Range<Int>
        public let target: TensorRef
    }

    public let name: String
    public let weights: any DeviceBuffer
    public let gradients: any DeviceBuffer
    public let segments: OptimizerSegments
    public var f32Copies: [F32Copy] = []
}
