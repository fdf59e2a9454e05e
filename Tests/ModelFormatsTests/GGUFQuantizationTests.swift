import XCTest
import Support
import TestSupport
@testable import ModelFormats

final class GGUFQuantizationTests: XCTestCase {
    /// Every decodable type against gguf-py's dequantization of the same bytes
    /// (scripts/make_gguf_fixture.py): equal bit for bit, zero blocks and outliers included.
    func testMatchesGGUFPyDequantization() throws {
        let file = try GGUFFile(path: TestPaths.fixture("gguf/dequant.gguf"))
        for type in GGUFQuantization.supportedTypes {
            let encoded = try XCTUnwrap(file.tensor(named: "values.\(type.name)"), type.name)
            let expected = try XCTUnwrap(file.tensor(named: "expected.\(type.name)"), type.name)
            XCTAssertEqual(encoded.type, type)
            XCTAssertEqual(encoded.shape, expected.shape)
            var ours = [Float](repeating: .nan, count: encoded.elementCount)
            var reference = [Float](repeating: .nan, count: expected.elementCount)
            try ours.withUnsafeMutableBufferPointer { try file.dequantize(encoded, into: $0) }
            try reference.withUnsafeMutableBufferPointer { try file.dequantize(expected, into: $0) }
            XCTAssertEqual(ours.map(\.bitPattern), reference.map(\.bitPattern), type.name)
            XCTAssertTrue(reference.contains { $0 != 0 }, "fixture has data")
        }
    }

    /// One block of each 4/8-bit type worked by hand from ggml's formulas.
    func testBlockLayoutByHand() {
        let half: [UInt8] = [0x00, 0x38]  // fp16 0.5
        let quarter: [UInt8] = [0x00, 0x34]  // fp16 0.25
        // Q4_0: byte j = low nibble for element j, high nibble for element j + 16; value d·(q − 8).
        var q40 = half + [UInt8](repeating: 0x88, count: 16)
        q40[2] = 0x1F  // element 0: q = 15 → 3.5; element 16: q = 1 → −3.5
        XCTAssertEqual(decode(q40, .q4_0, count: 32)[0], 3.5)
        XCTAssertEqual(decode(q40, .q4_0, count: 32)[16], -3.5)
        XCTAssertEqual(decode(q40, .q4_0, count: 32)[1], 0)
        // Q4_1: d·q + m with m = 0.25.
        var q41 = half + quarter + [UInt8](repeating: 0, count: 16)
        q41[4 + 3] = 0xA2  // element 3: q = 2 → 1.25; element 19: q = 10 → 5.25
        let d41 = decode(q41, .q4_1, count: 32)
        XCTAssertEqual(d41[3], 1.25)
        XCTAssertEqual(d41[19], 5.25)
        XCTAssertEqual(d41[0], 0.25)
        // Q8_0: d·q with q signed.
        var q80 = half + [UInt8](repeating: 0, count: 32)
        q80[2 + 31] = UInt8(bitPattern: -128)
        q80[2 + 1] = 7
        let d80 = decode(q80, .q8_0, count: 32)
        XCTAssertEqual(d80[31], -64)
        XCTAssertEqual(d80[1], 3.5)
    }

    func testUnsupportedTypeIsAnInputErrorNamingIt() throws {
        var gguf = GGUFTestFile()
        gguf.tensors.append(.init(name: "k", dimensions: [256], type: 12, data: [UInt8](repeating: 0, count: 144)))
        let path = try TestPaths.temporaryDirectory("gguf-quant") + "/q4k.gguf"
        try gguf.write(to: path)
        let file = try GGUFFile(path: path)
        let tensor = try XCTUnwrap(file.tensor(named: "k"))
        XCTAssertEqual(tensor.type.name, "Q4_K")
        var out = [Float](repeating: 0, count: 256)
        XCTAssertThrowsError(try out.withUnsafeMutableBufferPointer { try file.dequantize(tensor, into: $0) }) { error in
            guard let e = error as? InputError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.location, "tensor k")
            XCTAssertTrue(e.message.contains("Q4_K"), e.message)
        }
    }

    private func decode(_ bytes: [UInt8], _ type: GGUFTensorType, count: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: count)
        let ok = bytes.withUnsafeBytes { source in
            out.withUnsafeMutableBufferPointer { GGUFQuantization.dequantize(source, type: type, into: $0) }
        }
        XCTAssertTrue(ok)
        return out
    }
}
