#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Datasets
import Support
import XCTest

final class StreamingTests: XCTestCase {
    /// A JSON array file and the JSONL file with the same rows give the same batches.
    func testJSONArrayInputMatchesJSONL() throws {
        let rows: [JSON] = [
            .object(JSONObject([("text", .string("first, with [brackets] and \"quotes\" \\ ],"))])),
            .object(JSONObject([("text", .string("second"))])),
            .object(JSONObject([("text", .string("third ünïcode"))])),
        ]
        let jsonl = try Fixture.jsonl(rows)
        let array = try Fixture.file(JSON.array(rows).serialized(.pretty), name: "data.json")
        let a = try Fixture.loader(jsonl, seqLen: 12, batchSize: 2, shuffle: true, seed: 5)
        let b = try Fixture.loader(array, seqLen: 12, batchSize: 2, shuffle: true, seed: 5)
        XCTAssertEqual(a.stats, b.stats)
        XCTAssertEqual(a.batchesPerEpoch, b.batchesPerEpoch)
        for _ in 0..<(a.batchesPerEpoch + 1) { XCTAssertEqual(try a.next(), try b.next()) }
    }

    /// A generated multi-MB file: indexed once, read row by row; every token of the file comes
    /// through one epoch exactly once, and the memory the loader keeps is far below the file size.
    func testStreamsAMultiMegabyteFile() throws {
        let rowCount = 12_000
        var text = ""
        text.reserveCapacity(rowCount * 300)
        var contentBytes = 0
        for i in 0..<rowCount {
            let body = String(repeating: "row \(i) ", count: 50 + i % 17)
            contentBytes += body.utf8.count
            text += JSON.object(JSONObject([("id", .int(i)), ("text", .string(body))])).serialized() + "\n"
        }
        let path = try Fixture.file(text)
        let fileSize = text.utf8.count
        text = ""
        XCTAssertGreaterThan(fileSize, 6_000_000)

        let anonymousBefore = try anonymousMemoryBytes()
        let loader = try Fixture.loader(path, seqLen: 512, batchSize: 4, shuffle: true, seed: 9)
        XCTAssertEqual(loader.stats.documents, rowCount)
        XCTAssertEqual(loader.stats.tokens, contentBytes + 2 * rowCount)  // + BOS and EOS per row
        var tokens = 0, eosCount = 0
        for _ in 0..<loader.batchesPerEpoch {
            let batch = try loader.next()
            tokens += batch.inputIds.filter { $0 != 0 }.count
            eosCount += batch.inputIds.filter { $0 == 2 }.count
        }
        XCTAssertEqual(tokens, loader.stats.tokens)
        XCTAssertEqual(eosCount, rowCount)
        XCTAssertEqual(try loader.next().epoch, 1)
        // Row offsets (8 bytes a row) and the batch in flight: well under the file's size.
        XCTAssertLessThan(try anonymousMemoryBytes() - anonymousBefore, fileSize / 4)
    }

    /// RssAnon of this process (Linux): memory not backed by a file, so the mapped dataset
    /// does not count, but anything copied out of it does.
    private func anonymousMemoryBytes() throws -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else {
            throw XCTSkip("no /proc/self/status")
        }
        for line in status.split(separator: "\n") where line.hasPrefix("RssAnon:") {
            return Int(line.split(separator: " ")[1])! * 1024
        }
        throw XCTSkip("no RssAnon in /proc/self/status")
    }
}
