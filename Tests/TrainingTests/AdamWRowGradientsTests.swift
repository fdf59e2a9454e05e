import ModelFormats
import Support
import XCTest
@testable import Training

/// `RowGradients`: an update with only some rows' gradients given is, bit for bit, the update
/// with the dense gradient whose other rows are zero; `AdamW.updatedValues` gives, without
/// writing, exactly what the update then writes. Rows of 24 (a multiple of 8, as the engine
/// requires) across 32Ki-element chunks that do not start on a row.
final class AdamWRowGradientsTests: XCTestCase {
    func testRowsMatchTheDenseUpdate() {
        let width = 24, rows = 3000, n = width * rows
        var rng = SplitMix64(seed: 7)
        func random() -> Float { Float(rng.next() >> 40) * 0x1p-24 - 0.5 }
        let present = Set((0..<rows).filter { $0 % 7 == 3 || $0 % 11 == 0 })
        var dense = [Float](repeating: 0, count: n), compact: [Float] = [], start: [Int: Int] = [:]
        for r in present.sorted() {
            start[r] = compact.count
            for c in 0..<width { let g = random(); dense[r * width + c] = g; compact.append(g) }
        }
        let initial = (0..<(3 * n)).map { _ in random() }.map { abs($0) }
        let adamw = AdamW(AdamWHyperparameters(weightDecay: 0.1))
        let segments = OptimizerSegments([DecaySegment(0..<n, decays: true)])
        func state() -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: 3 * n)
            p.initialize(from: initial, count: 3 * n)
            return p
        }
        let a = state(), b = state()
        defer { a.deallocate(); b.deallocate() }
        compact.withUnsafeBufferPointer { compactValues in
            dense.withUnsafeBufferPointer { denseValues in
                let rowGradients = RowGradients(rows: (0..<rows).map { r in start[r].map { compactValues.baseAddress! + $0 } },
                                                width: width)
                // What row 3's and row 4's (no gradient) update will write, read before it runs.
                var preview = [Float](repeating: 0, count: 2 * width)
                preview.withUnsafeMutableBufferPointer { out in
                    for (k, r) in [3, 4].enumerated() {
                        adamw.updatedValues(params: b, m: b + n, v: b + 2 * n, gradients: .rows(rowGradients),
                                            range: (r * width)..<((r + 1) * width), decays: true, step: 1,
                                            learningRate: 1e-2, gradScale: 0.75, into: out.baseAddress! + k * width)
                    }
                }
                adamw.update(params: a, gradients: .f32(denseValues.baseAddress!), m: a + n, v: a + 2 * n,
                             segments: segments, step: 1, learningRate: 1e-2, gradScale: 0.75, bf16Output: nil,
                             pool: WorkerPool(threads: 3))
                adamw.update(params: b, gradients: .rows(rowGradients), m: b + n, v: b + 2 * n,
                             segments: segments, step: 1, learningRate: 1e-2, gradScale: 0.75, bf16Output: nil,
                             pool: WorkerPool(threads: 3))
                XCTAssertEqual(Array(UnsafeBufferPointer(start: b + 3 * width, count: 2 * width)), preview)
            }
        }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: a, count: 3 * n)), Array(UnsafeBufferPointer(start: b, count: 3 * n)))
        XCTAssertNotEqual(Array(UnsafeBufferPointer(start: a, count: n)), Array(initial[0..<n]))
    }

    /// With fp32 and bf16 gradients and a range of 13 elements (a vector of 8 and a scalar
    /// tail), `updatedValues` is what `update` then writes, and leaves p, m and v as they were.
    func testUpdatedValuesOfDenseGradients() {
        let n = 40, range = 11..<24
        var rng = SplitMix64(seed: 3)
        func random() -> Float { Float(rng.next() >> 40) * 0x1p-24 - 0.5 }
        let initial = (0..<(3 * n)).map { _ in abs(random()) }
        let g32 = (0..<n).map { _ in random() }
        let g16 = g32.map { BFloat16.fromFloat($0) }
        let adamw = AdamW(AdamWHyperparameters(weightDecay: 0.1))
        for bf16 in [false, true] {
            var state = initial, preview = [Float](repeating: 0, count: range.count)
            g32.withUnsafeBufferPointer { g32 in
                g16.withUnsafeBufferPointer { g16 in
                    let gradients: GradientInput = bf16 ? .bf16(g16.baseAddress!) : .f32(g32.baseAddress!)
                    state.withUnsafeMutableBufferPointer { st in
                        let p = st.baseAddress!
                        preview.withUnsafeMutableBufferPointer { out in
                            adamw.updatedValues(params: p, m: p + n, v: p + 2 * n, gradients: gradients, range: range,
                                                decays: true, step: 2, learningRate: 1e-2, gradScale: 1,
                                                into: out.baseAddress!)
                        }
                        XCTAssertEqual(Array(st), initial, "nothing written")
                        adamw.update(params: p, gradients: gradients, m: p + n, v: p + 2 * n,
                                     segments: OptimizerSegments([DecaySegment(0..<n, decays: true)]), step: 2,
                                     learningRate: 1e-2, gradScale: 1, bf16Output: nil, pool: WorkerPool(threads: 1))
                    }
                }
            }
            XCTAssertEqual(Array(state[range]), preview, "bf16 gradients: \(bf16)")
            XCTAssertNotEqual(Array(state[range]), Array(initial[range]))
        }
    }
}
