/// One metadata value of a GGUF file. Integers of every width collapse to `int`/`uint` and
/// arrays to `array`: the converter only needs the value, not the width it was stored with.
public enum GGUFValue: Equatable, Sendable {
    case uint(UInt64)
    case int(Int64)
    case float32(Float)
    case float64(Double)
    case bool(Bool)
    case string(String)
    case array([GGUFValue])

    /// The value as an Int when it is an integer that fits.
    public var int: Int? {
        switch self {
        case .uint(let u): return u <= UInt64(Int.max) ? Int(u) : nil
        case .int(let i): return Int(exactly: i)
        default: return nil
        }
    }

    /// A float32 is widened through its shortest decimal spelling, so the 1e-5 that was stored
    /// as 9.99999974e-06 reads back as 1e-5 (what the original config said).
    public var double: Double? {
        switch self {
        case .float32(let f): return Double(f.description) ?? Double(f)
        case .float64(let d): return d
        case .uint, .int: return int.map(Double.init)
        default: return nil
        }
    }

    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var array: [GGUFValue]? { if case .array(let a) = self { return a }; return nil }

    /// What kind of value this is, for error messages ("string", "array of 3").
    public var kind: String {
        switch self {
        case .uint, .int: return "integer"
        case .float32, .float64: return "float"
        case .bool: return "bool"
        case .string: return "string"
        case .array(let a): return "array of \(a.count)"
        }
    }
}
