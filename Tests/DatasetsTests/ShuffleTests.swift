import Datasets
import Support
import XCTest

final class ShuffleTests: XCTestCase {
    private static let count = 40

    /// 40 documents "d0".."d39", one per row (unpacked), batches of 4.
    private func loader(seed: UInt64, shuffle: Bool = true, pack: Bool = false) throws -> DataLoader {
        let rows = (0..<ShuffleTests.count).map { Fixture.textRow("d\($0)") }
        return try Fixture.loader(try Fixture.jsonl(rows), seqLen: 8, batchSize: 4, pack: pack, shuffle: shuffle, seed: seed)
    }

    /// The document number of every row of one epoch, in order.
    private func epochOrder(_ loader: DataLoader) throws -> [Int] {
        var order: [Int] = []
        for _ in 0..<loader.batchesPerEpoch {
            let batch = try loader.next()
            for b in 0..<batch.batchSize {
                let row = Array(batch.inputIds[(b * batch.seqLen)..<((b + 1) * batch.seqLen)])
                order.append(Int(ByteEncoder().decode(row, skipSpecialTokens: true).dropFirst())!)
            }
        }
        return order
    }

    func testSameSeedSameOrderAndEveryDocumentOncePerEpoch() throws {
        let a = try loader(seed: 7), b = try loader(seed: 7)
        let a0 = try epochOrder(a), a1 = try epochOrder(a)
        XCTAssertEqual(a0, try epochOrder(b))
        XCTAssertEqual(a1, try epochOrder(b))
        XCTAssertEqual(a0.sorted(), Array(0..<ShuffleTests.count))
        XCTAssertEqual(a1.sorted(), Array(0..<ShuffleTests.count))
        XCTAssertNotEqual(a0, Array(0..<ShuffleTests.count), "shuffled")
        XCTAssertNotEqual(a0, a1, "reshuffled every epoch")
    }

    func testDifferentSeedDifferentOrder() throws {
        XCTAssertNotEqual(try epochOrder(try loader(seed: 1)), try epochOrder(try loader(seed: 2)))
    }

    func testNoShuffleKeepsFileOrderEveryEpoch() throws {
        let l = try loader(seed: 7, shuffle: false)
        XCTAssertEqual(try epochOrder(l), Array(0..<ShuffleTests.count))
        XCTAssertEqual(try epochOrder(l), Array(0..<ShuffleTests.count))
    }

    func testPackedShuffledEpochHoldsEveryTokenOnce() throws {
        let l = try loader(seed: 3, pack: true)
        let all = ByteEncoder.ids((0..<ShuffleTests.count).map { "d\($0)" }.joined())
        for _ in 0..<2 {
            var contentTokens: [Int32] = []
            var targets = 0
            for _ in 0..<l.batchesPerEpoch {
                let batch = try l.next()
                contentTokens += batch.inputIds.filter { $0 >= 3 }
                targets += batch.targetTokenCount
            }
            XCTAssertEqual(contentTokens.sorted(), all.sorted())
            XCTAssertLessThanOrEqual(targets, l.stats.targetTokens)
            XCTAssertGreaterThanOrEqual(targets, l.stats.targetTokens - (l.stats.rows - 1))
        }
    }
}
