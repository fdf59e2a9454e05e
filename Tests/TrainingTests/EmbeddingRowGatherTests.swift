import Backends
import ModelFormats
import Support
import XCTest
@testable import Training

/// The host's gather of embedding rows is bit-identical to the device path: the table as the
/// engine uploads it (`copyToDevice(converting:)`, bf16 or f32), read back through
/// `embeddingForward` (the CPU backend's ops take f32, so the bf16 table is widened by the
/// backend's `copy` first, exactly as the device's kernel widens each element it loads).
final class EmbeddingRowGatherTests: XCTestCase {
    func testRowsMatchTheDeviceEmbedding() throws {
        let (v, c) = (50, 28)   // rows of 3 vectors of 8 and a scalar tail of 4
        let backend = CPUBackend(threads: 1)
        var rng = SplitMix64(seed: 3)
        // Values with low bits set, so bf16 rounding (ties included) matters.
        var masters = (0..<(v * c)).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0x3FFF_FFFF | 0x3000_0000) }
        masters[5] = Float(bitPattern: 0x3F80_8000)   // a tie: rounds to even
        let ids: [Int32] = (0..<37).map { Int32(($0 * 17) % v) }
        let pool = WorkerPool(threads: 2)
        defer { pool.shutdown() }
        for storage in [ElementType.f32, .bf16] {
            let table = try backend.makeBuffer(storage, count: v * c)
            let scratch = try backend.makeBuffer(.f32, count: 100)
            masters.withUnsafeBufferPointer {
                backend.copyToDevice(converting: $0.baseAddress!, to: table.ref(), count: v * c, scratch: scratch.ref(),
                                     on: backend.computeQueue)
            }
            let wide = try backend.makeBuffer(.f32, count: v * c)
            backend.copy(table.ref(), to: wide.ref(), count: v * c)
            let out = try backend.makeBuffer(.f32, count: ids.count * c), idBuffer = try backend.makeBuffer(ids)
            backend.embeddingForward(out: out.ref(), ids: idBuffer.ref(), table: wide.ref(), tokens: ids.count, channels: c,
                                     vocab: v)
            var gathered = [Float](repeating: .nan, count: ids.count * c)
            masters.withUnsafeBufferPointer { m in
                gathered.withUnsafeMutableBufferPointer {
                    EmbeddingRowGather.gather(ids: ids[...], channels: c, storage: storage, into: $0.baseAddress!,
                                              pool: pool) { id, dst in dst.update(from: m.baseAddress! + id * c, count: c) }
                }
            }
            XCTAssertEqual(gathered.map(\.bitPattern), backend.downloadFloats(out.ref(), count: ids.count * c).map(\.bitPattern),
                           "\(storage)")
            if storage == .bf16 { XCTAssertNotEqual(gathered[0], masters[Int(ids[0]) * c], "rounded") }
        }
    }
}
