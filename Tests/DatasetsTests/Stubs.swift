#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Datasets
import Support
import TestSupport
import Tokenization
import XCTest

/// A byte-level stub tokenizer: token = UTF-8 byte + 3; 0 = pad, 1 = BOS, 2 = EOS.
/// `addSpecialTokens` prepends BOS, as Llama-style post-processors do.
struct ByteEncoder: TextEncoding {
    var eosTokenId: Int32? = 2
    var bosTokenId: Int32? = 1
    var padTokenId: Int32? = 0
    var vocabularySize: Int { 259 }

    func encode(_ text: String, addSpecialTokens: Bool) throws -> [Int32] {
        let bytes = text.utf8.map { Int32($0) + 3 }
        guard addSpecialTokens, let bos = bosTokenId else { return bytes }
        return [bos] + bytes
    }

    func decode(_ ids: [Int32], skipSpecialTokens: Bool) -> String {
        String(decoding: ids.filter { $0 >= 3 }.map { UInt8($0 - 3) }, as: UTF8.self)
    }

    /// The expected tokens of `text` (no special tokens), for writing expected rows.
    static func ids(_ text: String) -> [Int32] { text.utf8.map { Int32($0) + 3 } }
}

/// ChatML: "<|im_start|>role\ncontent<|im_end|>\n" per message; generation prompt
/// "<|im_start|>assistant\n".
struct ChatMLRenderer: ChatRendering {
    func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws -> String {
        var s = messages.map { "<|im_start|>\($0.role)\n\($0.content)<|im_end|>\n" }.joined()
        if addGenerationPrompt { s += "<|im_start|>assistant\n" }
        return s
    }
}

/// A template that marks the latest message, so earlier renderings are not prefixes of later ones.
struct LatestMarkingRenderer: ChatRendering {
    func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws -> String {
        var s = ""
        for (i, m) in messages.enumerated() {
            s += "[\(m.role)\(i == messages.count - 1 ? " latest" : "")] \(m.content)\n"
        }
        if addGenerationPrompt { s += "[assistant] " }
        return s
    }
}

enum Fixture {
    /// Writes `text` to a fresh temporary file and returns its path.
    static func file(_ text: String, name: String = "data.jsonl") throws -> String {
        let path = try TestPaths.temporaryDirectory("datasets") + "/" + name
        try AtomicOutput.write(text, to: path)
        return path
    }

    /// One JSON object per line.
    static func jsonl(_ rows: [JSON]) throws -> String {
        try file(rows.map { $0.serialized() }.joined(separator: "\n") + "\n")
    }

    static func loader(
        _ path: String, seqLen: Int, batchSize: Int = 1, pack: Bool = true, shuffle: Bool = false, seed: UInt64 = 0,
        format: DataFormat? = nil, encoder: ByteEncoder = ByteEncoder(), chat: (any ChatRendering)? = nil
    ) throws -> DataLoader {
        try DataLoader(
            path: path, encoder: encoder, chatTemplate: chat,
            options: DataLoaderOptions(
                format: format, seqLen: seqLen, batchSize: batchSize, pack: pack, shuffle: shuffle, seed: seed))
    }

    static func textRow(_ s: String) -> JSON { .object(JSONObject([("text", .string(s))])) }
}

/// Asserts that `body` throws an InputError naming `file`, at `location` when given, whose
/// message contains `fragment`.
func assertInputError(
    _ file: String, location: String? = nil, contains fragment: String,
    _ body: () throws -> Void, line: UInt = #line
) {
    do {
        try body()
        XCTFail("expected an InputError containing \"\(fragment)\"", line: line)
    } catch let e as InputError {
        XCTAssertEqual(e.file, file, line: line)
        if let location { XCTAssertEqual(e.location, location, line: line) }
        XCTAssertTrue(e.message.contains(fragment), "message: \(e.message)", line: line)
    } catch {
        XCTFail("expected an InputError, got \(error)", line: line)
    }
}
