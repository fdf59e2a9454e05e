import XCTest
@testable import ModelFormats

final class GGUFUnpermuteTests: XCTestCase {
    /// Reading rows through `sourceRow` undoes llama.cpp's permutation for several head layouts.
    func testUndoesLlamaCppPermutation() {
        for (rows, heads) in [(8, 2), (8, 1), (576, 9), (192, 3), (12, 3), (2, 1)] {
            let columns = 3
            let original = (0..<(rows * columns)).map(Float.init)
            let stored = TinyLlama.permuteLikeLlamaCpp(original, rows: rows, columns: columns, heads: heads)
            for r in 0..<rows {
                let s = GGUFToHuggingFace.sourceRow(forRow: r, rows: rows, heads: heads)
                XCTAssertEqual(Array(stored[(s * columns)..<((s + 1) * columns)]),
                               Array(original[(r * columns)..<((r + 1) * columns)]), "rows \(rows) heads \(heads) row \(r)")
            }
        }
    }

    /// The mapping by hand for one head of dimension 4 (n = 2): Hugging Face rows
    /// (pair 0: 0, 1; pair 1: 2, 3) are stored interleaved as 0, 2, 1, 3.
    func testFormulaByHand() {
        XCTAssertEqual((0..<4).map { GGUFToHuggingFace.sourceRow(forRow: $0, rows: 4, heads: 1) }, [0, 2, 1, 3])
        XCTAssertEqual((0..<8).map { GGUFToHuggingFace.sourceRow(forRow: $0, rows: 8, heads: 2) }, [0, 2, 1, 3, 4, 6, 5, 7])
        XCTAssertEqual((0..<6).map { GGUFToHuggingFace.sourceRow(forRow: $0, rows: 6, heads: 1) }, [0, 2, 4, 1, 3, 5])
    }

    /// Reading through the mapping is a bijection (every stored row is used exactly once).
    func testIsAPermutation() {
        for (rows, heads) in [(576, 9), (192, 3), (4096, 32), (1024, 8)] {
            let sources = (0..<rows).map { GGUFToHuggingFace.sourceRow(forRow: $0, rows: rows, heads: heads) }
            XCTAssertEqual(Set(sources).count, rows)
            XCTAssertEqual(sources.min(), 0)
            XCTAssertEqual(sources.max(), rows - 1)
        }
    }
}
