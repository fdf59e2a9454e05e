import Support

/// The byte-level BPE tokenizer a GGUF describes (`tokenizer.ggml.model` = "gpt2"), written
/// out as the `tokenizer.json` and `tokenizer_config.json` a Hugging Face folder carries.
/// The layout follows what transformers' GGUF tokenizer conversion builds; the pre-tokenizer
/// follows llama.cpp's `tokenizer.ggml.pre` (see `preTokenizerJSON`).
public struct GGUFTokenizer: Sendable {
    /// llama.cpp token types (llama_token_type).
    static let controlTokenType = 3
    static let userDefinedTokenType = 4

    public var tokens: [String]
    /// One per token, or empty when the file has none.
    public var tokenTypes: [Int]
    public var merges: [(String, String)]
    public var preTokenizer: String
    public var bosTokenID: Int?
    public var eosTokenID: Int?
    public var unknownTokenID: Int?
    public var paddingTokenID: Int?
    public var addBOS: Bool
    public var addEOS: Bool
    public var chatTemplate: String?

    public init(file: GGUFFile) throws {
        let keys = GGUFKeys(file: file)
        let model = try keys.string("tokenizer.ggml.model")
        guard model == "gpt2" else {
            throw InputError(file: file.path, location: "key tokenizer.ggml.model",
                             "tokenizer '\(model)' is not supported, only 'gpt2' (byte-level BPE)")
        }
        tokens = try Self.strings(file, "tokenizer.ggml.tokens")
        guard !tokens.isEmpty else { throw InputError(file: file.path, location: "key tokenizer.ggml.tokens", "no tokens") }
        if let types = file.metadata["tokenizer.ggml.token_type"] {
            guard let values = types.array?.compactMap(\.int), values.count == tokens.count else {
                throw InputError(file: file.path, location: "key tokenizer.ggml.token_type",
                                 "expected \(tokens.count) integers, got \(types.kind)")
            }
            tokenTypes = values
        } else {
            tokenTypes = []
        }
        merges = try Self.strings(file, "tokenizer.ggml.merges").enumerated().map { index, merge in
            let parts = merge.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw InputError(file: file.path, location: "key tokenizer.ggml.merges",
                                 "merge \(index) '\(merge)' is not two tokens separated by one space")
            }
            return (String(parts[0]), String(parts[1]))
        }
        preTokenizer = file.metadata["tokenizer.ggml.pre"] == nil ? "default" : try keys.string("tokenizer.ggml.pre")
        guard Self.preTokenizerJSON(preTokenizer) != nil else {
            throw InputError(file: file.path, location: "key tokenizer.ggml.pre", "pre-tokenizer '\(preTokenizer)' is not supported")
        }
        let count = tokens.count
        bosTokenID = try keys.optionalTokenID("tokenizer.ggml.bos_token_id", vocabularySize: count)
        eosTokenID = try keys.optionalTokenID("tokenizer.ggml.eos_token_id", vocabularySize: count)
        unknownTokenID = try keys.optionalTokenID("tokenizer.ggml.unknown_token_id", vocabularySize: count)
        paddingTokenID = try keys.optionalTokenID("tokenizer.ggml.padding_token_id", vocabularySize: count)
        addBOS = try keys.optionalBool("tokenizer.ggml.add_bos_token") ?? false
        addEOS = try keys.optionalBool("tokenizer.ggml.add_eos_token") ?? false
        if addBOS && bosTokenID == nil { throw keys.missing("tokenizer.ggml.bos_token_id") }
        if addEOS && eosTokenID == nil { throw keys.missing("tokenizer.ggml.eos_token_id") }
        chatTemplate = file.metadata["tokenizer.chat_template"] == nil ? nil : try keys.string("tokenizer.chat_template")
    }

    private static func strings(_ file: GGUFFile, _ key: String) throws -> [String] {
        guard let value = file.metadata[key] else {
            throw InputError(file: file.path, location: "key \(key)", "required key is missing")
        }
        guard let items = value.array?.compactMap(\.string), items.count == value.array?.count else {
            throw InputError(file: file.path, location: "key \(key)", "expected an array of strings, got \(value.kind)")
        }
        return items
    }

    /// Tokens as the vocabulary spells them: byte-level vocabularies write every byte as one
    /// printable character (GPT-2's `bytes_to_unicode`); a token using any other character is
    /// stored as plain text and is respelled from its UTF-8 bytes.
    public var vocabularySpellings: [String] {
        tokens.map { token in
            token.unicodeScalars.allSatisfy { ByteLevelAlphabet.characters.contains($0) }
                ? token : ByteLevelAlphabet.spell(Array(token.utf8))
        }
    }

    /// `tokenizer.json` (tokenizers' serialization of a BPE model).
    public var tokenizerJSON: JSON {
        let spellings = vocabularySpellings
        var vocabulary = JSONObject()
        for (id, spelling) in spellings.enumerated() { vocabulary[spelling] = .int(id) }

        let specialIDs = Set([bosTokenID, eosTokenID, unknownTokenID, paddingTokenID].compactMap { $0 })
        var added: [JSON] = []
        for id in tokens.indices {
            let type = tokenTypes.isEmpty ? 1 : tokenTypes[id]
            let inAlphabet = spellings[id] == tokens[id]
            // A control token outside the byte alphabet is a mislabel; adding it would grow the vocabulary.
            let special = (type == Self.controlTokenType && inAlphabet) || specialIDs.contains(id)
            guard special || type == Self.userDefinedTokenType else { continue }
            added.append(.object(JSONObject([
                ("id", .int(id)), ("content", .string(spellings[id])), ("single_word", .bool(false)),
                ("lstrip", .bool(false)), ("rstrip", .bool(false)), ("normalized", .bool(false)),
                ("special", .bool(special)),
            ])))
        }

        let model = JSONObject([
            ("type", .string("BPE")), ("dropout", .null), ("unk_token", .null),
            ("continuing_subword_prefix", .string("")), ("end_of_word_suffix", .string("")),
            ("fuse_unk", .bool(false)), ("byte_fallback", .bool(false)), ("ignore_merges", .bool(false)),
            ("vocab", .object(vocabulary)),
            ("merges", .array(merges.map { .array([.string($0.0), .string($0.1)]) })),
        ])
        return .object(JSONObject([
            ("version", .string("1.0")), ("truncation", .null), ("padding", .null),
            ("added_tokens", .array(added)), ("normalizer", .null),
            ("pre_tokenizer", Self.preTokenizerJSON(preTokenizer) ?? .null),
            ("post_processor", postProcessorJSON(spellings)),
            ("decoder", Self.byteLevel(addPrefixSpace: true, useRegex: true)),
            ("model", .object(model)),
        ]))
    }

    /// `tokenizer_config.json`: special tokens, BOS/EOS flags, chat template, context length.
    public func tokenizerConfigJSON(modelMaxLength: Int) -> JSON {
        let spellings = vocabularySpellings
        var c = JSONObject()
        c["add_bos_token"] = .bool(addBOS)
        c["add_eos_token"] = .bool(addEOS)
        if let bosTokenID { c["bos_token"] = .string(spellings[bosTokenID]) }
        if let chatTemplate { c["chat_template"] = .string(chatTemplate) }
        c["clean_up_tokenization_spaces"] = .bool(false)
        if let eosTokenID { c["eos_token"] = .string(spellings[eosTokenID]) }
        c["model_max_length"] = .int(modelMaxLength)
        if let paddingTokenID { c["pad_token"] = .string(spellings[paddingTokenID]) }
        c["tokenizer_class"] = .string("PreTrainedTokenizerFast")
        if let unknownTokenID { c["unk_token"] = .string(spellings[unknownTokenID]) }
        return .object(c)
    }

    /// Prepends BOS / appends EOS when the file says llama.cpp adds them.
    private func postProcessorJSON(_ spellings: [String]) -> JSON {
        var specials = JSONObject()
        func special(_ id: Int?, typeID: Int, when enabled: Bool) -> [JSON] {
            guard enabled, let id else { return [] }
            specials[spellings[id]] = .object(JSONObject([
                ("id", .string(spellings[id])), ("ids", .array([.int(id)])), ("tokens", .array([.string(spellings[id])])),
            ]))
            return [.object(JSONObject([("SpecialToken", .object(JSONObject([
                ("id", .string(spellings[id])), ("type_id", .int(typeID)),
            ])))]))]
        }
        func sequence(_ name: String, typeID: Int) -> JSON {
            .object(JSONObject([("Sequence", .object(JSONObject([("id", .string(name)), ("type_id", .int(typeID))])))]))
        }
        let single = special(bosTokenID, typeID: 0, when: addBOS) + [sequence("A", typeID: 0)]
            + special(eosTokenID, typeID: 0, when: addEOS)
        let pair = single + special(bosTokenID, typeID: 1, when: addBOS) + [sequence("B", typeID: 1)]
            + special(eosTokenID, typeID: 1, when: addEOS)
        return .object(JSONObject([
            ("type", .string("TemplateProcessing")), ("single", .array(single)), ("pair", .array(pair)),
            ("special_tokens", .object(specials)),
        ]))
    }

    static func byteLevel(addPrefixSpace: Bool, useRegex: Bool) -> JSON {
        .object(JSONObject([
            ("type", .string("ByteLevel")), ("add_prefix_space", .bool(addPrefixSpace)),
            ("trim_offsets", .bool(true)), ("use_regex", .bool(useRegex)),
        ]))
    }

    /// llama.cpp's pre-tokenizer for `tokenizer.ggml.pre` (llama-vocab.cpp), in tokenizers' terms;
    /// nil for one this converter does not know.
    static func preTokenizerJSON(_ name: String) -> JSON? {
        func split(_ regex: String) -> JSON {
            .object(JSONObject([("type", .string("Sequence")), ("pretokenizers", .array([
                .object(JSONObject([
                    ("type", .string("Split")), ("pattern", .object(JSONObject([("Regex", .string(regex))]))),
                    ("behavior", .string("Isolated")), ("invert", .bool(false)),
                ])),
                byteLevel(addPrefixSpace: false, useRegex: false),
            ]))]))
        }
        switch name {
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "dbrx", "smaug-bpe":
            return split(#"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#)
        case "qwen2", "deepseek-r1-qwen", "megrez":
            return split(#"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#)
        case "smollm", "starcoder", "refact", "command-r", "codeshell":
            // llama.cpp splits every digit off ("\p{N}") before GPT-2's regex, as the original
            // tokenizer.json's `Digits(individual_digits)` does.
            return .object(JSONObject([("type", .string("Sequence")), ("pretokenizers", .array([
                .object(JSONObject([("type", .string("Digits")), ("individual_digits", .bool(true))])),
                byteLevel(addPrefixSpace: false, useRegex: true),
            ]))]))
        case "gpt2", "default":
            return byteLevel(addPrefixSpace: false, useRegex: true)
        default:
            return nil
        }
    }
}

/// GPT-2's `bytes_to_unicode`: printable Latin-1 bytes stand for themselves, the other 68 bytes
/// take the characters from U+0100 on, in byte order.
enum ByteLevelAlphabet {
    static let scalars: [Unicode.Scalar] = {
        var next: UInt32 = 256
        return (0..<256).map { byte -> Unicode.Scalar in
            let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
            defer { if !printable { next += 1 } }
            return Unicode.Scalar(printable ? UInt32(byte) : next) ?? " "
        }
    }()

    static let characters: Set<Unicode.Scalar> = Set(scalars)

    static func spell(_ bytes: [UInt8]) -> String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: bytes.map { scalars[Int($0)] })
        return String(s)
    }
}
