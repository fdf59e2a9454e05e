/// Adds the special tokens around an encoded sequence (tokenizer.json "post_processor"), only when
/// special tokens are asked for.
indirect enum PostProcessor: Sendable {
    /// The single-sequence template: fixed ids before and after the text.
    case template(before: [Int32], after: [Int32])
    /// ByteLevel only adjusts offsets: ids pass unchanged.
    case byteLevel
    case sequence([PostProcessor])

    /// nil for `"post_processor": null`.
    static func read(_ node: TokenizerJSONNode?) throws -> PostProcessor? {
        guard let node else { return nil }
        let type = try node.typeName()
        switch type {
        case "ByteLevel":
            return .byteLevel
        case "Sequence":
            return .sequence(try node.required("processors").array().compactMap { try read($0) })
        case "TemplateProcessing":
            return try readTemplate(node)
        case "RobertaProcessing", "BertProcessing":
            // single: cls $A sep; each given as [token, id].
            func special(_ key: String) throws -> Int32 {
                let pair = try node.required(key)
                guard let items = try? pair.array(), items.count == 2 else { throw pair.error("expected [token, id]") }
                return try items[1].tokenId()
            }
            return .template(before: [try special("cls")], after: [try special("sep")])
        default:
            throw try node.required("type").unsupported("post_processor \"\(type)\"")
        }
    }

    private static func readTemplate(_ node: TokenizerJSONNode) throws -> PostProcessor {
        var specials: [String: [Int32]] = [:]
        if let specialNode = try node.optional("special_tokens") {
            for (name, entry) in try specialNode.members() {
                specials[name] = try entry.required("ids").array().map { try $0.tokenId() }
            }
        }
        var before: [Int32] = []
        var after: [Int32] = []
        var seenSequence = false
        let single = try node.required("single")
        for piece in try single.array() {
            guard piece.value.object != nil else { throw piece.error("expected an object") }
            if let special = try piece.optional("SpecialToken") {
                let nameNode = try special.required("id")
                guard let ids = specials[try nameNode.string()] else {
                    throw nameNode.error("special token \"\(try nameNode.string())\" is not in special_tokens")
                }
                if seenSequence { after += ids } else { before += ids }
            } else if let sequence = try piece.optional("Sequence") {
                let idNode = try sequence.required("id")
                guard try idNode.string() == "A", !seenSequence else { throw idNode.error("the single template must hold sequence A once") }
                seenSequence = true
            } else {
                throw piece.error("expected {\"SpecialToken\": ...} or {\"Sequence\": ...}")
            }
        }
        guard seenSequence else { throw single.error("the single template has no sequence A") }
        return .template(before: before, after: after)
    }

    func process(_ ids: [Int32], addSpecialTokens: Bool) -> [Int32] {
        guard addSpecialTokens else { return ids }
        switch self {
        case .byteLevel: return ids
        case .template(let before, let after): return before + ids + after
        case .sequence(let steps): return steps.reduce(ids) { $1.process($0, addSpecialTokens: true) }
        }
    }

    /// The tokens the template puts before / after the text (for BOS/EOS defaults).
    var specialTokensAround: (before: [Int32], after: [Int32]) {
        switch self {
        case .byteLevel: return ([], [])
        case .template(let before, let after): return (before, after)
        case .sequence(let steps):
            return steps.reduce(([], [])) { acc, step in
                let s = step.specialTokensAround
                return (acc.0 + s.before, acc.1 + s.after)
            }
        }
    }
}
