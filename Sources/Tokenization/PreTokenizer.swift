import Support

/// Splits normalized text into words before BPE (tokenizer.json "pre_tokenizer"). The model here is
/// byte-level, so the pipeline must end with a ByteLevel step; that step's byte-to-scalar mapping
/// is left to the model, which receives each word as UTF-8 bytes.
indirect enum PreTokenizer: Sendable {
    case split(pattern: RegexProgram, behavior: SplitDelimiterBehavior, invert: Bool)
    /// The regex is GPT-2's pattern when `use_regex` is true.
    case byteLevel(addPrefixSpace: Bool, regex: RegexProgram?)
    case digits(individual: Bool)
    case sequence([PreTokenizer])

    /// The "pre_tokenizer" of a tokenizer.json `root`.
    static func read(root: TokenizerJSONNode) throws -> PreTokenizer {
        guard let node = try root.optional("pre_tokenizer") else {
            throw InputError(file: root.file, location: "key pre_tokenizer",
                             "unsupported null pre_tokenizer: a byte-level BPE needs a ByteLevel step")
        }
        let pipeline = try readStep(node)
        let steps = pipeline.flattened
        guard case .byteLevel = steps.last else { throw node.unsupported("pre_tokenizer that does not end with ByteLevel") }
        if steps.dropLast().contains(where: { if case .byteLevel = $0 { return true } else { return false } }) {
            throw node.unsupported("pre_tokenizer with more than one ByteLevel step")
        }
        return pipeline
    }

    private static func readStep(_ node: TokenizerJSONNode) throws -> PreTokenizer {
        let type = try node.typeName()
        switch type {
        case "Sequence":
            return .sequence(try node.required("pretokenizers").array().map(readStep))
        case "ByteLevel":
            let regex = try node.flag("use_regex", default: true) ? try RegexProgram(pattern: ByteLevel.gpt2Pattern) : nil
            return .byteLevel(addPrefixSpace: try node.flag("add_prefix_space", default: true), regex: regex)
        case "Digits":
            return .digits(individual: try node.flag("individual_digits", default: false))
        case "Split":
            let patternNode = try node.required("pattern")
            let pattern: RegexProgram
            if let regex = try patternNode.optional("Regex") {
                do {
                    pattern = try RegexProgram(pattern: regex.string())
                } catch let e as RegexSyntaxError {
                    throw regex.error(e.description)
                }
            } else if let literal = try patternNode.optional("String") {
                pattern = RegexProgram(literal: try literal.string())
            } else {
                throw patternNode.error("expected {\"Regex\": ...} or {\"String\": ...}")
            }
            let behaviorNode = try node.required("behavior")
            guard let behavior = SplitDelimiterBehavior(rawValue: try behaviorNode.string()) else {
                throw behaviorNode.unsupported("split behavior \"\(try behaviorNode.string())\"")
            }
            return .split(pattern: pattern, behavior: behavior, invert: try node.flag("invert", default: false))
        default:
            throw try node.required("type").unsupported("pre_tokenizer \"\(type)\"")
        }
    }

    private var flattened: [PreTokenizer] {
        if case .sequence(let steps) = self { return steps.flatMap(\.flattened) }
        return [self]
    }

    /// Appends the words of `text` to `words`.
    func split(_ text: ArraySlice<Unicode.Scalar>, into words: inout [ArraySlice<Unicode.Scalar>]) {
        guard !text.isEmpty else { return }
        switch self {
        case .sequence(let steps):
            var current = [text]
            for step in steps {
                var next: [ArraySlice<Unicode.Scalar>] = []
                for piece in current { step.split(piece, into: &next) }
                current = next
            }
            words.append(contentsOf: current)
        case .byteLevel(let addPrefixSpace, let regex):
            var piece = text
            if addPrefixSpace && piece.first != " " { piece = ArraySlice([" "] + piece) }
            guard let regex else { words.append(piece); return }
            Self.splitByRegex(piece, regex, behavior: .isolated, invert: false, into: &words)
        case .split(let pattern, let behavior, let invert):
            Self.splitByRegex(text, pattern, behavior: behavior, invert: invert, into: &words)
        case .digits(let individual):
            var parts: [SplitDelimiterBehavior.Part] = []
            var lastEnd = text.startIndex
            for i in text.indices where UnicodeProperties.isNumeric(text[i]) {
                if lastEnd < i { parts.append(.init(start: lastEnd, end: i, isMatch: false)) }
                parts.append(.init(start: i, end: i + 1, isMatch: true))
                lastEnd = i + 1
            }
            if lastEnd < text.endIndex { parts.append(.init(start: lastEnd, end: text.endIndex, isMatch: false)) }
            let behavior: SplitDelimiterBehavior = individual ? .isolated : .contiguous
            for r in behavior.pieces(parts) { words.append(text[r]) }
        }
    }

    private static func splitByRegex(_ text: ArraySlice<Unicode.Scalar>, _ regex: RegexProgram,
                                     behavior: SplitDelimiterBehavior, invert: Bool,
                                     into words: inout [ArraySlice<Unicode.Scalar>]) {
        let base = text.startIndex
        var parts: [SplitDelimiterBehavior.Part] = []
        var previous = 0
        text.withUnsafeBufferPointer { buffer in
            regex.forEachMatch(in: buffer) { start, end in
                if previous != start { parts.append(.init(start: previous, end: start, isMatch: invert)) }
                parts.append(.init(start: start, end: end, isMatch: !invert))
                previous = end
            }
        }
        if previous != text.count { parts.append(.init(start: previous, end: text.count, isMatch: invert)) }
        if behavior == .isolated {
            for p in parts where p.start < p.end { words.append(text[(base + p.start)..<(base + p.end)]) }
            return
        }
        for r in behavior.pieces(parts) { words.append(text[(base + r.lowerBound)..<(base + r.upperBound)]) }
    }
}
