import Support
import Tokenization

/// The demo's tokenizer: a byte-level BPE with the 256 byte symbols of GPT-2's alphabet as
/// its whole vocabulary (id = byte value, no merges) and `<|endoftext|>` (id 256) as EOS,
/// written as a real tokenizer.json / tokenizer_config.json pair that Hugging Face
/// `tokenizers` and transformers load.
enum ByteLevelTokenizerFiles {
    static let endOfText = "<|endoftext|>"
    static let vocabularySize = 257

    static var tokenizerJSON: JSON {
        let byteLevel: [(String, JSON)] = [
            ("add_prefix_space", .bool(false)), ("trim_offsets", .bool(true)), ("use_regex", .bool(true)),
        ]
        let vocab = JSONObject((0..<256).map { (String(ByteLevel.scalarForByte[$0]), JSON.int($0)) })
        return .object(JSONObject([
            ("version", .string("1.0")),
            ("truncation", .null),
            ("padding", .null),
            ("added_tokens", .array([.object(JSONObject([
                ("id", .int(256)), ("content", .string(endOfText)), ("single_word", .bool(false)),
                ("lstrip", .bool(false)), ("rstrip", .bool(false)), ("normalized", .bool(false)), ("special", .bool(true)),
            ]))])),
            ("normalizer", .null),
            ("pre_tokenizer", .object(JSONObject([("type", .string("ByteLevel"))] + byteLevel))),
            ("post_processor", .object(JSONObject([("type", .string("ByteLevel"))] + byteLevel))),
            ("decoder", .object(JSONObject([("type", .string("ByteLevel"))] + byteLevel))),
            ("model", .object(JSONObject([
                ("type", .string("BPE")), ("dropout", .null), ("unk_token", .null),
                ("continuing_subword_prefix", .null), ("end_of_word_suffix", .null), ("fuse_unk", .bool(false)),
                ("byte_fallback", .bool(false)), ("ignore_merges", .bool(false)),
                ("vocab", .object(vocab)), ("merges", .array([])),
            ]))),
        ]))
    }

    static var tokenizerConfigJSON: JSON {
        .object(JSONObject([
            ("tokenizer_class", .string("PreTrainedTokenizerFast")),
            ("bos_token", .null),
            ("eos_token", .string(endOfText)),
            ("pad_token", .string(endOfText)),
            ("model_max_length", .int(DemoModel.config.maxPositionEmbeddings)),
        ]))
    }

    static func write(into directory: String) throws {
        try AtomicOutput.write(tokenizerJSON.serialized(.pretty) + "\n", to: directory + "/tokenizer.json")
        try AtomicOutput.write(tokenizerConfigJSON.serialized(.pretty) + "\n", to: directory + "/tokenizer_config.json")
    }
}
