import Support

/// One tensor of a GGUF file: its place in the file, already checked to lie inside it.
public struct GGUFTensorInfo: Sendable {
    public let name: String
    /// ggml order, fastest-varying first: a (rows, columns) matrix has dimensions [columns, rows].
    public let dimensions: [Int]
    public let type: GGUFTensorType
    /// Absolute byte offset of the tensor's data in the file.
    public let fileOffset: Int
    public let byteCount: Int
    public let elementCount: Int

    /// Row-major shape as PyTorch and safetensors write it (the dimensions reversed).
    public var shape: [Int] { dimensions.reversed() }
}

/// A GGUF file (versions 2 and 3), memory-mapped: the header, all metadata and the tensor
/// table are parsed and checked on open; tensor data is read in place when asked for.
///
/// Layout (little-endian): "GGUF", u32 version, u64 tensor count, u64 metadata count,
/// metadata (key string, u32 value type, value), tensor infos (name, u32 n_dims, u64 dims,
/// u32 type, u64 offset), padding to `general.alignment`, tensor data.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Where tensor data starts; tensor offsets in the file are relative to it.
    public let dataOffset: Int
    private let file: MappedFile
    private let tensorIndex: [String: Int]

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        var reader = GGUFByteReader(bytes: file.bytes, path: path)

        let magic = try reader.bytes(4, at: "header")
        guard Array(magic) == Array("GGUF".utf8) else {
            throw InputError(file: path, location: "header", "not a GGUF file (magic is not 'GGUF')")
        }
        version = try reader.read(UInt32.self, at: "header")
        guard version == 2 || version == 3 else {
            let hint = version.byteSwapped <= 3 ? " (a big-endian file?)" : ""
            throw InputError(file: path, location: "header", "GGUF version \(version) is not supported, only 2 and 3\(hint)")
        }
        let tensorCount = try reader.count(minimumItemBytes: 24, at: "header tensor count")
        let metadataCount = try reader.count(minimumItemBytes: 13, at: "header metadata count")

        var metadata: [String: GGUFValue] = [:]
        for _ in 0..<metadataCount {
            let key = try reader.string(at: "metadata key")
            let typeID = try reader.read(UInt32.self, at: "key \(key)")
            guard metadata[key] == nil else {
                throw InputError(file: path, location: "key \(key)", "key appears twice")
            }
            metadata[key] = try reader.value(ofType: typeID, at: "key \(key)")
        }
        self.metadata = metadata

        switch metadata["general.alignment"] {
        case nil: alignment = 32
        case .uint(let a)? where a > 0 && a <= 1 << 20 && a & (a - 1) == 0: alignment = Int(a)
        case let other?:
            throw InputError(file: path, location: "key general.alignment", "must be a power of two, got \(other)")
        }

        var infos: [(name: String, dimensions: [Int], type: GGUFTensorType, offset: Int)] = []
        infos.reserveCapacity(tensorCount)
        for _ in 0..<tensorCount {
            let name = try reader.string(at: "tensor table")
            let place = "tensor \(name)"
            let dimensionCount = try reader.read(UInt32.self, at: place)
            guard (1...4).contains(dimensionCount) else {
                throw InputError(file: path, location: place, "has \(dimensionCount) dimensions, expected 1 to 4")
            }
            var dimensions: [Int] = []
            for _ in 0..<dimensionCount {
                let d = try reader.read(UInt64.self, at: place)
                guard d >= 1, d <= UInt64(Int32.max) else {
                    throw InputError(file: path, location: place, "dimension \(d) out of range")
                }
                dimensions.append(Int(d))
            }
            let typeID = try reader.read(UInt32.self, at: place)
            guard let type = GGUFTensorType.withRawValue(typeID) else {
                throw InputError(file: path, location: place, "unknown tensor type \(typeID)")
            }
            let offset = try reader.read(UInt64.self, at: place)
            guard offset <= UInt64(file.bytes.count) else {
                throw InputError(file: path, location: place, "data offset \(offset) is beyond the end of the file")
            }
            infos.append((name, dimensions, type, Int(offset)))
        }
        dataOffset = (reader.position + alignment - 1) / alignment * alignment

        var tensors: [GGUFTensorInfo] = []
        var tensorIndex: [String: Int] = [:]
        for info in infos {
            let place = "tensor \(info.name)"
            guard tensorIndex[info.name] == nil else {
                throw InputError(file: path, location: place, "tensor name appears twice")
            }
            var elements = 1
            for d in info.dimensions {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else {
                    throw InputError(file: path, location: place, "too many elements: \(info.dimensions)")
                }
                elements = product
            }
            guard info.dimensions[0] % info.type.blockSize == 0 else {
                throw InputError(file: path, location: place,
                                 "first dimension \(info.dimensions[0]) is not a multiple of the \(info.type) block size \(info.type.blockSize)")
            }
            guard info.offset % alignment == 0 else {
                throw InputError(file: path, location: place, "data offset \(info.offset) is not a multiple of the alignment \(alignment)")
            }
            let (byteCount, overflow) = (elements / info.type.blockSize).multipliedReportingOverflow(by: info.type.blockBytes)
            guard !overflow else { throw InputError(file: path, location: place, "too many elements: \(info.dimensions)") }
            let start = dataOffset + info.offset
            guard start <= file.bytes.count, byteCount <= file.bytes.count - start else {
                throw InputError(file: path, location: place,
                                 "data [\(start), \(start + byteCount)) lies beyond the end of the file (\(file.bytes.count) bytes): truncated?")
            }
            tensorIndex[info.name] = tensors.count
            tensors.append(GGUFTensorInfo(name: info.name, dimensions: info.dimensions, type: info.type,
                                          fileOffset: start, byteCount: byteCount, elementCount: elements))
        }
        self.tensors = tensors
        self.tensorIndex = tensorIndex
    }

    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The tensor's bytes, in place in the mapped file (valid while this object lives).
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[tensor.fileOffset..<(tensor.fileOffset + tensor.byteCount)])
    }
}

/// Bounds-checked little-endian reads from the mapped file; every failure names the place.
private struct GGUFByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var position = 0

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    var remaining: Int { bytes.count - position }

    mutating func bytes(_ n: Int, at place: String) throws -> UnsafeRawBufferPointer.SubSequence {
        guard n >= 0, n <= remaining else {
            throw InputError(file: path, location: place, "file ends early (truncated at byte \(bytes.count))")
        }
        defer { position += n }
        return bytes[position..<(position + n)]
    }

    mutating func read<T: FixedWidthInteger>(_ type: T.Type, at place: String) throws -> T {
        let raw = try bytes(MemoryLayout<T>.size, at: place)
        return T(littleEndian: UnsafeRawBufferPointer(rebasing: raw).loadUnaligned(as: T.self))
    }

    /// A u64 count of items, each at least `minimumItemBytes` long, that must fit in the rest of the file.
    mutating func count(minimumItemBytes: Int, at place: String) throws -> Int {
        let n = try read(UInt64.self, at: place)
        guard n <= UInt64(remaining / minimumItemBytes) else {
            throw InputError(file: path, location: place, "count \(n) cannot fit in the file")
        }
        return Int(n)
    }

    mutating func string(at place: String) throws -> String {
        let length = try read(UInt64.self, at: place)
        guard length <= UInt64(remaining) else {
            throw InputError(file: path, location: place, "string of \(length) bytes runs past the end of the file")
        }
        return String(decoding: try bytes(Int(length), at: place), as: UTF8.self)
    }

    /// The smallest encoding of one value of a GGUF value type (for checking array counts).
    static func minimumBytes(ofType typeID: UInt32) -> Int {
        switch typeID {
        case 0, 1, 7: return 1
        case 2, 3: return 2
        case 4, 5, 6: return 4
        case 8, 10, 11, 12: return 8
        default: return 12  // array: element type + count
        }
    }

    mutating func value(ofType typeID: UInt32, at place: String, depth: Int = 0) throws -> GGUFValue {
        switch typeID {
        case 0: return .uint(UInt64(try read(UInt8.self, at: place)))
        case 1: return .int(Int64(try read(Int8.self, at: place)))
        case 2: return .uint(UInt64(try read(UInt16.self, at: place)))
        case 3: return .int(Int64(try read(Int16.self, at: place)))
        case 4: return .uint(UInt64(try read(UInt32.self, at: place)))
        case 5: return .int(Int64(try read(Int32.self, at: place)))
        case 6: return .float32(Float(bitPattern: try read(UInt32.self, at: place)))
        case 7:
            let b = try read(UInt8.self, at: place)
            guard b <= 1 else { throw InputError(file: path, location: place, "bool value \(b) is neither 0 nor 1") }
            return .bool(b == 1)
        case 8: return .string(try string(at: place))
        case 9:
            guard depth < 4 else { throw InputError(file: path, location: place, "arrays nested too deep") }
            let elementType = try read(UInt32.self, at: place)
            guard elementType <= 12 else {
                throw InputError(file: path, location: place, "unknown array element type \(elementType)")
            }
            let n = try count(minimumItemBytes: Self.minimumBytes(ofType: elementType), at: place)
            var items: [GGUFValue] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try value(ofType: elementType, at: place, depth: depth + 1)) }
            return .array(items)
        case 10: return .uint(try read(UInt64.self, at: place))
        case 11: return .int(try read(Int64.self, at: place))
        case 12: return .float64(Double(bitPattern: try read(UInt64.self, at: place)))
        default:
            throw InputError(file: path, location: place, "unknown metadata value type \(typeID)")
        }
    }
}
