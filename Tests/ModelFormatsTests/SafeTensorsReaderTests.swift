import XCTest
import Support
import TestSupport
@testable import ModelFormats

final class SafeTensorsReaderTests: XCTestCase {
    func read(_ f: SafeTensorsFile, _ name: String) throws -> [Float] {
        let n = try XCTUnwrap(f.info(name)).elementCount
        var out = [Float](repeating: -1, count: n)
        try out.withUnsafeMutableBufferPointer { try f.readFloat32(name, into: $0) }
        return out
    }

    /// Values written by the Python library, compared bit for bit with torch's `.float()`.
    func testMixedDtypesMatchTorch() throws {
        let f = try SafeTensorsFile(path: TestPaths.fixture("safetensors/mixed.safetensors"))
        let expected = try readJSONFile(TestPaths.fixture("safetensors/mixed.expected.json"))
        XCTAssertEqual(f.metadata, ["format": "pt"])
        let dtypes = ["bfloat16": DType.bf16, "float16": .f16, "float32": .f32]
        for (name, e) in try XCTUnwrap(expected.object).pairs {
            let info = try XCTUnwrap(f.info(name), name)
            XCTAssertEqual(info.dtype, dtypes[e["dtype"]?.string ?? ""], name)
            XCTAssertEqual(info.shape, e["shape"]?.array?.compactMap(\.int), name)
            let want = try XCTUnwrap(e["values"]?.array).map { Float(try XCTUnwrap($0.double)) }
            let got = try read(f, name)
            XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern), name)
        }
        XCTAssertEqual(f.tensors.count, expected.object?.count)
    }

    func testShardedModelMatchesTorch() throws {
        let m = try SafeTensorsModel(directory: TestPaths.fixture("safetensors/sharded"))
        XCTAssertEqual(m.files.count, 4)
        let expected = try XCTUnwrap(readJSONFile(TestPaths.fixture("safetensors/sharded.expected.json")).object)
        XCTAssertEqual(m.tensorNames, expected.keys.sorted())
        for (name, e) in expected.pairs {
            let info = try XCTUnwrap(m.info(name), name)
            XCTAssertEqual(info.dtype, .bf16)
            XCTAssertEqual(info.shape, e["shape"]?.array?.compactMap(\.int), name)
            var v = [Float](repeating: 0, count: info.elementCount)
            try v.withUnsafeMutableBufferPointer { try m.readFloat32(name, into: $0) }
            XCTAssertEqual(v.prefix(4).map(Double.init), e["first"]?.array?.compactMap(\.double), name)
            let sum = v.reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(sum, try XCTUnwrap(e["sum"]?.double), accuracy: 1e-9, name)  // both exact sums of bf16 values
        }
    }

    // MARK: bad input

    /// A file from a header string and `dataBytes` zero bytes (header padded like the library).
    func craft(_ header: String, dataBytes: Int, lengthOverride: UInt64? = nil) throws -> String {
        var json = Array(header.utf8)
        json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
        var bytes: [UInt8] = []
        withUnsafeBytes(of: (lengthOverride ?? UInt64(json.count)).littleEndian) { bytes += $0 }
        bytes += json + [UInt8](repeating: 0, count: dataBytes)
        let dir = try TestPaths.temporaryDirectory("st-bad")
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let p = dir + "/bad.safetensors"
        try AtomicOutput.write(bytes, to: p)
        return p
    }

    func assertInputError(_ path: String, mentions: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(path: path), file: file, line: line) { e in
            guard let ie = e as? InputError else { return XCTFail("not an InputError: \(e)", file: file, line: line) }
            XCTAssertEqual(ie.file, path, file: file, line: line)
            XCTAssertTrue(ie.description.contains(mentions), "\(ie) lacks '\(mentions)'", file: file, line: line)
        }
    }

    let ok = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#

    func testTruncatedFile() throws {
        let dir = try TestPaths.temporaryDirectory("st-trunc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicOutput.write([1, 2, 3], to: dir + "/t.safetensors")
        assertInputError(dir + "/t.safetensors", mentions: "truncated")
        // Header fine, data cut short.
        assertInputError(try craft(ok, dataBytes: 4), mentions: "tensor a")
    }

    func testHeaderLengthTooLarge() throws {
        assertInputError(try craft(ok, dataBytes: 8, lengthOverride: 1 << 40), mentions: "header length")
    }

    func testBadJSON() throws {
        assertInputError(try craft(#"{"a": {"dtype": "F32",,}}"#, dataBytes: 0), mentions: "invalid JSON")
        assertInputError(try craft("[1, 2]", dataBytes: 0), mentions: "expected a JSON object")
    }

    func testOffsetsOutOfRange() throws {
        assertInputError(try craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, dataBytes: 8), mentions: "tensor a")
        assertInputError(try craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, dataBytes: 8), mentions: "tensor a")
        assertInputError(try craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}"#, dataBytes: 8), mentions: "tensor a")
    }

    func testOverlappingTensors() throws {
        let h = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        assertInputError(try craft(h, dataBytes: 12), mentions: "overlaps")
    }

    func testShapeSizeMismatch() throws {
        assertInputError(try craft(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, dataBytes: 8), mentions: "tensor a")
        assertInputError(try craft(#"{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,8]}}"#, dataBytes: 8), mentions: "needs 4")
        assertInputError(try craft(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}}"#, dataBytes: 8), mentions: "negative")
    }

    func testUnknownDtype() throws {
        assertInputError(try craft(#"{"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, dataBytes: 8), mentions: "unsupported dtype I64")
    }

    func testUnalignedTensorReadsCorrectly() throws {
        // BF16 tensor at an odd data offset (a layout the Python library never writes).
        let p = try craft(#"{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, dataBytes: 0)
        assertInputError(p, mentions: "unsupported dtype U8")
        var json = Array(#"{"b":{"dtype":"BF16","shape":[2],"data_offsets":[1,5]}}"#.utf8)
        json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes += $0 }
        bytes += json + [0x00, 0x80, 0x3F, 0x00, 0xC0]  // pad, 1.0, -2.0
        let dir = try TestPaths.temporaryDirectory("st-unaligned")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicOutput.write(bytes, to: dir + "/u.safetensors")
        XCTAssertEqual(try read(SafeTensorsFile(path: dir + "/u.safetensors"), "b"), [1.0, -2.0])
    }

    func testMissingShard() throws {
        let dir = try TestPaths.temporaryDirectory("st-shard")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = TestPaths.fixture("safetensors/sharded")
        for name in try FileManager.default.contentsOfDirectory(atPath: src) where name != "model-00003-of-00004.safetensors" {
            try FileManager.default.copyItem(atPath: src + "/" + name, toPath: dir + "/" + name)
        }
        XCTAssertThrowsError(try SafeTensorsModel(directory: dir)) { e in
            let ie = e as? InputError
            XCTAssertEqual(ie?.file, dir + "/model.safetensors.index.json")
            XCTAssertTrue(ie?.description.contains("model-00003-of-00004.safetensors") == true, "\(e)")
        }
    }

    func testEmptyFolder() throws {
        let dir = try TestPaths.temporaryDirectory("st-empty")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try SafeTensorsModel(directory: dir)) { XCTAssertEqual(($0 as? InputError)?.file, dir) }
    }
}

extension SafeTensorsReaderTests {
    func testIndexMustNameFilesInTheFolder() throws {
        let dir = try TestPaths.temporaryDirectory("st-index")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicOutput.write(#"{"weight_map": {"a": "../x.safetensors"}}"#, to: dir + "/model.safetensors.index.json")
        XCTAssertThrowsError(try SafeTensorsModel(directory: dir)) { e in
            XCTAssertEqual((e as? InputError)?.location, "key weight_map.a", "\(e)")
        }
        try AtomicOutput.write(#"{"metadata": {}}"#, to: dir + "/model.safetensors.index.json")
        XCTAssertThrowsError(try SafeTensorsModel(directory: dir)) { e in
            XCTAssertEqual((e as? InputError)?.location, "key weight_map", "\(e)")
        }
    }
}
