/// Text normalization applied to the text between added tokens (tokenizer.json "normalizer").
indirect enum Normalizer: Sendable {
    case nfc
    case sequence([Normalizer])

    /// nil for `"normalizer": null`.
    static func read(_ node: TokenizerJSONNode?) throws -> Normalizer? {
        guard let node else { return nil }
        let type = try node.typeName()
        switch type {
        case "NFC":
            return .nfc
        case "Sequence":
            return .sequence(try node.required("normalizers").array().compactMap { try read($0) })
        default:
            throw try node.required("type").unsupported("normalizer \"\(type)\"")
        }
    }

    func normalize(_ text: ArraySlice<Unicode.Scalar>) -> ArraySlice<Unicode.Scalar> {
        switch self {
        case .nfc:
            // Every scalar below U+0300 is NFC whatever surrounds it.
            guard text.contains(where: { $0.value >= 0x300 }) else { return text }
            var s = String.UnicodeScalarView()
            s.append(contentsOf: text)
            let composed = String(s)._nfcCodeUnits
            return ArraySlice(String(decoding: composed, as: UTF8.self).unicodeScalars)
        case .sequence(let steps):
            return steps.reduce(text) { $1.normalize($0) }
        }
    }
}
