import Support

/// Where one tensor lies in a safetensors file.
public struct SafeTensorInfo: Equatable, Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Absolute byte range in the file (header included in the offset).
    public let byteRange: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
}

/// One safetensors file, memory-mapped and validated when opened: every tensor's range lies in
/// the file, matches its shape and dtype, and no two tensors overlap. Errors name the file and
/// the tensor.
public final class SafeTensorsFile: @unchecked Sendable {
    /// The Python library refuses headers above 100 MB; so do we.
    public static let maxHeaderBytes = 100_000_000

    public let path: String
    /// In file order (by data offset).
    public let tensors: [SafeTensorInfo]
    /// The `__metadata__` string map ({"format": "pt"} for torch files).
    public let metadata: [String: String]
    private let file: MappedFile
    private let byName: [String: Int]

    public init(path: String) throws {
        file = try MappedFile(path: path)
        self.path = path
        let size = file.bytes.count
        guard size >= 8 else { throw InputError(file: path, "truncated: \(size) bytes, too short for the 8-byte header length") }
        let headerLength = UInt64(littleEndian: file.bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(Self.maxHeaderBytes), Int(headerLength) <= size - 8 else {
            throw InputError(file: path, "header length \(headerLength) exceeds the file (\(size) bytes) or the 100 MB limit")
        }
        let dataStart = 8 + Int(headerLength)
        let header: JSON
        do {
            header = try JSON.parse(UnsafeRawBufferPointer(rebasing: file.bytes[8..<dataStart]))
        } catch let e as JSONParseError {
            throw InputError(file: path, location: "header", e.description)
        }
        guard let entries = header.object else { throw InputError(file: path, location: "header", "expected a JSON object") }
        (tensors, metadata) = try Self.parseEntries(entries, path: path, dataStart: dataStart, dataSize: size - dataStart)
        byName = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
    }

    public func info(_ name: String) -> SafeTensorInfo? { byName[name].map { tensors[$0] } }

    /// The tensor's raw little-endian bytes inside the map (valid while this object lives).
    public func bytes(_ t: SafeTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[t.byteRange])
    }

    /// Converts tensor `name` from its stored dtype into `destination` (exactly its element count).
    public func readFloat32(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        guard let t = info(name) else { throw InputError(file: path, location: "tensor \(name)", "not in this file") }
        try readFloat32(t, into: destination)
    }

    public func readFloat32(_ t: SafeTensorInfo, into destination: UnsafeMutableBufferPointer<Float>) throws {
        guard destination.count == t.elementCount else {
            throw InputError(file: path, location: "tensor \(t.name)",
                             "has \(t.elementCount) elements (shape \(t.shape)), expected \(destination.count)")
        }
        convert(t, elements: 0..<t.elementCount, into: destination)
    }

    /// Elements `elements` of `t` as fp32 into `destination` (`elements.count` long): the
    /// unchecked core that parallel loaders call on disjoint ranges.
    func convert(_ t: SafeTensorInfo, elements: Range<Int>, into destination: UnsafeMutableBufferPointer<Float>) {
        let src = bytes(t)
        let size = t.dtype.byteSize
        guard let base = src.baseAddress.map({ $0 + elements.lowerBound * size }), !elements.isEmpty else { return }
        if Int(bitPattern: base) % size != 0 {
            // Files from other writers may leave tensors unaligned: read element by element.
            for (k, i) in elements.enumerated() { destination[k] = Self.element(src, i, t.dtype) }
            return
        }
        let n = elements.count
        switch t.dtype {
        case .f32:
            UnsafeMutableRawBufferPointer(destination).copyMemory(from: UnsafeRawBufferPointer(start: base, count: n * 4))
        case .bf16:
            BFloat16.convert(UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt16.self), count: n), to: destination)
        case .f16:
            Float16Bits.convert(UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt16.self), count: n), to: destination)
        }
    }

    private static func element(_ src: UnsafeRawBufferPointer, _ i: Int, _ dtype: DType) -> Float {
        switch dtype {
        case .f32: return Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        case .bf16: return BFloat16.toFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        case .f16: return Float16Bits.toFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        }
    }

    private static func parseEntries(_ entries: JSONObject, path: String, dataStart: Int, dataSize: Int)
        throws -> ([SafeTensorInfo], [String: String]) {
        var metadata: [String: String] = [:]
        var infos: [SafeTensorInfo] = []
        for (name, value) in entries.pairs {
            if name == "__metadata__" {
                guard let m = value.object else { throw InputError(file: path, location: "header __metadata__", "expected an object") }
                for (k, v) in m.pairs {
                    guard let s = v.string else { throw InputError(file: path, location: "header __metadata__", "value of \(k) is not a string") }
                    metadata[k] = s
                }
                continue
            }
            infos.append(try parseTensor(name, value, path: path, dataStart: dataStart, dataSize: dataSize))
        }
        infos.sort { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }
        for (a, b) in zip(infos, infos.dropFirst()) where !a.byteRange.isEmpty && !b.byteRange.isEmpty {
            if b.byteRange.lowerBound < a.byteRange.upperBound {
                throw InputError(file: path, location: "tensor \(b.name)", "data overlaps tensor \(a.name)")
            }
        }
        return (infos, metadata)
    }

    private static func parseTensor(_ name: String, _ value: JSON, path: String, dataStart: Int, dataSize: Int) throws -> SafeTensorInfo {
        func fail(_ m: String) -> InputError { InputError(file: path, location: "tensor \(name)", m) }
        guard let typeName = value["dtype"]?.string else { throw fail("missing or non-string dtype") }
        guard let dtype = DType(rawValue: typeName) else {
            throw fail("unsupported dtype \(typeName) (supported: BF16, F16, F32)")
        }
        guard let dims = value["shape"]?.array else { throw fail("missing or non-array shape") }
        var shape: [Int] = []
        var count = 1
        for d in dims {
            guard case .int(let n) = d, n >= 0 else { throw fail("shape \(dims.map { $0.serialized() }) has a non-integer or negative size") }
            let (p, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow else { throw fail("shape \(dims.map { $0.serialized() }) is too large") }
            shape.append(n)
            count = p
        }
        guard let offsets = value["data_offsets"]?.array, offsets.count == 2,
              case .int(let begin) = offsets[0], case .int(let end) = offsets[1], begin >= 0, begin <= end else {
            throw fail("data_offsets must be two integers [begin, end] with 0 <= begin <= end")
        }
        guard end <= dataSize else {
            throw fail("data_offsets [\(begin), \(end)] run past the end of the data (\(dataSize) bytes): file truncated?")
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, end - begin == bytes else {
            throw fail("data_offsets [\(begin), \(end)] hold \(end - begin) bytes, but shape \(shape) of \(typeName) needs \(count * dtype.byteSize)")
        }
        return SafeTensorInfo(name: name, dtype: dtype, shape: shape, byteRange: (dataStart + begin)..<(dataStart + end))
    }
}
