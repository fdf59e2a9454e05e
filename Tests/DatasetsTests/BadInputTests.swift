import Datasets
import Support
import XCTest

/// Every kind of bad input is an InputError that names the file and the row.
final class BadInputTests: XCTestCase {
    private func load(_ text: String, format: DataFormat? = nil, chat: Bool = false, name: String = "data.jsonl") throws -> String {
        let path = try Fixture.file(text, name: name)
        _ = try Fixture.loader(path, seqLen: 8, format: format, chat: chat ? ChatMLRenderer() : nil)
        return path
    }

    private func check(_ text: String, format: DataFormat? = nil, chat: Bool = false, name: String = "data.jsonl",
                       location: String?, contains fragment: String, line: UInt = #line) throws {
        let path = try Fixture.file(text, name: name)
        assertInputError(path, location: location, contains: fragment, {
            _ = try Fixture.loader(path, seqLen: 8, format: format, chat: chat ? ChatMLRenderer() : nil)
        }, line: line)
    }

    func testMalformedJSONLineNamesItsLine() throws {
        try check("{\"text\": \"a\"}\n\n  \n{\"text\": \"b\"\n", location: "line 4", contains: "malformed JSON")
    }

    func testWrongTypes() throws {
        try check("{\"text\": 5}\n", location: "line 1", contains: "\"text\" must be a string, found a number")
        try check("{\"text\": \"a\"}\n[1, 2]\n", format: .text, location: "line 2", contains: "expected a JSON object, found an array")
        try check("{\"messages\": \"hi\"}\n", chat: true, location: "line 1", contains: "\"messages\" must be an array")
        try check("{\"messages\": [{\"role\": \"user\", \"content\": 3}]}\n", chat: true, location: "line 1",
                  contains: "messages[0].content must be a string")
        try check("{\"input_ids\": [1, \"x\"]}\n", location: "line 1", contains: "input_ids[1] must be an integer")
        try check("{\"instruction\": \"i\", \"input\": 4, \"output\": \"o\"}\n", location: "line 1", contains: "\"input\" must be a string")
    }

    func testMissingKeys() throws {
        try check("{\"text\": \"a\"}\n{\"body\": \"b\"}\n", location: "line 2", contains: "missing key \"text\"")
        try check("{\"instruction\": \"i\", \"output\": \"o\"}\n{\"instruction\": \"i\"}\n", location: "line 2",
                  contains: "missing key \"output\"")
        try check("{\"text\": \"a\"}\n", format: .chat, chat: true, location: "line 1", contains: "missing key \"messages\"")
        try check("{\"messages\": [{\"content\": \"c\"}]}\n", chat: true, location: "line 1", contains: "missing key messages[0].role")
    }

    func testUnknownFormat() throws {
        try check("{\"prompt\": \"p\", \"completion\": \"c\"}\n", location: "line 1", contains: "cannot tell the data format")
    }

    func testEmptyDataset() throws {
        try check("", location: "", contains: "empty")
        try check("\n  \n\n", location: "", contains: "empty")
        try check("[ ]", name: "data.json", location: "", contains: "empty")
    }

    func testNothingToTrainOn() throws {
        try check("{\"input_ids\": [1, 2], \"labels\": [-100, -100]}\n", location: "", contains: "nothing to train on")
    }

    func testTokenIdOutOfRange() throws {
        try check("{\"input_ids\": [1, 259]}\n", location: "line 1", contains: "input_ids[1] = 259 is outside the vocabulary")
        try check("{\"input_ids\": [-1]}\n", location: "line 1", contains: "outside the vocabulary")
        try check("{\"input_ids\": [1, 2], \"labels\": [1, 300]}\n", location: "line 1", contains: "labels[1] = 300")
        try check("{\"input_ids\": []}\n", location: "line 1", contains: "\"input_ids\" is empty")
    }

    func testLabelsLengthMismatch() throws {
        try check("{\"input_ids\": [1, 2, 3], \"labels\": [1, 2]}\n", location: "line 1",
                  contains: "\"labels\" has 2 entries but \"input_ids\" has 3")
    }

    func testChatProblems() throws {
        let conversation = "{\"messages\": [{\"role\": \"user\", \"content\": \"u\"}, {\"role\": \"assistant\", \"content\": \"a\"}]}\n"
        try check(conversation, location: "line 1", contains: "need a chat template")
        try check("{\"messages\": [{\"role\": \"user\", \"content\": \"u\"}]}\n", chat: true, location: "line 1",
                  contains: "no assistant message")
        let path = try Fixture.file(conversation + conversation)
        assertInputError(path, location: "line 1", contains: "not prefix-stable at messages[1]") {
            _ = try DataLoader(path: path, encoder: ByteEncoder(), chatTemplate: LatestMarkingRenderer(),
                               options: DataLoaderOptions(seqLen: 8, batchSize: 1))
        }
    }

    func testMalformedJSONArray() throws {
        try check("[\n {\"text\": \"a\"},\n {\"text\": }\n]\n", name: "data.json", location: "element 2 (line 3)",
                  contains: "malformed JSON")
        try check("[{\"text\": \"a\"}, {\"text\": \"b\"}", name: "data.json", location: "", contains: "not closed")
        try check("[{\"text\": \"a\"}] x", name: "data.json", location: "", contains: "unexpected data after")
    }

    func testFirstBadRowOfTheFileIsReported() throws {
        var lines = (0..<100).map { "{\"text\": \"r\($0)\"}" }
        lines[89] = "{oops"
        lines[59] = "{\"text\": 1}"
        let path = try Fixture.file(lines.joined(separator: "\n"))
        assertInputError(path, location: "line 60", contains: "must be a string") {
            _ = try Fixture.loader(path, seqLen: 8)
        }
    }

    func testMissingFile() {
        assertInputError("/nonexistent/data.jsonl", contains: "cannot open") {
            _ = try Fixture.loader("/nonexistent/data.jsonl", seqLen: 8)
        }
    }
}
