import Support
import TestSupport
import Tokenization
import XCTest

/// Components the shipped tokenizer files do not use (split behaviors, Digits, prefix spaces,
/// added-token flags, templates, ignore_merges), checked on variants of the Qwen3 tokenizer.json
/// against Hugging Face (Tests/Fixtures/tokenizer/qwen3_variants_expected.json, written by
/// scripts/make_tokenizer_reference.py).
final class TokenizerVariantTests: XCTestCase {
    func testVariantsMatchHuggingFace() throws {
        let base = try readJSONFile(TestPaths.asset("qwen3/tokenizer.json"))
        let fixture = try readJSONFile(TestPaths.fixture("tokenizer/qwen3_variants_expected.json"))
        let texts = fixture["texts"]?.array?.compactMap(\.string) ?? []
        let variants = fixture["variants"]?.array ?? []
        XCTAssertGreaterThan(texts.count, 50)
        XCTAssertGreaterThanOrEqual(variants.count, 10)
        let folder = try TestPaths.temporaryDirectory("variants")
        for variant in variants {
            let name = variant["name"]?.string ?? "?"
            var config = base
            for change in variant["patch"]?.array ?? [] {
                let keyPath = try XCTUnwrap(change[0]?.string).split(separator: ".").map(String.init)
                config = replacing(config, at: keyPath[...], with: try XCTUnwrap(change[1]))
            }
            let path = folder + "/\(name).json"
            try AtomicOutput.write(config.serialized(), to: path)
            let tokenizer = try Tokenizer(path: path)
            for (mode, key) in [(true, "with_special_tokens"), (false, "without_special_tokens")] {
                let expected = (variant[key]?.array ?? []).map { ($0.array ?? []).map { Int32($0.int ?? -1) } }
                XCTAssertEqual(expected.count, texts.count, name)
                for (line, text) in texts.enumerated() where line < expected.count {
                    XCTAssertEqual(tokenizer.encode(text, addSpecialTokens: mode), expected[line],
                                   "\(name), special tokens \(mode): \(text.debugDescription)")
                }
            }
        }
    }

    private func replacing(_ value: JSON, at keyPath: ArraySlice<String>, with newValue: JSON) -> JSON {
        guard let key = keyPath.first, case .object(var members) = value else { return newValue }
        members[key] = replacing(members[key] ?? .null, at: keyPath.dropFirst(), with: newValue)
        return .object(members)
    }
}
