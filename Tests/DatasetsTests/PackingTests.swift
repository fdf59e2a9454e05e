import Datasets
import Support
import XCTest

final class PackingTests: XCTestCase {
    private let pad: Int32 = 0, bos: Int32 = 1, eos: Int32 = 2, ignored: Int32 = -100

    /// Documents "abc" (5 tokens with BOS/EOS), "de" (4), "fghij" (7): 16 tokens, rows of 6.
    private func threeDocuments() throws -> String {
        try Fixture.jsonl(["abc", "de", "fghij"].map(Fixture.textRow))
    }

    func testPackingConcatenatesDocumentsAndContinuesLongOnes() throws {
        let loader = try Fixture.loader(try threeDocuments(), seqLen: 6, batchSize: 2)
        XCTAssertEqual(loader.stats.rows, 3)
        XCTAssertEqual(loader.stats.tokens, 16)
        XCTAssertEqual(loader.stats.targetTokens, 4 + 3 + 6)
        XCTAssertEqual(loader.batchesPerEpoch, 2)

        let doc1 = [bos] + ByteEncoder.ids("abc") + [eos]
        let doc2 = [bos] + ByteEncoder.ids("de") + [eos]
        let doc3 = [bos] + ByteEncoder.ids("fghij") + [eos]
        let stream = doc1 + doc2 + doc3
        // Every document's first label is masked (it would be predicted from the previous document).
        var streamLabels = stream
        for start in [0, doc1.count, doc1.count + doc2.count] { streamLabels[start] = ignored }

        let first = try loader.next()
        XCTAssertEqual(first.inputIds, Array(stream[0..<12]))
        XCTAssertEqual(first.labels, Array(streamLabels[0..<12]))
        // Row 0: labels 1..5 = [a b c eos -100]: 4 targets. Row 1 starts inside doc 2 at "d",
        // whose label is not scored; labels 1..5 = [e eos -100 f g]: 4 targets.
        XCTAssertEqual(first.targetTokenCount, 8)

        let second = try loader.next()
        XCTAssertEqual(second.inputIds, Array(stream[12..<16]) + [pad, pad] + Array(repeating: pad, count: 6))
        XCTAssertEqual(second.labels, Array(streamLabels[12..<16]) + Array(repeating: ignored, count: 8))
        XCTAssertEqual(second.targetTokenCount, 3)
        XCTAssertEqual(second.epoch, 0)
        XCTAssertEqual(second.indexInEpoch, 1)

        // The next epoch starts on a fresh row with the first document again.
        let again = try loader.next()
        XCTAssertEqual(again.epoch, 1)
        XCTAssertEqual(again.indexInEpoch, 0)
        XCTAssertEqual(again.inputIds, first.inputIds)
        XCTAssertEqual(again.labels, first.labels)
    }

    func testUnpackedRowsArePaddedAndLongDocumentsTruncated() throws {
        let loader = try Fixture.loader(try threeDocuments(), seqLen: 5, batchSize: 2, pack: false)
        XCTAssertEqual(loader.stats.rows, 3)
        XCTAssertEqual(loader.stats.documents, 3)
        XCTAssertEqual(loader.stats.tokens, 5 + 4 + 5)
        XCTAssertEqual(loader.stats.truncatedDocuments, 1)
        XCTAssertEqual(loader.stats.truncatedTokens, 2)
        XCTAssertEqual(loader.stats.targetTokens, 4 + 3 + 4)
        XCTAssertEqual(loader.batchesPerEpoch, 2)

        let first = try loader.next()
        XCTAssertEqual(first.inputIds, [bos] + ByteEncoder.ids("abc") + [eos] + [bos] + ByteEncoder.ids("de") + [eos, pad])
        XCTAssertEqual(first.labels, [ignored] + ByteEncoder.ids("abc") + [eos] + [ignored] + ByteEncoder.ids("de") + [eos, ignored])
        XCTAssertEqual(first.targetTokenCount, 7)
        let second = try loader.next()
        XCTAssertEqual(second.inputIds, [bos] + ByteEncoder.ids("fghi") + Array(repeating: pad, count: 5))
        XCTAssertEqual(second.labels, [ignored] + ByteEncoder.ids("fghi") + Array(repeating: ignored, count: 5))
        XCTAssertEqual(second.targetTokenCount, 4)
    }

    func testStatsCountTokensTargetsAndTruncation() throws {
        let texts = (0..<100).map { String(repeating: "x", count: $0 % 13) }
        let path = try Fixture.jsonl(texts.map(Fixture.textRow))
        let tokens = texts.reduce(0) { $0 + $1.utf8.count + 2 }
        for pack in [true, false] {
            let stats = try Fixture.loader(path, seqLen: 10, batchSize: 2, pack: pack).stats
            // Unpacked rows keep at most 10 tokens: documents of 9..14 tokens lose the excess.
            let truncated = texts.map { max(0, $0.utf8.count + 2 - 10) }
            XCTAssertEqual(stats.tokens, pack ? tokens : tokens - truncated.reduce(0, +))
            XCTAssertEqual(stats.truncatedDocuments, pack ? 0 : truncated.filter { $0 > 0 }.count)
            XCTAssertEqual(stats.targetTokens, stats.tokens - 100)  // all but each document's first label
        }
    }

    func testPaddingFallsBackToEOSWithoutAPadToken() throws {
        let loader = try Fixture.loader(
            try Fixture.jsonl([Fixture.textRow("a")]), seqLen: 5, pack: false, encoder: ByteEncoder(padTokenId: nil))
        XCTAssertEqual(try loader.next().inputIds, [bos, 100, eos, eos, eos])
    }

    func testUnshuffledMicroBatchKHoldsRowsKBToKBPlusBMinusOne() throws {
        let texts = (0..<10).map { "doc\($0)" }
        let loader = try Fixture.loader(try Fixture.jsonl(texts.map(Fixture.textRow)), seqLen: 8, batchSize: 3, pack: false)
        XCTAssertEqual(loader.batchesPerEpoch, 4)
        for k in 0..<4 {
            let batch = try loader.next()
            for b in 0..<3 {
                let row = Array(batch.inputIds[(b * 8)..<(b * 8 + 8)])
                let expected = k * 3 + b < 10 ? [bos] + ByteEncoder.ids(texts[k * 3 + b]) + [eos, pad, pad] : Array(repeating: pad, count: 8)
                XCTAssertEqual(row, expected, "batch \(k) row \(b)")
            }
        }
    }
}
