#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Datasets
import Support
import XCTest

final class ResumeTests: XCTestCase {
    /// Documents of varied lengths (3..40 tokens), packed into rows of 16 so that many rows
    /// start in the middle of a document.
    private func dataset() throws -> String {
        try Fixture.jsonl((0..<30).map { i in Fixture.textRow(String(repeating: Character(UnicodeScalar(97 + i % 26)!), count: (i * 7) % 38)) })
    }

    private func loader(_ path: String, pack: Bool = true, seed: UInt64 = 11) throws -> DataLoader {
        try Fixture.loader(path, seqLen: 16, batchSize: 3, pack: pack, shuffle: true, seed: seed)
    }

    func testResumedRunSeesTheSameBatchesAsAnUninterruptedOne() throws {
        let path = try dataset()
        var resumedInsideADocument = false
        for pack in [true, false] {
            let reference = try loader(path, pack: pack)
            let total = reference.batchesPerEpoch * 2 + 2
            let expected = try (0..<total).map { _ in try reference.next() }
            for stop in [0, 1, 2, reference.batchesPerEpoch - 1, reference.batchesPerEpoch, reference.batchesPerEpoch + 3] {
                let first = try loader(path, pack: pack)
                for _ in 0..<stop { _ = try first.next() }
                resumedInsideADocument = resumedInsideADocument || first.state.tokenOffset > 0
                let saved = try JSONEncoder().encode(first.state)
                let resumed = try loader(path, pack: pack)
                try resumed.restore(try JSONDecoder().decode(DataLoaderState.self, from: saved))
                for k in stop..<total {
                    XCTAssertEqual(try resumed.next(), expected[k], "pack \(pack), stopped after \(stop), batch \(k)")
                }
            }
        }
        XCTAssertTrue(resumedInsideADocument, "some stop falls inside a packed document")
    }

    func testStateFromOtherSettingsIsRefused() throws {
        let path = try dataset()
        let a = try loader(path, seed: 1)
        _ = try a.next()
        XCTAssertThrowsError(try loader(path, seed: 2).restore(a.state)) { XCTAssertTrue($0 is UsageError) }
        XCTAssertThrowsError(try loader(path, pack: false, seed: 1).restore(a.state)) { XCTAssertTrue($0 is UsageError) }
        var outOfRange = a.state
        outOfRange.tokenOffset = 1000
        XCTAssertThrowsError(try loader(path, seed: 1).restore(outOfRange)) { XCTAssertTrue($0 is UsageError) }
    }
}
