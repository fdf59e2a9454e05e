import XCTest
import Support
import TestSupport
import Backends

/// One op's reference tensors, written by scripts/make_op_reference.py as safetensors
/// (8-byte header length, JSON header, raw little-endian data). Reads F32, I32 and I16.
struct OpFixture {
    let name: String
    private let header: JSONObject
    private let data: [UInt8]
    private let dataStart: Int

    init(_ name: String) throws {
        self.name = name
        let path = TestPaths.fixture("ops/\(name).safetensors")
        data = try readFileBytes(path)
        guard data.count >= 8 else { throw FixtureError("\(name): file too short") }
        let headerLength = data[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        dataStart = 8 + headerLength
        guard dataStart <= data.count, let h = try JSON.parse(String(decoding: data[8..<dataStart], as: UTF8.self)).object
        else { throw FixtureError("\(name): bad header") }
        header = h
    }

    /// An integer or real scalar from the metadata.
    func scalar(_ key: String) throws -> Double {
        guard let s = header["__metadata__"]?[key]?.string, let v = Double(s) else {
            throw FixtureError("\(name): no metadata \(key)")
        }
        return v
    }

    func int(_ key: String) throws -> Int { Int(try scalar(key)) }

    private func bytes(_ key: String, dtype: String) throws -> ArraySlice<UInt8> {
        guard let entry = header[key], entry["dtype"]?.string == dtype,
              let offsets = entry["data_offsets"]?.array, offsets.count == 2,
              let lo = offsets[0].int, let hi = offsets[1].int, dataStart + hi <= data.count
        else { throw FixtureError("\(name): no \(dtype) tensor \(key)") }
        return data[(dataStart + lo)..<(dataStart + hi)]
    }

    func floats(_ key: String) throws -> [Float] {
        let b = try bytes(key, dtype: "F32")
        return stride(from: b.startIndex, to: b.endIndex, by: 4).map { i in
            Float(bitPattern: UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24)
        }
    }

    func ints(_ key: String) throws -> [Int32] {
        let b = try bytes(key, dtype: "I32")
        return stride(from: b.startIndex, to: b.endIndex, by: 4).map { i in
            Int32(bitPattern: UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24)
        }
    }

    func int16s(_ key: String) throws -> [UInt16] {
        let b = try bytes(key, dtype: "I16")
        return stride(from: b.startIndex, to: b.endIndex, by: 2).map { i in UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Normalized error: max |actual − expected| / max(max |expected|, 1e-30). Scale-free, so one
/// bound fits tensors of any magnitude (the llama.cpp test-backend-ops idea).
func normalizedError(_ actual: [Float], _ expected: [Float]) -> Double {
    precondition(actual.count == expected.count)
    var err = 0.0, scale = 0.0
    for (a, e) in zip(actual, expected) {
        err = max(err, abs(Double(a) - Double(e)))
        scale = max(scale, abs(Double(e)))
    }
    return err / max(scale, 1e-30)
}

/// fp32 math against a float64 PyTorch oracle: each output is a sum of at most a few hundred
/// products, each rounding by ≤ 6e-8 relative, so 1e-5 of the tensor's scale is a bound with
/// room for accumulation order, yet far below any real bug (wrong index, sign, missing term).
let fp32Tolerance = 1e-5

func assertClose(_ actual: [Float], _ expected: [Float], _ what: String, tolerance: Double = fp32Tolerance,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(what): element count", file: file, line: line)
    guard actual.count == expected.count else { return }
    XCTAssertFalse(actual.contains { !$0.isFinite }, "\(what): non-finite output", file: file, line: line)
    let e = normalizedError(actual, expected)
    XCTAssertLessThanOrEqual(e, tolerance, "\(what): normalized error \(e)", file: file, line: line)
}
