import XCTest
import Backends

/// `copyToDevice(converting:)` through a scratch smaller than the copy (pieces of its size)
/// rounds exactly as through one that holds it all, offsets included.
final class ConvertingUploadTests: XCTestCase {
    func testPiecesOfTheScratchConvertLikeOneWholeCopy() throws {
        let backend = CPUBackend(threads: 1)
        var rng = GEMMTests.Rng(state: 11)
        let source = rng.values(1000).map { $0 * 3.3 }
        func upload(scratch: Int) throws -> [UInt16] {
            let destination = try backend.makeBuffer(.bf16, count: 1010)
            let pieces = try backend.makeBuffer(.f32, count: scratch + 5)
            source.withUnsafeBufferPointer {
                backend.copyToDevice(converting: $0.baseAddress!, to: destination.ref(7), count: source.count,
                                     scratch: pieces.ref(5), on: backend.computeQueue)
            }
            var raw = [UInt16](repeating: 0, count: 1010)
            raw.withUnsafeMutableBytes { backend.download(destination.ref(), into: $0) }
            return Array(raw[7..<1007])
        }
        let whole = try upload(scratch: 1000)
        XCTAssertEqual(whole.map(BFloat16Reference.toFloat), source.map { BFloat16Reference.toFloat(BFloat16Reference.fromFloat($0)) })
        for scratch in [1, 7, 64, 999] {
            XCTAssertEqual(try upload(scratch: scratch), whole, "scratch of \(scratch)")
        }
    }
}

/// Round to nearest even, as the backends convert (independent of their code).
private enum BFloat16Reference {
    static func fromFloat(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }
    static func toFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }
}
