/// Failures a backend reports to its caller (as opposed to misuse such as mismatched element
/// types or out-of-range operands, which are programming errors and trap).
public enum BackendError: Error, CustomStringConvertible {
    case outOfMemory(bytes: Int)

    public var description: String {
        switch self {
        case .outOfMemory(let bytes): return "backend out of memory allocating \(bytes) bytes"
        }
    }
}
