/// Element types a checkpoint tensor may have on disk.
public enum DType: String, Sendable, CaseIterable {
    case bf16 = "BF16"
    case f16 = "F16"
    case f32 = "F32"

    public var byteSize: Int {
        switch self {
        case .bf16, .f16: return 2
        case .f32: return 4
        }
    }
}
