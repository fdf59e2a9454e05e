import XCTest
import Backends

/// Chunking the fused linear cross-entropy over tokens must not change its results: every
/// chunk size against one chunk holding all tokens, on a vocabulary wider than the GEMM blocks.
final class CrossEntropyChunkingTests: XCTestCase {
    func testChunkSizesAgreeWithUnchunked() throws {
        let backend = CPUBackend(threads: 3)
        let (n, c, v) = (37, 40, 1100)
        var rng = GEMMTests.Rng(state: 99)
        let hidden = try backend.makeBuffer(rng.values(n * c)), w = try backend.makeBuffer(rng.values(v * c))
        let targets: [Int32] = (0..<n).map { i in i % 5 == 0 ? ignoredTarget : Int32((i * 7919) % v) }
        let tg = try backend.makeBuffer(targets)
        // Tokens 10..<20 all ignored: a chunk of 10 starting there must still zero its dHidden rows.
        let masked = try backend.makeBuffer(targets.enumerated().map { $0.offset / 10 == 1 ? ignoredTarget : $0.element })
        let scale: Float = 1 / 29

        func run(_ targets: any DeviceBuffer, chunk: Int) throws -> (loss: [Float], dh: [Float], dw: [Float]) {
            let loss = try backend.makeBuffer([Float(0)])
            let dh = try backend.makeBuffer([Float](repeating: .nan, count: n * c))
            let dw = try backend.makeBuffer([Float](repeating: 0, count: v * c))
            backend.linearCrossEntropy(lossSum: loss.ref(), dHidden: dh.ref(), dWeight: dw.ref(), hidden: hidden.ref(),
                                       weight: w.ref(), targets: targets.ref(), tokens: n, channels: c, vocab: v,
                                       scale: scale, chunkTokens: chunk)
            return (backend.downloadFloats(loss.ref(), count: 1), backend.downloadFloats(dh.ref(), count: n * c),
                    backend.downloadFloats(dw.ref(), count: v * c))
        }

        for t in [tg, masked] {
            let whole = try run(t, chunk: n)
            XCTAssertGreaterThan(whole.loss[0], 0)
            for chunk in [1, 5, 10, 16, 64] {
                let r = try run(t, chunk: chunk)
                // Same per-token math; only the order of dW's sums over tokens (and the fp32 loss
                // accumulation) changes with the chunking: fp32 rounding, ~1e-7 of the scale.
                assertClose(r.loss, whole.loss, "loss, chunk \(chunk)", tolerance: 1e-6)
                assertClose(r.dh, whole.dh, "dHidden, chunk \(chunk)", tolerance: 1e-6)
                assertClose(r.dw, whole.dw, "dW, chunk \(chunk)", tolerance: 1e-6)
            }
        }
    }
}
