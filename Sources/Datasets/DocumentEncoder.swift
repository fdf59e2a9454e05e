import Support
import Tokenization

/// Turns parsed rows into token ids and labels (see `TokenizedDocument` for the convention).
///
/// - text: `encode(text, addSpecialTokens: true)` + EOS; every token is a target.
/// - instruct with a chat template: the conversation [user: instruction, plus "\n\n" + input
///   when input is not empty; assistant: output], encoded as a chat row.
/// - instruct without one (Alpaca-style): prompt "instruction\n\ninput\n\n" (the input part
///   only when input is not empty), encoded with special tokens (BOS) and masked; then the
///   output, encoded on its own, + EOS, as targets. Encoding the two parts separately keeps
///   the prompt/answer boundary on a token boundary.
/// - chat: see `encodeChat`.
/// - tokens: ids as given; labels as given, or a copy of the ids when absent.
/// EOS is appended only when the tokenizer has one and the encoding does not already end with it.
struct DocumentEncoder {
    let encoder: any TextEncoding
    let chatTemplate: (any ChatRendering)?

    func encode(_ record: DatasetRecord) throws -> TokenizedDocument {
        var doc: TokenizedDocument
        switch record {
        case .text(let text):
            let ids = withEOS(try encoder.encode(text, addSpecialTokens: true))
            doc = TokenizedDocument(inputIds: ids, labels: ids)
        case .instruct(let instruction, let input, let output):
            let request = input.isEmpty ? instruction : instruction + "\n\n" + input
            if chatTemplate != nil {
                doc = try encodeChat([
                    ChatMessage(role: "user", content: request), ChatMessage(role: "assistant", content: output),
                ])
            } else {
                let prompt = try encoder.encode(request + "\n\n", addSpecialTokens: true)
                let answer = withEOS(try encoder.encode(output, addSpecialTokens: false))
                doc = TokenizedDocument(
                    inputIds: prompt + answer, labels: Array(repeating: ignoredLabel, count: prompt.count) + answer)
            }
        case .chat(let messages):
            doc = try encodeChat(messages)
        case .tokens(let ids, let labels):
            doc = try checkedTokens(ids, labels)
        }
        if !doc.labels.isEmpty { doc.labels[0] = ignoredLabel }
        return doc
    }

    private func withEOS(_ ids: [Int32]) -> [Int32] {
        guard let eos = encoder.eosTokenId, ids.last != eos else { return ids }
        return ids + [eos]
    }

    /// Chat rows: only assistant turns are targets. The span of assistant message i is found
    /// by rendering prefixes of the conversation: it starts where
    /// `render(messages[..<i], addGenerationPrompt: true)` ends and stops where
    /// `render(messages[...i])` ends (so it includes the template's end-of-turn marker).
    /// This needs each rendering to be a prefix of the next (checked; a template that rewrites
    /// earlier turns, e.g. by dropping reasoning from past turns, is rejected). The full
    /// rendering is then cut at the span boundaries and each piece tokenized on its own,
    /// without added special tokens (as `apply_chat_template(tokenize=True)` does: the
    /// template writes BOS itself where the model wants one).
    private func encodeChat(_ messages: [ChatMessage]) throws -> TokenizedDocument {
        guard let template = chatTemplate else {
            throw RowError("chat rows need a chat template, and the tokenizer has none (use --data-format text/instruct/tokens)")
        }
        let full = Array(try template.render(messages, addGenerationPrompt: false).utf8)
        var spans: [Range<Int>] = []
        for (i, message) in messages.enumerated() where message.role == "assistant" {
            let prompt = Array(try template.render(Array(messages[..<i]), addGenerationPrompt: true).utf8)
            let through = Array(try template.render(Array(messages[...i]), addGenerationPrompt: false).utf8)
            guard through.starts(with: prompt), full.starts(with: through), prompt.count >= (spans.last?.upperBound ?? 0)
            else {
                throw RowError(
                    "the chat template is not prefix-stable at messages[\(i)]: rendering the conversation up to an "
                        + "assistant turn (with the generation prompt) must be a prefix of rendering it through that turn, "
                        + "and of the whole conversation; cannot tell which tokens are the assistant's")
            }
            spans.append(prompt.count..<through.count)
        }
        guard !spans.isEmpty else { throw RowError("no assistant message: nothing to train on") }

        var doc = TokenizedDocument(inputIds: [], labels: [])
        func append(_ range: Range<Int>, trained: Bool) throws {
            guard !range.isEmpty else { return }
            let ids = try encoder.encode(String(decoding: full[range], as: UTF8.self), addSpecialTokens: false)
            doc.inputIds += ids
            doc.labels += trained ? ids : Array(repeating: ignoredLabel, count: ids.count)
        }
        var cursor = 0
        for span in spans {
            try append(cursor..<span.lowerBound, trained: false)
            try append(span, trained: true)
            cursor = span.upperBound
        }
        try append(cursor..<full.count, trained: false)
        return doc
    }

    private func checkedTokens(_ ids: [Int], _ labels: [Int]?) throws -> TokenizedDocument {
        guard !ids.isEmpty else { throw RowError("\"input_ids\" is empty") }
        let vocab = encoder.vocabularySize
        if let bad = ids.firstIndex(where: { $0 < 0 || $0 >= vocab }) {
            throw RowError("input_ids[\(bad)] = \(ids[bad]) is outside the vocabulary (0..<\(vocab))")
        }
        let inputIds = ids.map { Int32($0) }
        guard let labels else { return TokenizedDocument(inputIds: inputIds, labels: inputIds) }
        guard labels.count == ids.count else {
            throw RowError("\"labels\" has \(labels.count) entries but \"input_ids\" has \(ids.count): they must be aligned")
        }
        if let bad = labels.firstIndex(where: { $0 != Int(ignoredLabel) && ($0 < 0 || $0 >= vocab) }) {
            throw RowError("labels[\(bad)] = \(labels[bad]) is neither -100 nor inside the vocabulary (0..<\(vocab))")
        }
        return TokenizedDocument(inputIds: inputIds, labels: labels.map { Int32($0) })
    }
}
