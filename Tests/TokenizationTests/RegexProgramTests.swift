@testable import Tokenization
import Support
import TestSupport
import XCTest

/// The regex engine must find the same matches as Oniguruma inside Hugging Face `tokenizers`
/// (Tests/Fixtures/tokenizer/regex_expected.json, written by scripts/make_tokenizer_reference.py).
final class RegexProgramTests: XCTestCase {
    private func matches(_ pattern: String, _ text: String) throws -> [[Int]] {
        let program = try RegexProgram(pattern: pattern)
        let scalars = Array(text.unicodeScalars)
        var found: [[Int]] = []
        scalars.withUnsafeBufferPointer { buffer in
            program.forEachMatch(in: buffer) { start, end in
                if start < end { found.append([start, end]) }  // the oracle cannot show empty matches
            }
        }
        return found
    }

    func testMatchesLikeOniguruma() throws {
        let cases = try readJSONFile(TestPaths.fixture("tokenizer/regex_expected.json")).array ?? []
        XCTAssertGreaterThan(cases.count, 100)
        for c in cases {
            let pattern = try XCTUnwrap(c["pattern"]?.string)
            let text = try XCTUnwrap(c["text"]?.string)
            let expected = (c["matches"]?.array ?? []).map { ($0.array ?? []).compactMap(\.int) }
            XCTAssertEqual(try matches(pattern, text), expected, "pattern \(pattern) on \(text.debugDescription)")
        }
    }

    func testMatchesAreOrderedAndEndEvenForEmptyPatterns() throws {
        for pattern in ["x*", "", "x*?", "(?:ab)?"] {
            let program = try RegexProgram(pattern: pattern)
            let scalars = Array("axxbab".unicodeScalars)
            var previousEnd = 0
            var count = 0
            scalars.withUnsafeBufferPointer { buffer in
                program.forEachMatch(in: buffer) { start, end in
                    XCTAssertLessThanOrEqual(previousEnd, start, pattern)
                    XCTAssertLessThanOrEqual(start, end, pattern)
                    previousEnd = end
                    count += 1
                }
            }
            XCTAssertLessThanOrEqual(count, 2 * scalars.count + 2, pattern)
        }
    }

    func testRejectsUnsupportedSyntax() {
        for pattern in ["(?<=a)b", "a++", "(a", "a)", "[abc", "\\p{Greek}", "^a", "(?>a)", "\\k<x>", "(a*)*", "[a&&b]", "x{3,2}",
                        "((a{1000}){1000}){1000}", String(repeating: "(", count: 500) + "a" + String(repeating: ")", count: 500)] {
            XCTAssertThrowsError(try RegexProgram(pattern: pattern), pattern) { error in
                XCTAssertTrue(error is RegexSyntaxError, "\(pattern): \(error)")
            }
        }
    }
}
