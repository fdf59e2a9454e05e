import Support
import TestSupport
import Tokenization
import XCTest

/// Malformed or unsupported tokenizer files and datasets fail with an InputError that names the
/// file and the key or line, never with a crash.
final class TokenizerInputErrorTests: XCTestCase {
    /// A small valid byte-level tokenizer.json: the printable ASCII byte tokens plus "ab", with one merge.
    private func tokenizerJSON(model: [String: String] = [:], root: [String: String] = [:]) -> String {
        var vocab: [String] = []
        // Only the printable ASCII bytes, which stand for themselves in the byte-level alphabet.
        for b in 0x21...0x7E {
            let c = Character(Unicode.Scalar(UInt8(b)))
            let escaped = c == "\"" ? "\\\"" : c == "\\" ? "\\\\" : String(c)
            vocab.append("\"\(escaped)\": \(b - 0x21)")
        }
        vocab.append("\"ab\": 94")
        var modelFields = [
            "type": "\"BPE\"", "vocab": "{\(vocab.joined(separator: ", "))}", "merges": "[\"a b\"]",
        ]
        modelFields.merge(model) { $1 }
        var fields = [
            "version": "\"1.0\"", "truncation": "null", "padding": "null", "added_tokens": "[]", "normalizer": "null",
            "pre_tokenizer": "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}",
            "post_processor": "null", "decoder": "{\"type\": \"ByteLevel\"}",
            "model": "{" + modelFields.map { "\"\($0)\": \($1)" }.joined(separator: ", ") + "}",
        ]
        fields.merge(root) { $1 }
        return "{" + fields.map { "\"\($0)\": \($1)" }.joined(separator: ", ") + "}"
    }

    private func write(_ text: String) throws -> String {
        let path = try TestPaths.temporaryDirectory("tokenizer") + "/tokenizer.json"
        try AtomicOutput.write(text, to: path)
        return path
    }

    /// Loading `text` must fail with an InputError naming the file and containing `location`.
    private func assertRejected(_ text: String, location: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try write(text)
        XCTAssertThrowsError(try Tokenizer(path: path), file: file, line: line) { error in
            guard let e = error as? InputError else { return XCTFail("not an InputError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.file, path, file: file, line: line)
            if !location.isEmpty { XCTAssertTrue(e.location.contains(location), "\(e)", file: file, line: line) }
        }
    }

    func testValidTinyTokenizerLoadsAndMerges() throws {
        let tokenizer = try Tokenizer(path: try write(tokenizerJSON()))
        XCTAssertEqual(tokenizer.encode("abc", addSpecialTokens: true), [94, Int32(UInt8(ascii: "c")) - 0x21])
        XCTAssertEqual(tokenizer.decode([94], skipSpecialTokens: false), "ab")
    }

    func testTruncatedFile() throws {
        let text = tokenizerJSON()
        for cut in [1, text.count / 3, text.count - 1] {
            try assertRejected(String(text.prefix(cut)), location: "")
        }
    }

    func testUnsupportedComponents() throws {
        try assertRejected(tokenizerJSON(model: ["type": "\"WordPiece\""]), location: "key model.type")
        try assertRejected(tokenizerJSON(model: ["byte_fallback": "true"]), location: "key model.byte_fallback")
        try assertRejected(tokenizerJSON(model: ["dropout": "0.1"]), location: "key model.dropout")
        try assertRejected(tokenizerJSON(root: ["normalizer": "{\"type\": \"NFKD\"}"]), location: "key normalizer.type")
        try assertRejected(tokenizerJSON(root: ["pre_tokenizer": "{\"type\": \"Whitespace\"}"]), location: "key pre_tokenizer.type")
        try assertRejected(tokenizerJSON(root: ["pre_tokenizer": "null"]), location: "key pre_tokenizer")
        try assertRejected(tokenizerJSON(root: ["decoder": "{\"type\": \"WordPiece\"}"]), location: "key decoder.type")
        try assertRejected(tokenizerJSON(root: ["post_processor": "{\"type\": \"Mystery\"}"]), location: "key post_processor.type")
        try assertRejected(tokenizerJSON(root: ["truncation": "{\"max_length\": 8}"]), location: "key truncation")
        let lookbehind = "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(?<=a)b\"}, "
            + "\"behavior\": \"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", \"use_regex\": false}]}"
        try assertRejected(tokenizerJSON(root: ["pre_tokenizer": lookbehind]), location: "key pre_tokenizer.pretokenizers[0].pattern.Regex")
    }

    func testMergesThatDoNotFitTheVocabulary() throws {
        try assertRejected(tokenizerJSON(model: ["merges": "[\"a zz\"]"]), location: "key model.merges[0]")
        try assertRejected(tokenizerJSON(model: ["merges": "[\"a b\", \"b c\"]"]), location: "key model.merges[1]")
        try assertRejected(tokenizerJSON(model: ["merges": "[\"a b c\"]"]), location: "key model.merges[0]")
        try assertRejected(tokenizerJSON(model: ["merges": "[[\"a\"]]"]), location: "key model.merges[0]")
        try assertRejected(tokenizerJSON(model: ["vocab": "{\"a\": -1}", "merges": "[]"]), location: "key model.vocab.a")
        try assertRejected(tokenizerJSON(model: ["vocab": "[]"]), location: "key model.vocab")
    }

    func testMergesAsPairsWork() throws {
        let tokenizer = try Tokenizer(path: try write(tokenizerJSON(model: ["merges": "[[\"a\", \"b\"]]"])))
        XCTAssertEqual(tokenizer.encode("ab", addSpecialTokens: false), [94])
    }

    func testMissingFileAndFolder() throws {
        let folder = try TestPaths.temporaryDirectory("tokenizer")
        XCTAssertThrowsError(try Tokenizer(path: folder + "/absent.json")) { XCTAssertTrue($0 is InputError) }
        XCTAssertThrowsError(try Tokenizer(path: folder)) { XCTAssertTrue($0 is InputError) }
    }

    func testBadJSONLinesNameTheLine() throws {
        let path = try TestPaths.temporaryDirectory("jsonl") + "/data.jsonl"
        for (content, badLine) in [("{\"text\": \"a\"}\n\n{\"text\": 1}\n", 3), ("{\"text\": \"a\"}\n{\"text\": \"b\n", 2),
                                   ("[1]\n", 1), ("{\"other\": \"a\"}", 1)] {
            try AtomicOutput.write(content, to: path)
            XCTAssertThrowsError(try JSONLinesText.forEach(in: path, field: "text") { _, _ in }) { error in
                guard let e = error as? InputError else { return XCTFail("not an InputError: \(error)") }
                XCTAssertEqual(e.file, path)
                XCTAssertEqual(e.location, "line \(badLine)")
            }
        }
    }
}
