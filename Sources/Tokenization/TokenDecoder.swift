/// Turns tokens back into text (tokenizer.json "decoder").
indirect enum TokenDecoder: Sendable {
    /// Byte-level tokens to bytes to UTF-8 text (invalid sequences become U+FFFD).
    case byteLevel
    case sequence([TokenDecoder])

    /// nil for `"decoder": null` (tokens are then joined with spaces, as Hugging Face does).
    static func read(_ node: TokenizerJSONNode?) throws -> TokenDecoder? {
        guard let node else { return nil }
        let type = try node.typeName()
        switch type {
        case "ByteLevel": return .byteLevel
        case "Sequence": return .sequence(try node.required("decoders").array().compactMap { try read($0) })
        default: throw try node.required("type").unsupported("decoder \"\(type)\"")
        }
    }

    /// One step of the chain: tokens in, tokens out.
    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case .byteLevel:
            var bytes: [UInt8] = []
            for token in tokens {
                // A token outside the byte alphabet (an added token) stands for its own UTF-8.
                bytes += ByteLevel.bytes(ofToken: token) ?? Array(token.utf8)
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case .sequence(let steps):
            return steps.reduce(tokens) { $1.decodeChain($0) }
        }
    }
}
