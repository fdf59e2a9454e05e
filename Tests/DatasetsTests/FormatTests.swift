import Datasets
import Support
import Tokenization
import XCTest

/// Exact ids and labels of one document per format (unpacked, one row, stub byte tokenizer).
final class FormatTests: XCTestCase {
    private let pad: Int32 = 0, bos: Int32 = 1, eos: Int32 = 2, ignored: Int32 = -100

    private func firstRow(_ json: String, seqLen: Int, chat: (any ChatRendering)? = nil, encoder: ByteEncoder = ByteEncoder())
        throws -> (format: DataFormat, batch: MicroBatch)
    {
        let loader = try Fixture.loader(try Fixture.file(json + "\n"), seqLen: seqLen, pack: false, encoder: encoder, chat: chat)
        return (loader.format, try loader.next())
    }

    func testDetectsFormatFromKeys() {
        XCTAssertEqual(DataFormat.detect(keys: ["text", "id"]), .text)
        XCTAssertEqual(DataFormat.detect(keys: ["instruction", "input", "output"]), .instruct)
        XCTAssertEqual(DataFormat.detect(keys: ["instruction", "output"]), .instruct)
        XCTAssertEqual(DataFormat.detect(keys: ["messages"]), .chat)
        XCTAssertEqual(DataFormat.detect(keys: ["input_ids", "labels"]), .tokens)
        XCTAssertNil(DataFormat.detect(keys: ["prompt", "completion"]))
    }

    func testTextTrainsEveryTokenAndEndsWithEOS() throws {
        let (format, b) = try firstRow(#"{"text": "ab"}"#, seqLen: 6)
        XCTAssertEqual(format, .text)
        XCTAssertEqual(b.inputIds, [bos, 100, 101, eos, pad, pad])
        XCTAssertEqual(b.labels, [ignored, 100, 101, eos, ignored, ignored])
        XCTAssertEqual(b.targetTokenCount, 3)
    }

    func testTextWithoutEOSTokenAppendsNothing() throws {
        let (_, b) = try firstRow(#"{"text": "ab"}"#, seqLen: 4, encoder: ByteEncoder(eosTokenId: nil, padTokenId: nil))
        XCTAssertEqual(b.inputIds, [bos, 100, 101, 0])
        XCTAssertEqual(b.labels, [ignored, 100, 101, ignored])
    }

    func testInstructMasksTheAlpacaPrompt() throws {
        let (format, b) = try firstRow(#"{"instruction": "i", "input": "x", "output": "o"}"#, seqLen: 12)
        XCTAssertEqual(format, .instruct)
        let prompt = [bos] + ByteEncoder.ids("i\n\nx\n\n")
        let answer = ByteEncoder.ids("o") + [eos]
        XCTAssertEqual(b.inputIds, prompt + answer + [pad, pad, pad])
        XCTAssertEqual(b.labels, Array(repeating: ignored, count: prompt.count) + answer + [ignored, ignored, ignored])
        XCTAssertEqual(b.targetTokenCount, 2)
    }

    func testInstructWithEmptyOrMissingInputLeavesItOut() throws {
        for json in [#"{"instruction": "i", "input": "", "output": "o"}"#, #"{"instruction": "i", "output": "o"}"#] {
            let (_, b) = try firstRow(json, seqLen: 6)
            XCTAssertEqual(b.inputIds, [bos] + ByteEncoder.ids("i\n\n") + ByteEncoder.ids("o") + [eos])
            XCTAssertEqual(b.labels, [ignored, ignored, ignored, ignored] + ByteEncoder.ids("o") + [eos])
        }
    }

    func testInstructWithChatTemplateIsAUserAssistantConversation() throws {
        let (_, b) = try firstRow(#"{"instruction": "i", "input": "x", "output": "o"}"#, seqLen: 128, chat: ChatMLRenderer())
        let prompt = ByteEncoder.ids("<|im_start|>user\ni\n\nx<|im_end|>\n<|im_start|>assistant\n")
        let answer = ByteEncoder.ids("o<|im_end|>\n")
        let used = prompt.count + answer.count
        XCTAssertEqual(Array(b.inputIds.prefix(used)), prompt + answer)
        XCTAssertEqual(Array(b.labels.prefix(used)), Array(repeating: ignored, count: prompt.count) + answer)
        XCTAssertEqual(b.targetTokenCount, answer.count)
    }

    func testChatTrainsOnlyAssistantTurns() throws {
        let json = #"{"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U1"}, "#
            + #"{"role": "assistant", "content": "A1"}, {"role": "user", "content": "U2"}, "#
            + #"{"role": "assistant", "content": "A2"}]}"#
        let (format, b) = try firstRow(json, seqLen: 256, chat: ChatMLRenderer())
        XCTAssertEqual(format, .chat)
        let pieces: [(String, Bool)] = [
            ("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU1<|im_end|>\n<|im_start|>assistant\n", false),
            ("A1<|im_end|>\n", true),
            ("<|im_start|>user\nU2<|im_end|>\n<|im_start|>assistant\n", false),
            ("A2<|im_end|>\n", true),
        ]
        var ids: [Int32] = [], labels: [Int32] = []
        for (text, trained) in pieces {
            ids += ByteEncoder.ids(text)
            labels += trained ? ByteEncoder.ids(text) : Array(repeating: ignored, count: text.utf8.count)
        }
        XCTAssertEqual(Array(b.inputIds.prefix(ids.count)), ids)
        XCTAssertEqual(Array(b.labels.prefix(ids.count)), labels)
        XCTAssertTrue(b.inputIds.dropFirst(ids.count).allSatisfy { $0 == pad })
        XCTAssertEqual(b.targetTokenCount, "A1<|im_end|>\n".utf8.count + "A2<|im_end|>\n".utf8.count)
    }

    func testTokensRowsAreUsedAsGiven() throws {
        let (format, b) = try firstRow(#"{"input_ids": [5, 6, 7, 8], "labels": [-100, -100, 7, 8]}"#, seqLen: 5)
        XCTAssertEqual(format, .tokens)
        XCTAssertEqual(b.inputIds, [5, 6, 7, 8, pad])
        XCTAssertEqual(b.labels, [ignored, ignored, 7, 8, ignored])
        XCTAssertEqual(b.targetTokenCount, 2)
    }

    func testTokensWithoutLabelsTrainEveryTokenButTheFirst() throws {
        let (_, b) = try firstRow(#"{"input_ids": [5, 6, 7]}"#, seqLen: 3)
        XCTAssertEqual(b.inputIds, [5, 6, 7])
        XCTAssertEqual(b.labels, [ignored, 6, 7])
    }

    func testForcedFormatIgnoresOtherKeys() throws {
        let loader = try Fixture.loader(
            try Fixture.file(#"{"text": "ab", "input_ids": [9]}"# + "\n"), seqLen: 4, pack: false, format: .text)
        XCTAssertEqual(loader.format, .text)
        XCTAssertEqual(try loader.next().inputIds, [bos, 100, 101, eos])
    }
}
