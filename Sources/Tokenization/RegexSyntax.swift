/// The regular expressions of tokenizer.json Split patterns, as a tree. The dialect is Oniguruma's
/// (what Hugging Face `tokenizers` compiles them with), restricted to what tokenizer patterns use:
/// alternation, (non-)capturing groups, `(?i:...)`, classes with `\p{..}` `\s` `\d` `\w`,
/// greedy and lazy quantifiers, and lookahead.
indirect enum RegexNode {
    case literal(Unicode.Scalar, caseInsensitive: Bool)
    case characterClass(RegexCharacterClass)
    case sequence([RegexNode])
    case alternation([RegexNode])
    case repetition(RegexNode, min: Int, max: Int?, greedy: Bool)
    case lookahead(RegexNode, negated: Bool)

    var canMatchEmpty: Bool {
        switch self {
        case .literal, .characterClass: return false
        case .sequence(let nodes): return nodes.allSatisfy(\.canMatchEmpty)
        case .alternation(let nodes): return nodes.contains(where: \.canMatchEmpty)
        case .repetition(let node, let min, _, _): return min == 0 || node.canMatchEmpty
        case .lookahead: return true
        }
    }

    /// How many instructions the compiled program will have (counted repetitions are unrolled),
    /// capped at 2^32 so that the count cannot overflow.
    var compiledSize: Int {
        let cap = 1 << 32
        switch self {
        case .literal, .characterClass: return 1
        case .sequence(let nodes): return nodes.reduce(0) { Swift.min($0 + $1.compiledSize, cap) }
        case .alternation(let nodes): return nodes.reduce(0) { Swift.min($0 + $1.compiledSize + 2, cap) }
        case .repetition(let node, let min, let max, _):
            return Swift.min((node.compiledSize + 2) * Swift.max(max ?? min + 1, 1), cap)
        case .lookahead(let node, _): return node.compiledSize + 2
        }
    }
}

struct RegexSyntaxError: Error, CustomStringConvertible {
    let message: String
    let offset: Int
    var description: String { "regex error at character \(offset): \(message)" }
}

/// Recursive-descent parser from pattern text to `RegexNode`.
struct RegexParser {
    private let pattern: [Unicode.Scalar]
    private var pos = 0
    private var groupDepth = 0

    static func parse(_ pattern: String) throws -> RegexNode {
        var parser = RegexParser(pattern: Array(pattern.unicodeScalars))
        let node = try parser.alternation(caseInsensitive: false)
        if parser.pos < parser.pattern.count { throw parser.error("unbalanced ')'") }
        if node.compiledSize > 1_000_000 { throw parser.error("pattern too large once repetitions are unrolled") }
        return node
    }

    private init(pattern: [Unicode.Scalar]) { self.pattern = pattern }

    private func error(_ message: String) -> RegexSyntaxError { RegexSyntaxError(message: message, offset: pos) }

    private var peek: Unicode.Scalar? { pos < pattern.count ? pattern[pos] : nil }

    private mutating func next() throws -> Unicode.Scalar {
        guard pos < pattern.count else { throw error("pattern ends too early") }
        pos += 1
        return pattern[pos - 1]
    }

    private mutating func take(_ s: String) -> Bool {
        let scalars = Array(s.unicodeScalars)
        guard pos + scalars.count <= pattern.count, Array(pattern[pos..<pos + scalars.count]) == scalars else { return false }
        pos += scalars.count
        return true
    }

    private mutating func alternation(caseInsensitive: Bool) throws -> RegexNode {
        var flag = caseInsensitive
        var branches = [try sequence(caseInsensitive: &flag)]
        while peek == "|" {
            pos += 1
            branches.append(try sequence(caseInsensitive: &flag))
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    /// `caseInsensitive` is inout because `(?i)` switches it for the rest of the enclosing group.
    private mutating func sequence(caseInsensitive: inout Bool) throws -> RegexNode {
        var items: [RegexNode] = []
        while let c = peek, c != "|", c != ")" {
            if take("(?i)") { caseInsensitive = true; continue }
            if take("(?-i)") { caseInsensitive = false; continue }
            let atom = try self.atom(caseInsensitive: caseInsensitive)
            items.append(try quantified(atom))
        }
        return items.count == 1 ? items[0] : .sequence(items)
    }

    private mutating func quantified(_ atom: RegexNode) throws -> RegexNode {
        var node = atom
        while let c = peek {
            var bounds: (Int, Int?)
            switch c {
            case "*": pos += 1; bounds = (0, nil)
            case "+": pos += 1; bounds = (1, nil)
            case "?": pos += 1; bounds = (0, 1)
            case "{":
                guard let counted = countedBounds() else { return node }
                bounds = counted
            default: return node
            }
            var greedy = true
            if peek == "?" { pos += 1; greedy = false } else if peek == "+" { throw error("possessive quantifiers are not supported") }
            if case .lookahead = node { throw error("quantified lookahead") }
            if node.canMatchEmpty && bounds.1 == nil { throw error("a repeated sub-pattern can match the empty string") }
            if let max = bounds.1, max < bounds.0 { throw error("quantifier {\(bounds.0),\(max)} has max < min") }
            if bounds.0 > 1000 || (bounds.1 ?? 0) > 1000 { throw error("quantifier bound above 1000") }
            node = .repetition(node, min: bounds.0, max: bounds.1, greedy: greedy)
        }
        return node
    }

    /// `{n}`, `{n,}`, `{n,m}`, `{,m}`; nil (and nothing consumed) when the brace is a literal.
    private mutating func countedBounds() -> (Int, Int?)? {
        let start = pos
        pos += 1
        func number(_ p: inout RegexParser) -> Int? {
            var value: Int?
            while let c = p.peek, c.value >= 0x30, c.value <= 0x39, (value ?? 0) < 100_000 {
                value = (value ?? 0) * 10 + Int(c.value - 0x30)
                p.pos += 1
            }
            return value
        }
        let low = number(&self)
        var result: (Int, Int?)?
        if peek == "}" {
            if let low { result = (low, low) }
        } else if peek == "," {
            pos += 1
            let high = number(&self)
            if peek == "}", low != nil || high != nil { result = (low ?? 0, high) }
        }
        if result == nil { pos = start; return nil }
        pos += 1  // "}"
        return result
    }

    private mutating func atom(caseInsensitive: Bool) throws -> RegexNode {
        let c = try next()
        switch c {
        case "(":
            return try group(caseInsensitive: caseInsensitive)
        case "[":
            return .characterClass(try bracket(caseInsensitive: caseInsensitive))
        case ".":
            return .characterClass(.init(items: [.range(0x0A, 0x0A)], negated: true))
        case "\\":
            return try escape(caseInsensitive: caseInsensitive)
        case "^", "$":
            pos -= 1
            throw error("anchors are not supported")
        case "*", "+", "?":
            pos -= 1
            throw error("quantifier without a target")
        default:
            return .literal(c, caseInsensitive: caseInsensitive)
        }
    }

    private mutating func group(caseInsensitive: Bool) throws -> RegexNode {
        groupDepth += 1
        defer { groupDepth -= 1 }
        if groupDepth > 100 { throw error("groups nested deeper than 100") }
        var flag = caseInsensitive
        var lookahead: Bool?  // negated?
        if take("?:") {
        } else if take("?i:") {
            flag = true
        } else if take("?-i:") {
            flag = false
        } else if take("?=") {
            lookahead = false
        } else if take("?!") {
            lookahead = true
        } else if take("?<=") || take("?<!") {
            throw error("lookbehind is not supported")
        } else if take("?<") {
            while let c = peek, c != ">" { pos += 1 }  // named group: the name does not matter here
            guard peek == ">" else { throw error("unterminated group name") }
            pos += 1
        } else if peek == "?" {
            throw error("group kind not supported")
        }
        let inner = try alternation(caseInsensitive: flag)
        guard peek == ")" else { throw error("missing ')'") }
        pos += 1
        if let negated = lookahead { return .lookahead(inner, negated: negated) }
        return inner
    }

    private mutating func bracket(caseInsensitive: Bool) throws -> RegexCharacterClass {
        let negated = peek == "^"
        if negated { pos += 1 }
        var items: [RegexCharacterClass.Item] = []
        var first = true
        while true {
            guard let c = peek else { throw error("missing ']'") }
            if c == "]" && !first { pos += 1; break }
            first = false
            if take("&&") { throw error("class intersection is not supported") }
            if c == "[" {
                pos += 1
                items.append(.nested(try bracket(caseInsensitive: caseInsensitive)))
                continue
            }
            let low = try classAtom()
            guard case .single(let lo) = low, peek == "-", pos + 1 < pattern.count, pattern[pos + 1] != "]" else {
                items.append(low.item)
                continue
            }
            pos += 1  // "-"
            guard case .single(let hi) = try classAtom() else { throw error("invalid class range") }
            guard lo <= hi else { throw error("class range out of order") }
            items.append(.range(lo, hi))
        }
        return RegexCharacterClass(items: items, negated: negated, caseInsensitive: caseInsensitive)
    }

    /// One member of a bracket expression: a scalar (which may start a range) or a whole set.
    private enum ClassAtom {
        case single(UInt32)
        case set(RegexCharacterClass.Item)

        var item: RegexCharacterClass.Item {
            switch self {
            case .single(let v): return .range(v, v)
            case .set(let item): return item
            }
        }
    }

    private mutating func classAtom() throws -> ClassAtom {
        let c = try next()
        guard c == "\\" else { return .single(c.value) }
        switch try escape(caseInsensitive: false) {
        case .literal(let s, _):
            return .single(s.value)
        case .characterClass(let cls):
            return .set(cls.items.count == 1 && !cls.negated ? cls.items[0] : .nested(cls))
        default:
            throw error("invalid escape in class")
        }
    }

    private mutating func escape(caseInsensitive: Bool) throws -> RegexNode {
        let c = try next()
        func cls(_ item: RegexCharacterClass.Item) -> RegexNode { .characterClass(.single(item)) }
        switch c {
        case "s": return cls(.whitespace(negated: false))
        case "S": return cls(.whitespace(negated: true))
        case "d": return cls(.categories(UnicodeProperties.categoryMasks["Nd"]!, negated: false))
        case "D": return cls(.categories(UnicodeProperties.categoryMasks["Nd"]!, negated: true))
        case "w": return cls(.word(negated: false))
        case "W": return cls(.word(negated: true))
        case "p", "P": return cls(.categories(try propertyMask(), negated: c == "P"))
        case "n": return .literal("\n", caseInsensitive: false)
        case "r": return .literal("\r", caseInsensitive: false)
        case "t": return .literal("\t", caseInsensitive: false)
        case "f": return .literal("\u{0C}", caseInsensitive: false)
        case "v": return .literal("\u{0B}", caseInsensitive: false)
        case "a": return .literal("\u{07}", caseInsensitive: false)
        case "e": return .literal("\u{1B}", caseInsensitive: false)
        case "x": return .literal(try hexScalar(braced: peek == "{", digits: 2), caseInsensitive: caseInsensitive)
        case "u": return .literal(try hexScalar(braced: false, digits: 4), caseInsensitive: caseInsensitive)
        default:
            let v = c.value
            let isAlphanumeric = (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A)
            if isAlphanumeric { pos -= 1; throw error("escape \\\(c) is not supported") }
            return .literal(c, caseInsensitive: caseInsensitive)
        }
    }

    private mutating func hexScalar(braced: Bool, digits: Int) throws -> Unicode.Scalar {
        if braced { pos += 1 }
        var value: UInt32 = 0
        var count = 0
        while let c = peek, let d = Self.hexDigitValue(c) {
            if !braced && count == digits { break }
            value = value * 16 + d
            count += 1
            pos += 1
            if count > 8 { throw error("hex escape too long") }
        }
        if braced {
            guard peek == "}" else { throw error("missing '}' in hex escape") }
            pos += 1
        }
        guard count > 0, let scalar = Unicode.Scalar(value) else { throw error("invalid hex escape") }
        return scalar
    }

    private static func hexDigitValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c.value {
        case 0x30...0x39: return c.value - 0x30
        case 0x41...0x46: return c.value - 0x41 + 10
        case 0x61...0x66: return c.value - 0x61 + 10
        default: return nil
        }
    }

    /// `\p{L}`, `\p{Lu}`, `\pN`, `\p{^L}`: a mask of general categories.
    private mutating func propertyMask() throws -> UInt32 {
        var name: String
        var negate = false
        if peek == "{" {
            pos += 1
            if peek == "^" { negate = true; pos += 1 }
            name = ""
            while let c = peek, c != "}" { name.unicodeScalars.append(c); pos += 1 }
            guard peek == "}" else { throw error("missing '}' in \\p{...}") }
            pos += 1
        } else {
            name = String(try next())
        }
        let mask: UInt32
        if name.count == 1, let m = UnicodeProperties.groupMasks[Character(name)] {
            mask = m
        } else if let m = UnicodeProperties.categoryMasks[name] {
            mask = m
        } else {
            throw error("property \\p{\(name)} is not supported")
        }
        return negate ? ~mask & ((1 << 30) - 1) : mask
    }
}
