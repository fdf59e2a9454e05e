/// Element types a backend buffer can hold.
/// Floating-point data (weights, activations, gradients) is `f32` or `bf16`; token ids, labels
/// and position ids are `i32`. Backends always accumulate in fp32, whatever the storage type.
public enum ElementType: String, Sendable, CaseIterable {
    case f32
    /// bfloat16 stored as raw 16-bit values (the top half of an fp32); conversions from fp32
    /// round to nearest even.
    case bf16
    case i32

    public var byteSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .bf16: return 2
        }
    }
}
