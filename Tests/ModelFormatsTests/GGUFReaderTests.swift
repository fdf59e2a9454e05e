import XCTest
import Support
import TestSupport
@testable import ModelFormats

final class GGUFReaderTests: XCTestCase {
    /// The fixture written by scripts/make_gguf_fixture.py with gguf-py's GGUFWriter.
    func testReadsEveryMetadataTypeWrittenByGGUFPy() throws {
        let file = try GGUFFile(path: TestPaths.fixture("gguf/dequant.gguf"))
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.alignment, 32)
        let m = file.metadata
        // The values the script passes to GGUFWriter.add_*.
        XCTAssertEqual(m["general.architecture"], .string("fixture"))
        XCTAssertEqual(m["fixture.u8"], .uint(200))
        XCTAssertEqual(m["fixture.i8"], .int(-100))
        XCTAssertEqual(m["fixture.u16"], .uint(60000))
        XCTAssertEqual(m["fixture.i16"], .int(-30000))
        XCTAssertEqual(m["fixture.u32"], .uint(4_000_000_000))
        XCTAssertEqual(m["fixture.i32"], .int(-2_000_000_000))
        XCTAssertEqual(m["fixture.f32"], .float32(1e-5))
        XCTAssertEqual(m["fixture.f32"]?.double, 1e-5, "float32 read back through its shortest decimal")
        XCTAssertEqual(m["fixture.u64"], .uint(UInt64(1) << 63 + 5))
        XCTAssertNil(m["fixture.u64"]?.int, "does not fit in Int")
        XCTAssertEqual(m["fixture.i64"], .int(-(Int64(1) << 62)))
        XCTAssertEqual(m["fixture.f64"], .float64(0.1))
        XCTAssertEqual(m["fixture.bool"], .bool(true))
        XCTAssertEqual(m["fixture.string"], .string("héllo ✓"))
        XCTAssertEqual(m["fixture.strings"], .array([.string("a"), .string(""), .string("ü b")]))
        XCTAssertEqual(m["fixture.ints"]?.array?.compactMap(\.int), [3, -1, 7])

        XCTAssertEqual(file.tensors.count, 13)
        let q = try XCTUnwrap(file.tensor(named: "values.Q4_1"))
        XCTAssertEqual(q.type, .q4_1)
        XCTAssertEqual(q.dimensions, [64, 2])
        XCTAssertEqual(q.shape, [2, 64])
        XCTAssertEqual(q.byteCount, 2 * 2 * 20)
        XCTAssertEqual(q.fileOffset % 32, 0)
    }

    func testCustomAlignmentIsHonoured() throws {
        var gguf = GGUFTestFile()
        gguf.alignment = 64
        gguf["general.alignment"] = .u32(64)
        gguf.addF32("a", shape: [3], [1, 2, 3])
        gguf.addF32("b", shape: [2], [4, 5])
        let path = try write(gguf)
        let file = try GGUFFile(path: path)
        XCTAssertEqual(file.alignment, 64)
        XCTAssertEqual(file.dataOffset % 64, 0)
        let b = try XCTUnwrap(file.tensor(named: "b"))
        XCTAssertEqual(b.fileOffset, file.dataOffset + 64)
        var values = [Float](repeating: 0, count: 2)
        try values.withUnsafeMutableBufferPointer { try file.dequantize(b, into: $0) }
        XCTAssertEqual(values, [4, 5])
    }

    func testBadMagic() throws {
        var gguf = GGUFTestFile()
        gguf.magic = Array("GGML".utf8)
        try assertInputError(gguf, contains: "magic")
    }

    func testUnsupportedVersion() throws {
        var gguf = GGUFTestFile()
        gguf.version = 1
        try assertInputError(gguf, contains: "version 1")
    }

    func testTruncatedAnywhereIsAnInputError() throws {
        let bytes = TinyLlama.make().file.bytes()
        let dir = try TestPaths.temporaryDirectory("gguf-truncated")
        // Cut inside the header, the metadata, the tensor table and the tensor data.
        for length in [0, 3, 10, 30, 200, 1000, bytes.count / 2, bytes.count - 1] {
            let path = dir + "/cut-\(length).gguf"
            try AtomicOutput.write(bytes[0..<length], to: path)
            XCTAssertThrowsError(try GGUFFile(path: path), "cut at \(length)") { error in
                guard let e = error as? InputError else { return XCTFail("\(error)") }
                XCTAssertEqual(e.file, path)
            }
        }
    }

    func testTensorOffsetOutOfRange() throws {
        var gguf = GGUFTestFile()
        gguf.addF32("w", shape: [4], [1, 2, 3, 4])
        gguf.tensors[0].offsetOverride = 1 << 20
        try assertInputError(gguf, contains: "beyond the end", location: "tensor w")
    }

    func testMisalignedTensorOffset() throws {
        var gguf = GGUFTestFile()
        gguf.addF32("w", shape: [4], [1, 2, 3, 4])
        gguf.tensors[0].offsetOverride = 4
        try assertInputError(gguf, contains: "alignment", location: "tensor w")
    }

    func testUnknownTensorType() throws {
        var gguf = GGUFTestFile()
        gguf.addF32("w", shape: [4], [1, 2, 3, 4])
        gguf.tensors[0].type = 99
        try assertInputError(gguf, contains: "unknown tensor type 99", location: "tensor w")
    }

    func testRowNotAWholeNumberOfBlocks() throws {
        var gguf = GGUFTestFile()
        gguf.tensors.append(.init(name: "q", dimensions: [16], type: GGUFTensorType.q4_0.rawValue, data: [UInt8](repeating: 0, count: 18)))
        try assertInputError(gguf, contains: "block size 32", location: "tensor q")
    }

    func testDuplicateTensorAndHugeCounts() throws {
        var twice = GGUFTestFile()
        twice.addF32("w", shape: [1], [1])
        twice.addF32("w", shape: [1], [2])
        try assertInputError(twice, contains: "twice", location: "tensor w")

        var huge = GGUFTestFile()
        huge["tokens"] = .strings(["a"])
        var bytes = huge.bytes()
        // The array count sits after magic, version, counts, key, value type and element type.
        let countOffset = 4 + 4 + 8 + 8 + 8 + "tokens".utf8.count + 4 + 4
        for i in 0..<8 { bytes[countOffset + i] = 0xFF }
        let path = try TestPaths.temporaryDirectory("gguf-huge") + "/huge.gguf"
        try AtomicOutput.write(bytes, to: path)
        XCTAssertThrowsError(try GGUFFile(path: path)) { error in
            XCTAssertTrue("\(error)".contains("cannot fit"), "\(error)")
        }
    }

    func testBadAlignmentValue() throws {
        var gguf = GGUFTestFile()
        gguf["general.alignment"] = .u32(24)
        try assertInputError(gguf, contains: "power of two", location: "key general.alignment")
    }

    // MARK: helpers

    private func write(_ gguf: GGUFTestFile) throws -> String {
        let path = try TestPaths.temporaryDirectory("gguf-reader") + "/test.gguf"
        try gguf.write(to: path)
        return path
    }

    private func assertInputError(_ gguf: GGUFTestFile, contains text: String, location: String? = nil,
                                  file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try write(gguf)
        XCTAssertThrowsError(try GGUFFile(path: path), file: file, line: line) { error in
            guard let e = error as? InputError else { return XCTFail("not an InputError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.file, path, file: file, line: line)
            XCTAssertTrue(e.message.contains(text), "\(e)", file: file, line: line)
            if let location { XCTAssertEqual(e.location, location, file: file, line: line) }
        }
    }
}
