#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Support
import XCTest

/// Reads the small safetensors reference files the scripts under scripts/ write (F32, I16,
/// I64 tensors), for comparisons in tests.
struct SafeTensorsFixture {
    let path: String
    private let file: MappedFile
    private let header: JSON
    private let dataStart: Int

    init(_ path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        let length = Int(file.bytes.loadUnaligned(as: UInt64.self).littleEndian)
        header = try JSON.parse(UnsafeRawBufferPointer(rebasing: file.bytes[8..<(8 + length)]))
        dataStart = 8 + length
    }

    func shape(_ name: String) throws -> [Int] {
        let entry = try XCTUnwrap(header[name], "\(path): no tensor \(name)")
        return try XCTUnwrap(entry["shape"]?.array).map { try XCTUnwrap($0.int) }
    }

    private func raw<T>(_ name: String, dtype: String, as: T.Type) throws -> [T] {
        let entry = try XCTUnwrap(header[name], "\(path): no tensor \(name)")
        XCTAssertEqual(entry["dtype"]?.string, dtype, "\(name) dtype")
        let offsets = try XCTUnwrap(entry["data_offsets"]?.array).map { try XCTUnwrap($0.int) }
        let count = (offsets[1] - offsets[0]) / MemoryLayout<T>.size
        let base = file.bytes.baseAddress! + dataStart + offsets[0]
        return (0..<count).map { base.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) }
    }

    func floats(_ name: String) throws -> [Float] { try raw(name, dtype: "F32", as: Float.self) }
    func int16Bits(_ name: String) throws -> [UInt16] { try raw(name, dtype: "I16", as: UInt16.self) }
    func int64s(_ name: String) throws -> [Int64] { try raw(name, dtype: "I64", as: Int64.self) }
}

/// max |a - b| / max |b|: the error of `a` relative to the scale of the reference `b`.
func normalizedError(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    var diff = 0.0, scale = 0.0
    for i in 0..<a.count {
        diff = max(diff, abs(Double(a[i]) - Double(b[i])))
        scale = max(scale, abs(Double(b[i])))
    }
    return scale > 0 ? diff / scale : diff
}
