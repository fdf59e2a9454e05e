import Support
import TestSupport
import Tokenization
import XCTest

/// Every corpus line must encode to exactly the ids Hugging Face `tokenizers` gives
/// (Tests/Fixtures/tokenizer/*_expected.json, written by scripts/make_tokenizer_reference.py).
final class TokenizerParityTests: XCTestCase {
    func testQwen3MatchesHuggingFace() throws {
        try checkParity(tokenizerPath: TestPaths.asset("qwen3"), expectedFile: "qwen3_expected.json")
    }

    func testLlama32MatchesHuggingFace() throws {
        try checkParity(tokenizerPath: TestPaths.asset("llama3.2/tokenizer.json"), expectedFile: "llama3.2_expected.json")
    }

    private func corpus() throws -> [String] {
        var texts: [String] = []
        try JSONLinesText.forEach(in: TestPaths.fixture("tokenizer/corpus.jsonl"), field: "text") { text, _ in
            texts.append(text)
        }
        return texts
    }

    private func ids(_ json: JSON?) -> [[Int32]] {
        (json?.array ?? []).map { ($0.array ?? []).map { Int32($0.int ?? -1) } }
    }

    private func checkParity(tokenizerPath: String, expectedFile: String) throws {
        let tokenizer = try Tokenizer(path: tokenizerPath)
        let expected = try readJSONFile(TestPaths.fixture("tokenizer/" + expectedFile))
        let texts = try corpus()
        let withSpecial = ids(expected["with_special_tokens"])
        let withoutSpecial = ids(expected["without_special_tokens"])
        let decoded = expected["decoded"]?.array?.compactMap(\.string) ?? []
        XCTAssertGreaterThan(texts.count, 200)
        XCTAssertEqual(withSpecial.count, texts.count)
        XCTAssertEqual(withoutSpecial.count, texts.count)
        XCTAssertEqual(decoded.count, texts.count)

        for (line, text) in texts.enumerated() where line < withSpecial.count && line < decoded.count {
            XCTAssertEqual(tokenizer.encode(text, addSpecialTokens: true), withSpecial[line], "line \(line + 1): \(text.debugDescription)")
            let plain = tokenizer.encode(text, addSpecialTokens: false)
            XCTAssertEqual(plain, withoutSpecial[line], "line \(line + 1): \(text.debugDescription)")
            XCTAssertEqual(tokenizer.decode(withoutSpecial[line], skipSpecialTokens: false), decoded[line], "decode, line \(line + 1)")
        }

        // Decoding with special tokens skipped drops exactly the special added tokens.
        let chat = "<|im_start|>user\nHi<|im_end|><|begin_of_text|>x<|eot_id|>"
        let chatIds = tokenizer.encode(chat, addSpecialTokens: false)
        let kept = chatIds.filter { id in
            !["<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|eot_id|>"].contains { tokenizer.tokenId(for: $0) == id }
        }
        XCTAssertEqual(tokenizer.decode(chatIds, skipSpecialTokens: true), tokenizer.decode(kept, skipSpecialTokens: false))

        XCTAssertEqual(tokenizer.vocabularySize, expected["vocabulary_size"]?.int)
        let special = expected["special_token_ids"]
        XCTAssertEqual(tokenizer.bosTokenId.map(Int.init), special?["bos_token"]?.int)
        XCTAssertEqual(tokenizer.eosTokenId.map(Int.init), special?["eos_token"]?.int)
        XCTAssertEqual(tokenizer.padTokenId.map(Int.init), special?["pad_token"]?.int)
        for pair in expected["tokens"]?.array ?? [] {
            let id = try XCTUnwrap(pair[0]?.int)
            let token = pair[1]?.string
            XCTAssertEqual(tokenizer.token(for: Int32(id)), token, "id \(id)")
            if let token { XCTAssertEqual(tokenizer.tokenId(for: token), Int32(id), "token \(token)") }
        }
    }
}
