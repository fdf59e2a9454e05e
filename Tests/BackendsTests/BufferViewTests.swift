import XCTest
import Backends

/// `makeView`: a buffer of another element type over part of a buffer's memory, which it keeps
/// alive (the streamed LM head's f32 logits and bf16 dlogits over the layers' shared scratch).
final class BufferViewTests: XCTestCase {
    func testAViewReadsAndWritesItsBuffersBytes() throws {
        let backend = CPUBackend(threads: 1)
        var view: (any DeviceBuffer)?
        var bf16View: (any DeviceBuffer)?
        do {
            // 1024 bf16 elements = 2048 bytes: f32 elements 64..<128 are bytes 256..<512.
            let shared = try backend.makeBuffer(.bf16, count: 1024)
            backend.upload([UInt16](repeating: 0, count: 1024), to: shared.ref())
            view = backend.makeView(.f32, count: 64, of: shared, byteOffset: 256)
            bf16View = backend.makeView(.bf16, count: 128, of: shared, byteOffset: 256)
        }
        // The buffer itself is only referenced by the views now.
        let values = (0..<64).map { Float($0) + 0.5 }
        backend.upload(values, to: try XCTUnwrap(view).ref())
        XCTAssertEqual(backend.downloadFloats(try XCTUnwrap(view).ref(), count: 64), values)
        var halves = [UInt16](repeating: 0, count: 128)
        halves.withUnsafeMutableBytes { backend.download(bf16View!.ref(), into: $0) }
        // Little-endian: each float is its low 16 bits, then its high ones (bf16 of the value).
        let expected = values.flatMap { v -> [UInt16] in
            let bits = v.bitPattern
            return [UInt16(truncatingIfNeeded: bits), UInt16(bits >> 16)]
        }
        XCTAssertEqual(halves, expected)
    }
}
