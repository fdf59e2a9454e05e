/// One token of a template: literal text between tags, the delimiters of `{{ }}` and `{% %}`,
/// or a token of the expression inside them.
struct JinjaToken {
    enum Kind: Equatable {
        case text(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        case op(String)
    }

    let kind: Kind
    let line: Int
}

/// Splits a template into tokens the way jinja2's lexer does with the settings transformers
/// uses for chat templates: `trim_blocks=True` (the newline after a `%}` or `#}` is dropped),
/// `lstrip_blocks=True` (spaces and tabs before a `{%` or `{#` that starts a line are dropped),
/// `-` on a delimiter strips all whitespace on that side, and one trailing newline of the
/// source is removed (`keep_trailing_newline=False`). Works on Unicode scalars, as Python does
/// on code points.
struct JinjaLexer {
    private let s: [Unicode.Scalar]
    private var pos = 0
    private var line = 1
    private var tokens: [JinjaToken] = []

    static func tokenize(_ source: String) throws -> [JinjaToken] {
        var lexer = JinjaLexer(scalars: normalizedNewlines(source))
        try lexer.run()
        return lexer.tokens
    }

    private init(scalars: [Unicode.Scalar]) { s = scalars }

    /// "\r\n" and "\r" become "\n"; one trailing newline is dropped.
    private static func normalizedNewlines(_ source: String) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(source.unicodeScalars.count)
        var previousWasCR = false
        for u in source.unicodeScalars {
            if u == "\r" {
                out.append("\n")
                previousWasCR = true
                continue
            }
            if u == "\n" && previousWasCR {
                previousWasCR = false
                continue
            }
            previousWasCR = false
            out.append(u)
        }
        if out.last == "\n" { out.removeLast() }
        return out
    }

    private func at(_ i: Int) -> Unicode.Scalar? { i < s.count ? s[i] : nil }

    private func startsWith(_ text: String, at i: Int) -> Bool {
        var j = i
        for u in text.unicodeScalars {
            guard j < s.count, s[j] == u else { return false }
            j += 1
        }
        return true
    }

    private mutating func advance(to newPos: Int) {
        for i in pos..<newPos where s[i] == "\n" { line += 1 }
        pos = newPos
    }

    private mutating func emit(_ kind: JinjaToken.Kind, line: Int? = nil) {
        tokens.append(JinjaToken(kind: kind, line: line ?? self.line))
    }

    private mutating func run() throws {
        // Whether the previous tag ended with a newline (or this is the start): lets
        // lstrip_blocks strip indentation that has no newline of its own before it.
        var lineStarting = true
        while pos < s.count {
            guard let open = nextTagStart(from: pos) else {
                emit(.text(String(String.UnicodeScalarView(s[pos...]))))
                advance(to: s.count)
                break
            }
            let kind = s[open + 1]
            var p = open + 2
            var sign: Unicode.Scalar? = nil
            if let c = at(p), c == "-" || c == "+" { sign = c; p += 1 }
            var text = Array(s[pos..<open])
            if sign == "-" {
                while let last = text.last, isPythonSpace(last) { text.removeLast() }
            } else if sign != "+" && kind != "{" {
                let lineStart = (text.lastIndex(of: "\n") ?? -1) + 1
                if (lineStart > 0 || lineStarting) && text[lineStart...].allSatisfy({ $0 == " " || $0 == "\t" }) {
                    text.removeSubrange(lineStart...)
                }
            }
            let textLine = line
            advance(to: open)
            if !text.isEmpty { emit(.text(String(String.UnicodeScalarView(text))), line: textLine) }
            pos = p  // the opening delimiter holds no newline
            switch kind {
            case "#": try skipComment()
            case "{": try lexTag(block: false)
            default: try lexTag(block: true)
            }
            lineStarting = pos > 0 && s[pos - 1] == "\n"
        }
    }

    private func nextTagStart(from i: Int) -> Int? {
        var j = i
        while j + 1 < s.count {
            if s[j] == "{", s[j + 1] == "{" || s[j + 1] == "%" || s[j + 1] == "#" { return j }
            j += 1
        }
        return nil
    }

    private mutating func skipComment() throws {
        let startLine = line
        var j = pos
        while j + 1 < s.count {
            if s[j] == "-", startsWith("-#}", at: j) {
                advance(to: j + 3)
                skipWhitespace()
                return
            }
            if s[j] == "#", s[j + 1] == "}" {
                advance(to: j + 2)
                if at(pos) == "\n" { advance(to: pos + 1) }  // trim_blocks
                return
            }
            j += 1
        }
        throw TemplateError(line: startLine, "unterminated comment '{#'")
    }

    private mutating func skipWhitespace() {
        var j = pos
        while j < s.count, isPythonSpace(s[j]) { j += 1 }
        advance(to: j)
    }

    /// Expression tokens up to the closing `}}` or `%}`; brackets must balance first, so a
    /// dict literal's `}}` does not end the tag.
    private mutating func lexTag(block: Bool) throws {
        let startLine = line
        emit(block ? .blockBegin : .variableBegin)
        let close = block ? "%}" : "}}"
        var depth = 0
        while true {
            skipWhitespace()
            guard pos < s.count else {
                throw TemplateError(line: startLine, "unterminated '\(block ? "{%" : "{{")': missing '\(close)'")
            }
            if depth == 0 {
                if startsWith("-" + close, at: pos) {
                    advance(to: pos + 3)
                    emit(block ? .blockEnd : .variableEnd)
                    skipWhitespace()
                    return
                }
                if startsWith(close, at: pos) {
                    advance(to: pos + 2)
                    emit(block ? .blockEnd : .variableEnd)
                    if block && at(pos) == "\n" { advance(to: pos + 1) }  // trim_blocks
                    return
                }
            }
            let c = s[pos]
            if c == "'" || c == "\"" {
                try lexString(quote: c)
            } else if isDigit(c) {
                lexNumber()
            } else if c == "_" || c.properties.isAlphabetic && c.isASCII {
                var j = pos
                while j < s.count, s[j] == "_" || (s[j].isASCII && (s[j].properties.isAlphabetic || isDigit(s[j]))) { j += 1 }
                emit(.name(String(String.UnicodeScalarView(s[pos..<j]))))
                advance(to: j)
            } else {
                let op = try lexOperator()
                if op == "(" || op == "[" || op == "{" { depth += 1 }
                if op == ")" || op == "]" || op == "}" {
                    guard depth > 0 else { throw TemplateError(line: line, "unexpected '\(op)'") }
                    depth -= 1
                }
            }
        }
    }

    private static let operators = ["//", "**", "==", "!=", "<=", ">=",
                                    "+", "-", "/", "%", "*", "~", "[", "]", "(", ")", "{", "}",
                                    "<", ">", "=", ".", ":", "|", ",", ";"]

    private mutating func lexOperator() throws -> String {
        for op in JinjaLexer.operators where startsWith(op, at: pos) {
            emit(.op(op))
            advance(to: pos + op.unicodeScalars.count)
            return op
        }
        throw TemplateError(line: line, "unexpected character '\(Character(s[pos]))' in a tag")
    }

    private func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }

    /// Digits with optional `_` separators.
    private func digitRun(from i: Int) -> Int {
        var j = i
        while j < s.count, isDigit(s[j]) || (s[j] == "_" && j + 1 < s.count && isDigit(s[j + 1]) && j > i) { j += 1 }
        return j
    }

    private mutating func lexNumber() {
        var j = digitRun(from: pos)
        var isFloat = false
        // After '.', a number is an attribute index (`x.0`), never a float.
        let afterDot: Bool = { if case .op(".")? = tokens.last?.kind { return true }; return false }()
        if !afterDot {
            if at(j) == ".", let d = at(j + 1), isDigit(d) {
                isFloat = true
                j = digitRun(from: j + 1)
            }
            if let e = at(j), e == "e" || e == "E" {
                var k = j + 1
                if let sign = at(k), sign == "+" || sign == "-" { k += 1 }
                if let d = at(k), isDigit(d) {
                    isFloat = true
                    j = digitRun(from: k)
                }
            }
        }
        let text = String(String.UnicodeScalarView(s[pos..<j].filter { $0 != "_" }))
        if !isFloat, let i = Int(text) {
            emit(.integer(i))
        } else {
            emit(.float(Double(text) ?? .infinity))
        }
        advance(to: j)
    }

    /// A quoted literal, unescaped as Python's `unicode-escape` codec does (which jinja2 uses).
    private mutating func lexString(quote: Unicode.Scalar) throws {
        let startLine = line
        var j = pos + 1
        var out = String.UnicodeScalarView()
        while true {
            guard j < s.count else { throw TemplateError(line: startLine, "unterminated string literal") }
            let c = s[j]
            if c == quote { break }
            if c != "\\" { out.append(c); j += 1; continue }
            guard let e = at(j + 1) else { throw TemplateError(line: startLine, "unterminated string literal") }
            j += 2
            switch e {
            case "\n": break
            case "\\", "'", "\"": out.append(e)
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "0"..."7":
                var value = e.value - 48
                var k = 1
                while k < 3, let d = at(j), d >= "0" && d <= "7" { value = value * 8 + d.value - 48; j += 1; k += 1 }
                out.append(Unicode.Scalar(value) ?? "\u{FFFD}")
            case "x", "u", "U":
                let width = e == "x" ? 2 : e == "u" ? 4 : 8
                guard j + width <= s.count, let value = UInt32(String(String.UnicodeScalarView(s[j..<j + width])), radix: 16),
                      let scalar = Unicode.Scalar(value) else {
                    throw TemplateError(line: line, "invalid '\\\(e)' escape in a string literal")
                }
                out.append(scalar)
                j += width
            case "N":
                throw TemplateError(line: line, "unsupported construct: '\\N{...}' escape in a string literal")
            default:
                out.append("\\")
                out.append(e)
            }
        }
        emit(.string(String(out)), line: startLine)
        advance(to: j + 1)
    }
}

/// Python's `str.isspace()` for one code point: Unicode White_Space plus the ASCII
/// separators 0x1C-0x1F.
func isPythonSpace(_ u: Unicode.Scalar) -> Bool {
    u.properties.isWhitespace || (u.value >= 0x1C && u.value <= 0x1F)
}
