#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Support

/// A Hugging Face tokenizer.json (byte-level BPE) that encodes text to the same ids as the
/// `tokenizers` library: added tokens, normalizer, pre-tokenizer, BPE, post-processor, decoder.
public final class Tokenizer: TextEncoding {
    private let model: BPEModel
    private let normalizer: Normalizer?
    private let preTokenizer: PreTokenizer
    private let postProcessor: PostProcessor?
    private let decoder: TokenDecoder?
    private let addedTokenById: [Int32: AddedToken]
    private let addedTokenIdByContent: [String: Int32]
    /// Added tokens matched in the raw text / in the normalized text.
    private let rawMatcher: AddedTokenMatcher
    private let normalizedMatcher: AddedTokenMatcher

    /// One more than the largest id of the model or of an added token.
    public let vocabularySize: Int
    public let bosTokenId: Int32?
    public let eosTokenId: Int32?
    public let padTokenId: Int32?

    /// `path`: a tokenizer.json, or a folder holding one. A tokenizer_config.json beside it gives
    /// the BOS/EOS/PAD tokens; without one, BOS/EOS come from the post-processor's template.
    public init(path: String) throws {
        let inFolder = path + "/tokenizer.json"
        let file = FileManager.default.fileExists(atPath: inFolder) ? inFolder : path
        let root = TokenizerJSONNode(root: try readJSONFile(file), file: file)
        guard root.value.object != nil else { throw root.error("expected a JSON object") }
        for key in ["truncation", "padding"] {
            if let option = try root.optional(key) { throw option.unsupported("\(key) (set it to null)") }
        }

        model = try BPEModel(try root.required("model"))
        normalizer = try Normalizer.read(try root.optional("normalizer"))
        preTokenizer = try PreTokenizer.read(root: root)
        decoder = try TokenDecoder.read(try root.optional("decoder"))

        let added = try AddedToken.read(try root.optional("added_tokens")?.array() ?? [], model: model)
        addedTokenById = Dictionary(added.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        addedTokenIdByContent = Dictionary(added.map { ($0.content, $0.id) }, uniquingKeysWith: { _, last in last })
        let raw = added.filter { !$0.normalized }
        rawMatcher = AddedTokenMatcher(tokens: raw, patterns: raw.map { Array($0.content.unicodeScalars) })
        let normalized = added.filter(\.normalized)
        let normalizerCopy = normalizer
        normalizedMatcher = AddedTokenMatcher(tokens: normalized, patterns: normalized.map { token in
            let scalars = ArraySlice(token.content.unicodeScalars)
            return Array(normalizerCopy?.normalize(scalars) ?? scalars)
        })

        postProcessor = try PostProcessor.read(try root.optional("post_processor"))
        vocabularySize = max(model.tokenForId.count, Int(added.map(\.id).max() ?? -1) + 1)

        let modelIds = model.idForToken
        let addedIds = addedTokenIdByContent
        let special = try Self.readSpecialTokens(besides: file) { addedIds[$0] ?? modelIds[$0] }
        let around = postProcessor?.specialTokensAround
        bosTokenId = special.bos ?? around?.before.first
        eosTokenId = special.eos ?? around?.after.last
        padTokenId = special.pad
    }

    /// BOS/EOS/PAD of tokenizer_config.json next to `file`, given as "text" or {"content": "text"}.
    private static func readSpecialTokens(besides file: String, id: (String) -> Int32?) throws
        -> (bos: Int32?, eos: Int32?, pad: Int32?) {
        let folder = file.lastIndex(of: "/").map { String(file[..<$0]) } ?? "."
        let configPath = folder + "/tokenizer_config.json"
        guard FileManager.default.fileExists(atPath: configPath) else { return (nil, nil, nil) }
        let config = TokenizerJSONNode(root: try readJSONFile(configPath), file: configPath)
        func tokenId(_ key: String) throws -> Int32? {
            guard let node = try config.optional(key) else { return nil }
            let text = try node.value.string ?? node.required("content").string()
            guard let tokenId = id(text) else { throw node.error("token \"\(text)\" is not in the tokenizer") }
            return tokenId
        }
        return (try tokenId("bos_token"), try tokenId("eos_token"), try tokenId("pad_token"))
    }

    public func tokenId(for token: String) -> Int32? {
        addedTokenIdByContent[token] ?? model.idForToken[token]
    }

    public func token(for id: Int32) -> String? {
        if let added = addedTokenById[id] { return added.content }
        guard id >= 0, Int(id) < model.tokenForId.count else { return nil }
        return model.tokenForId[Int(id)]
    }

    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int32] {
        var ids: [Int32] = []
        var words: [ArraySlice<Unicode.Scalar>] = []
        var utf8: [UInt8] = []
        let scalars = ArraySlice(text.unicodeScalars)
        for segment in rawMatcher.split(scalars) {
            guard case .text(let raw) = segment else {
                if case .token(let id) = segment { ids.append(id) }
                continue
            }
            let normalized = normalizer?.normalize(raw) ?? raw
            for inner in normalizedMatcher.split(normalized) {
                switch inner {
                case .token(let id):
                    ids.append(id)
                case .text(let part):
                    words.removeAll(keepingCapacity: true)
                    preTokenizer.split(part, into: &words)
                    for word in words {
                        utf8.removeAll(keepingCapacity: true)
                        for s in word { UTF8.encode(s) { utf8.append($0) } }
                        utf8.withUnsafeBufferPointer { model.tokenize($0, into: &ids) }
                    }
                }
            }
        }
        return postProcessor?.process(ids, addSpecialTokens: addSpecialTokens) ?? ids
    }

    public func decode(_ ids: [Int32], skipSpecialTokens: Bool) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if let added = addedTokenById[id] {
                if !(skipSpecialTokens && added.special) { tokens.append(added.content) }
            } else if let token = token(for: id) {
                // A vocabulary entry whose text is also a special added token counts as special.
                if !(skipSpecialTokens && isSpecial(token)) { tokens.append(token) }
            }
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }

    private func isSpecial(_ token: String) -> Bool {
        guard let id = addedTokenIdByContent[token] else { return false }
        return addedTokenById[id]?.special ?? false
    }
}
