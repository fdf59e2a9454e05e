import XCTest
import Backends

/// The cross-entropy over vocabulary chunks (the LM head streamed a chunk at a time) and the
/// embedding's gradient over chunks of table rows, against the whole-vocabulary ops as oracles.
final class VocabChunkTests: XCTestCase {
    private let backend = CPUBackend(threads: 3)

    /// Pass 1 over every chunk, the loss, pass 2 over every chunk (in reverse, as the engine
    /// runs it): the loss, dHidden and dW of `linearCrossEntropy` over the whole vocabulary.
    func testChunkedCrossEntropyMatchesWholeVocabulary() throws {
        let (n, c, v) = (37, 40, 1100)
        var rng = GEMMTests.Rng(state: 7)
        let hiddenValues = rng.values(n * c), weightValues = rng.values(v * c).map { $0 * 3 }
        let hidden = try backend.makeBuffer(hiddenValues)
        // Tokens 10..<20 ignored; targets spread over the vocabulary (some chunks hold none).
        let targets: [Int32] = (0..<n).map { i in i / 10 == 1 || i % 9 == 0 ? ignoredTarget : Int32((i * 7919) % v) }
        let tg = try backend.makeBuffer(targets)
        let scale: Float = 1 / Float(targets.filter { $0 != ignoredTarget }.count)

        let loss = try backend.makeBuffer([Float(0)])
        let dh = try backend.makeBuffer([Float](repeating: .nan, count: n * c))
        let dw = try backend.makeBuffer([Float](repeating: 0, count: v * c))
        let w = try backend.makeBuffer(weightValues)
        backend.linearCrossEntropy(lossSum: loss.ref(), dHidden: dh.ref(), dWeight: dw.ref(), hidden: hidden.ref(),
                                   weight: w.ref(), targets: tg.ref(), tokens: n, channels: c, vocab: v, scale: scale,
                                   chunkTokens: n)
        let whole = (loss: backend.downloadFloats(loss.ref(), count: 1), dh: backend.downloadFloats(dh.ref(), count: n * c),
                     dw: backend.downloadFloats(dw.ref(), count: v * c))
        XCTAssertGreaterThan(whole.loss[0], 0)

        for rows in [v, 256, 300, 97] {
            let chunks = stride(from: 0, to: v, by: rows).map { $0..<min(v, $0 + rows) }
            let rowMax = try backend.makeBuffer([Float](repeating: -.infinity, count: n))
            let rowSum = try backend.makeBuffer([Float](repeating: 0, count: n))
            let targetLogit = try backend.makeBuffer([Float](repeating: 0, count: n))
            let logits = try backend.makeBuffer(.f32, count: n * rows)
            let chunkLoss = try backend.makeBuffer([Float(0)])
            let dHidden = try backend.makeBuffer([Float](repeating: .nan, count: n * c))
            var dW = [Float](repeating: .nan, count: v * c)
            // Each chunk's weights in a buffer of their own, as the engine streams them.
            let weights = try chunks.map { try backend.makeBuffer(Array(weightValues[$0.lowerBound * c..<$0.upperBound * c])) }
            for (k, r) in chunks.enumerated() {
                backend.vocabChunkStatistics(rowMax: rowMax.ref(), rowSum: rowSum.ref(), targetLogit: targetLogit.ref(),
                                             logits: logits.ref(), hidden: hidden.ref(), weight: weights[k].ref(),
                                             targets: tg.ref(), tokens: n, channels: c, vocabStart: r.lowerBound,
                                             vocabRows: r.count)
            }
            backend.vocabChunkLoss(lossSum: chunkLoss.ref(), rowMax: rowMax.ref(), rowSum: rowSum.ref(),
                                   targetLogit: targetLogit.ref(), targets: tg.ref(), tokens: n)
            for (k, r) in chunks.enumerated().reversed() {
                let dWeight = try backend.makeBuffer([Float](repeating: 0, count: r.count * c))
                backend.vocabChunkBackward(dHidden: dHidden.ref(), dWeight: dWeight.ref(), logits: logits.ref(),
                                           dlogits: logits.ref(), hidden: hidden.ref(), weight: weights[k].ref(),
                                           targets: tg.ref(), rowMax: rowMax.ref(), rowSum: rowSum.ref(), tokens: n,
                                           channels: c, vocabStart: r.lowerBound, vocabRows: r.count, scale: scale,
                                           accumulate: k != chunks.count - 1)
                dW.replaceSubrange(r.lowerBound * c..<r.upperBound * c,
                                   with: backend.downloadFloats(dWeight.ref(), count: r.count * c))
            }
            // Same per-logit math; what changes is fp32 rounding. The running sum of
            // exponentials is rounded once per chunk (≤ 12 chunks × 6e-8 relative: the loss
            // within 1e-6). dlogits = exp(logit − lse) with lse rounded to f32 in both ops: sums
            // a few ulps apart can round lse to neighbouring floats, one ulp at |lse| < 32 being
            // 1.9e-6, which scales the row's dlogits (so dHidden and dW) by that much; dHidden
            // also sums the vocabulary in chunk pieces. 4e-6 of each tensor's scale bounds that
            // and is far below a real error (a missing chunk, a wrong offset, a lost target).
            assertClose(backend.downloadFloats(chunkLoss.ref(), count: 1), whole.loss, "loss, \(rows) rows", tolerance: 1e-6)
            assertClose(backend.downloadFloats(dHidden.ref(), count: n * c), whole.dh, "dHidden, \(rows) rows",
                        tolerance: 4e-6)
            assertClose(dW, whole.dw, "dW, \(rows) rows", tolerance: 4e-6)
            // Ignored tokens keep the starting statistics.
            let maxima = backend.downloadFloats(rowMax.ref(), count: n)
            XCTAssertTrue((10..<20).allSatisfy { maxima[$0] == -.infinity })
            XCTAssertTrue(maxima[1].isFinite)
        }
    }

    /// dlogits in a buffer of their own give what they give in place in `logits`.
    func testSeparateDlogitsEqualInPlace() throws {
        let (n, c, rows) = (9, 16, 30)
        var rng = GEMMTests.Rng(state: 3)
        let hidden = try backend.makeBuffer(rng.values(n * c)), w = try backend.makeBuffer(rng.values(rows * c))
        let tg = try backend.makeBuffer((0..<n).map { Int32($0 * 11 % 50) })
        let rowMax = try backend.makeBuffer(rng.values(n)), rowSum = try backend.makeBuffer(rng.values(n).map { 2 + $0 })
        func run(separate: Bool) throws -> ([Float], [Float]) {
            let dh = try backend.makeBuffer([Float](repeating: 0, count: n * c))
            let dw = try backend.makeBuffer([Float](repeating: 0, count: rows * c))
            let logits = try backend.makeBuffer(.f32, count: n * rows)
            let dlogits = separate ? try backend.makeBuffer(.f32, count: n * rows) : logits
            backend.vocabChunkBackward(dHidden: dh.ref(), dWeight: dw.ref(), logits: logits.ref(), dlogits: dlogits.ref(),
                                       hidden: hidden.ref(), weight: w.ref(), targets: tg.ref(), rowMax: rowMax.ref(),
                                       rowSum: rowSum.ref(), tokens: n, channels: c, vocabStart: 20, vocabRows: rows,
                                       scale: 0.25, accumulate: true)
            return (backend.downloadFloats(dh.ref(), count: n * c), backend.downloadFloats(dw.ref(), count: rows * c))
        }
        let (a, b) = (try run(separate: true), try run(separate: false))
        XCTAssertEqual(a.0, b.0)
        XCTAssertEqual(a.1, b.1)
    }

    /// The embedding's gradient from the tokens grouped by row, chunk by chunk of table rows
    /// or as the distinct rows one after the other, is `embeddingBackward`'s, bit for bit: each
    /// element adds the same rows in the same token order (repeated ids included).
    func testEmbeddingGroupsMatchWholeTable() throws {
        let (n, c, v) = (50, 24, 40)
        var rng = GEMMTests.Rng(state: 5)
        let dOut = try backend.makeBuffer(rng.values(n * c))
        let idValues: [Int32] = (0..<n).map { (i: Int) -> Int32 in Int32(i * i % 13 + (i % 3) * 9) }
        let ids = try backend.makeBuffer(idValues)
        let start = rng.values(v * c)
        let table = try backend.makeBuffer(start)
        backend.embeddingBackward(dTable: table.ref(), dOut: dOut.ref(), ids: ids.ref(), tokens: n, channels: c, vocab: v)
        let whole = backend.downloadFloats(table.ref(), count: v * c)
        let grouped = BatchRows(ids: idValues, vocab: v)
        let layout = try backend.makeBuffer(grouped.deviceLayout)
        let g = grouped.deviceRefs(at: layout.ref())
        for rows in [v, 7, 16] {
            var chunked: [Float] = []
            for first in stride(from: 0, to: v, by: rows) {
                let r = min(rows, v - first)
                let d = try backend.makeBuffer(Array(start[first * c..<(first + r) * c]))
                backend.embeddingBackwardGroups(dRows: d.ref(), dOut: dOut.ref(), tokenOrder: g.tokenOrder,
                                                rowStarts: g.rowStarts, groupRows: g.rows,
                                                groups: grouped.groups(inRows: first..<(first + r)), tokens: n,
                                                channels: c, firstRow: first, rows: r)
                chunked += backend.downloadFloats(d.ref(), count: r * c)
            }
            XCTAssertEqual(chunked, whole, "\(rows) rows per chunk")
        }
        // The distinct rows one after the other, 5 groups per call.
        let distinct = grouped.rows.map(Int.init)
        var compact: [Float] = []
        for first in stride(from: 0, to: distinct.count, by: 5) {
            let k = first..<min(first + 5, distinct.count)
            let d = try backend.makeBuffer(k.flatMap { start[distinct[$0] * c..<(distinct[$0] + 1) * c] })
            backend.embeddingBackwardGroups(dRows: d.ref(), dOut: dOut.ref(), tokenOrder: g.tokenOrder, rowStarts: g.rowStarts,
                                            groupRows: nil, groups: k, tokens: n, channels: c, firstRow: 0, rows: k.count)
            compact += backend.downloadFloats(d.ref(), count: k.count * c)
        }
        XCTAssertEqual(compact, distinct.flatMap { whole[$0 * c..<($0 + 1) * c] })
        XCTAssertNotEqual(whole, start)
    }

    /// Tokens grouped by row: the distinct ids ascending, each row's tokens in order.
    func testBatchRowsGroupTokensByRow() {
        let rows = BatchRows(ids: [7, 2, 7, 0, 2, 7], vocab: 9)
        XCTAssertEqual(rows.rows, [0, 2, 7])
        XCTAssertEqual(rows.rowStarts, [0, 1, 3, 6])
        XCTAssertEqual(rows.tokenOrder, [3, 1, 4, 0, 2, 5])
        XCTAssertEqual(rows.groups(inRows: 1..<8), 1..<3)
        XCTAssertEqual(rows.groups(inRows: 3..<7), 2..<2)
        XCTAssertEqual(rows.groups(inRows: 0..<9), 0..<3)
        XCTAssertEqual(rows.deviceLayout, [3, 1, 4, 0, 2, 5, 0, 1, 3, 6, 0, 2, 7])
    }
}
