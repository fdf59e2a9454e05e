import XCTest
import Support
import TestSupport
@testable import ModelFormats

final class SafeTensorsWriterTests: XCTestCase {
    /// The same tensors, in the order the Python library lays them out (dtype, then name), with
    /// the value rules of scripts/make_safetensors_fixtures.py `writer_reference`.
    let specs = [
        TensorSpec(name: "a.bias", dtype: .f32, shape: [3]),
        TensorSpec(name: "empty", dtype: .f32, shape: [0, 4]),
        TensorSpec(name: "lm_head.weight", dtype: .f32, shape: [2, 4]),
        TensorSpec(name: "model.layers.0.mlp.up_proj.weight", dtype: .bf16, shape: [3, 4]),
        TensorSpec(name: "model.norm.weight", dtype: .bf16, shape: [5]),
        TensorSpec(name: "half", dtype: .f16, shape: [7]),
    ]

    func fillReference(_ i: Int, _ dst: UnsafeMutableRawBufferPointer) {
        let s = specs[i]
        let n = s.elementCount
        switch s.dtype {
        case .f32:
            let v = (0..<n).map { Float($0) * 0.5 }
            v.withUnsafeBytes { dst.copyMemory(from: $0) }
        case .bf16:
            let f = (0..<n).map { Float($0) * Float(0.1) - 3 }
            var b = [UInt16](repeating: 0, count: n)
            f.withUnsafeBufferPointer { src in b.withUnsafeMutableBufferPointer { BFloat16.convert(src, to: $0) } }
            b.withUnsafeBytes { dst.copyMemory(from: $0) }
        case .f16:
            let v = (0..<n).map { UInt16($0 * 37) }
            v.withUnsafeBytes { dst.copyMemory(from: $0) }
        }
    }

    func testSingleFileIsByteIdenticalToPythonLibrary() throws {
        let dir = try TestPaths.temporaryDirectory("st-writer")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SafeTensorsWriter.write(specs, toDirectory: dir, fill: fillReference)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["model.safetensors"])
        let ours = try readFileBytes(dir + "/model.safetensors")
        let python = try readFileBytes(TestPaths.fixture("safetensors/writer_reference.safetensors"))
        XCTAssertEqual(ours.count, python.count)
        XCTAssertEqual(ours, python)
    }

    func testShardsAndIndex() throws {
        let dir = try TestPaths.temporaryDirectory("st-shards")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 12 + 0 + 32 | 24 + 10 | 14 bytes with a 44-byte limit.
        try SafeTensorsWriter.write(specs, toDirectory: dir, maxShardBytes: 44, fill: fillReference)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        XCTAssertEqual(files, ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                               "model-00003-of-00003.safetensors", "model.safetensors.index.json"])
        let index = try readJSONFile(dir + "/model.safetensors.index.json")
        XCTAssertEqual(index["metadata"]?["total_size"]?.int, 92)
        XCTAssertEqual(index["weight_map"]?["lm_head.weight"]?.string, "model-00001-of-00003.safetensors")
        XCTAssertEqual(index["weight_map"]?["model.layers.0.mlp.up_proj.weight"]?.string, "model-00002-of-00003.safetensors")
        XCTAssertEqual(index["weight_map"]?["half"]?.string, "model-00003-of-00003.safetensors")
        XCTAssertEqual(index["weight_map"]?.object?.count, specs.count)
        // Each shard is a complete file with its own header and offsets from 0.
        let shard2 = try readFileBytes(dir + "/model-00002-of-00003.safetensors")
        let header = SafeTensorsWriter.header(specs[3...4])
        XCTAssertEqual(Array(shard2[0..<header.count]), header)
    }

    func testDuplicateNamesRejectedAndNothingWritten() throws {
        let dir = try TestPaths.temporaryDirectory("st-dup")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try SafeTensorsWriter.write([specs[0], specs[0]], toDirectory: dir) { _, _ in })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    func testFailingFillLeavesNoFile() throws {
        let dir = try TestPaths.temporaryDirectory("st-fail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try SafeTensorsWriter.write(specs, toDirectory: dir) { i, _ in
            if i == 2 { throw UsageError("stop") }
        })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }
}
