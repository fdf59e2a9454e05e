/// A token of tokenizer.json "added_tokens": found in the text before anything else and given
/// its id directly.
struct AddedToken: Sendable {
    let id: Int32
    let content: String
    let special: Bool
    /// Match only where it is not glued to word characters on either side.
    let singleWord: Bool
    /// Also swallow the whitespace on the left / right of the match.
    let lstrip: Bool
    let rstrip: Bool
    /// Matched in the normalized text (true) or in the raw text (false).
    let normalized: Bool

    private init(_ node: TokenizerJSONNode, id: Int32, content: String) throws {
        self.id = id
        self.content = content
        special = try node.flag("special", default: false)
        singleWord = try node.flag("single_word", default: false)
        lstrip = try node.flag("lstrip", default: false)
        rstrip = try node.flag("rstrip", default: false)
        normalized = try node.flag("normalized", default: !special)
    }

    /// The "added_tokens" entries with the ids Hugging Face gives them when it loads the file: the
    /// id of the same text in the model's vocabulary (or earlier in the list), otherwise the next id
    /// after the vocabulary and the tokens added so far. The "id" written in the file is not used,
    /// as Hugging Face only warns when it differs. Empty tokens are skipped.
    static func read(_ nodes: [TokenizerJSONNode], model: BPEModel) throws -> [AddedToken] {
        var tokens: [AddedToken] = []
        var idByContent: [String: Int32] = [:]
        var maxId: Int32?
        let vocabularyCount = Int32(model.idForToken.count)
        for node in nodes {
            let content = try node.required("content").string()
            if content.isEmpty { continue }
            let id: Int32
            if let known = idByContent[content] ?? model.idForToken[content] {
                id = known
            } else if let maxId, maxId >= vocabularyCount || vocabularyCount == 0 {
                id = maxId + 1
            } else {
                id = vocabularyCount
            }
            idByContent[content] = id
            maxId = max(maxId ?? id, id)
            tokens.append(try AddedToken(node, id: id, content: content))
        }
        return tokens
    }
}

/// A part of the text after added tokens were taken out of it.
enum TextSegment {
    case token(Int32)
    case text(ArraySlice<Unicode.Scalar>)
}

/// Finds a set of added tokens in text: at the leftmost position where one starts, the longest one
/// (Aho-Corasick leftmost-longest, as Hugging Face), then the `single_word`/`lstrip`/`rstrip` rules.
struct AddedTokenMatcher: Sendable {
    private struct TrieNode: Sendable {
        var children: [UInt32: Int32] = [:]
        var tokenIndex: Int32 = -1
    }

    private let tokens: [AddedToken]
    private var nodes = [TrieNode()]
    /// Which ASCII scalars start some token (non-ASCII first scalars go through the root's children).
    private var asciiStarts = [Bool](repeating: false, count: 128)

    /// `patterns[i]` is the text that stands for `tokens[i]` (its normalized form for normalized tokens).
    init(tokens: [AddedToken], patterns: [[Unicode.Scalar]]) {
        self.tokens = tokens
        for (index, pattern) in patterns.enumerated() where !pattern.isEmpty {
            var node = 0
            for s in pattern {
                if let child = nodes[node].children[s.value] {
                    node = Int(child)
                } else {
                    nodes.append(TrieNode())
                    nodes[node].children[s.value] = Int32(nodes.count - 1)
                    node = nodes.count - 1
                }
            }
            if nodes[node].tokenIndex < 0 { nodes[node].tokenIndex = Int32(index) }
            if pattern[0].value < 128 { asciiStarts[Int(pattern[0].value)] = true }
        }
    }

    var isEmpty: Bool { nodes.count == 1 }

    /// The longest token starting at `start`: (token index, end).
    private func longestMatch(_ text: ArraySlice<Unicode.Scalar>, at start: Int) -> (Int, Int)? {
        let first = text[start].value
        if first < 128 && !asciiStarts[Int(first)] { return nil }
        var node = 0
        var best: (Int, Int)?
        var i = start
        while i < text.endIndex, let child = nodes[node].children[text[i].value] {
            node = Int(child)
            i += 1
            if nodes[node].tokenIndex >= 0 { best = (Int(nodes[node].tokenIndex), i) }
        }
        return best
    }

    /// Splits `text` into added tokens and the text between them (empty text parts are left out).
    func split(_ text: ArraySlice<Unicode.Scalar>) -> [TextSegment] {
        guard !isEmpty, !text.isEmpty else { return text.isEmpty ? [] : [.text(text)] }
        var segments: [TextSegment] = []
        var consumed = text.startIndex  // end of the last emitted segment
        var position = text.startIndex  // where the search goes on (a discarded match is skipped)
        while position < text.endIndex {
            guard let (index, matchEnd) = longestMatch(text, at: position) else {
                position += 1
                continue
            }
            let token = tokens[index]
            var start = position
            var stop = matchEnd
            position = matchEnd
            if token.singleWord {
                let wordBefore = start > text.startIndex && UnicodeProperties.isWordCharacter(text[start - 1])
                let wordAfter = stop < text.endIndex && UnicodeProperties.isWordCharacter(text[stop])
                if wordBefore || wordAfter { continue }
            }
            if token.lstrip {
                var s = start
                while s > text.startIndex && UnicodeProperties.isWhitespace(text[s - 1]) { s -= 1 }
                start = max(s, consumed)
            }
            if token.rstrip {
                while stop < text.endIndex && UnicodeProperties.isWhitespace(text[stop]) { stop += 1 }
            }
            if consumed < start { segments.append(.text(text[consumed..<start])) }
            segments.append(.token(token.id))
            consumed = stop
        }
        if consumed < text.endIndex { segments.append(.text(text[consumed...])) }
        return segments
    }
}
