import Backends

/// The element type in which the sliding-window engine sends the host-updated gradients (the
/// streamed layers' and the host-placed embedding / final norm / LM head's) to host memory for
/// the CPU AdamW.
///
/// The gradients accumulate in f32 on the device either way. `.f32` sends them as they are
/// (results identical to resident training). `.bf16` rounds them (nearest even) on the device's
/// copy queue, piece by piece, before they leave: half the D2H traffic, half the landing
/// buffers' pinned memory, and 4 of the ~40 host-memory bytes per parameter and step that bound
/// small batches. Under torch autocast a linear weight's gradient is itself the bf16 product
/// widened to f32, so this keeps torch's values for those; the norm weights' gradients (f32 in
/// torch) are rounded too. Partial sums of gradient accumulation must stay f32: `.bf16` needs one
/// micro-batch per step. The streamed embedding / LM head chunks always land in f32.
public enum GradientElementType: String, CaseIterable, Sendable {
    case f32, bf16

    public var elementType: ElementType { self == .f32 ? .f32 : .bf16 }

    /// The choice when none is asked: bf16 where the device computes in bf16 (autocast's own
    /// gradient values for the linear weights) and a step has one micro-batch, else f32.
    public static func automatic(storage: ElementType, microBatches: Int) -> GradientElementType {
        storage == .bf16 && microBatches == 1 ? .bf16 : .f32
    }
    public var byteSize: Int { elementType.byteSize }
}
