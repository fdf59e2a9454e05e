/// Recursive-descent parser for the jinja2 subset chat templates use. Operator precedence and
/// associativity follow jinja2's parser (low to high): `x if c else y`, `or`, `and`, `not`,
/// comparisons and `in`, `+ -`, `~`, `* / // %`, `**`, unary `- +`, then postfix `.a [i] (args)`,
/// filters `|f` and tests `is t`. Any other statement is an error naming it and its line.
struct JinjaParser {
    private let tokens: [JinjaToken]
    private var pos = 0

    static func parse(_ tokens: [JinjaToken]) throws -> [JinjaNode] {
        var parser = JinjaParser(tokens: tokens)
        let (body, end) = try parser.parseBody(until: [])
        if let end { throw TemplateError(line: end.line, "unexpected '{% \(end.keyword) %}'") }
        return body
    }

    private init(tokens: [JinjaToken]) { self.tokens = tokens }

    // MARK: token helpers

    private var current: JinjaToken? { pos < tokens.count ? tokens[pos] : nil }
    private var line: Int { current?.line ?? tokens.last?.line ?? 1 }

    private func isOp(_ op: String) -> Bool {
        if case .op(op)? = current?.kind { return true }
        return false
    }

    private func isName(_ name: String) -> Bool {
        if case .name(name)? = current?.kind { return true }
        return false
    }

    private func peekIsName(_ name: String, offset: Int) -> Bool {
        guard pos + offset < tokens.count, case .name(name) = tokens[pos + offset].kind else { return false }
        return true
    }

    private mutating func skipOp(_ op: String) -> Bool {
        if isOp(op) { pos += 1; return true }
        return false
    }

    private mutating func skipName(_ name: String) -> Bool {
        if isName(name) { pos += 1; return true }
        return false
    }

    private mutating func expectOp(_ op: String) throws {
        guard skipOp(op) else { throw TemplateError(line: line, "expected '\(op)', found \(describeCurrent())") }
    }

    private mutating func expectName() throws -> String {
        guard case .name(let n)? = current?.kind else {
            throw TemplateError(line: line, "expected a name, found \(describeCurrent())")
        }
        pos += 1
        return n
    }

    private mutating func expectBlockEnd() throws {
        guard case .blockEnd? = current?.kind else {
            throw TemplateError(line: line, "expected '%}', found \(describeCurrent())")
        }
        pos += 1
    }

    private func describeCurrent() -> String {
        switch current?.kind {
        case nil: return "end of template"
        case .text?: return "text"
        case .variableBegin?: return "'{{'"
        case .variableEnd?: return "'}}'"
        case .blockBegin?: return "'{%'"
        case .blockEnd?: return "'%}'"
        case .name(let n)?: return "'\(n)'"
        case .string(let s)?: return "string '\(s)'"
        case .integer(let i)?: return "'\(i)'"
        case .float(let f)?: return "'\(f)'"
        case .op(let o)?: return "'\(o)'"
        }
    }

    // MARK: statements

    private struct EndTag {
        let keyword: String
        let line: Int
    }

    /// Nodes up to a `{% keyword %}` in `terminators` (returned, its `%}` not yet consumed),
    /// or to the end of the template (nil) when `terminators` is empty.
    private mutating func parseBody(until terminators: Set<String>, openedAt startLine: Int = 1) throws -> ([JinjaNode], EndTag?) {
        var nodes: [JinjaNode] = []
        while let token = current {
            switch token.kind {
            case .text(let t):
                nodes.append(.text(t))
                pos += 1
            case .variableBegin:
                pos += 1
                let e = try parseTupleOrExpression()
                guard case .variableEnd? = current?.kind else {
                    throw TemplateError(line: line, "expected '}}', found \(describeCurrent())")
                }
                pos += 1
                nodes.append(.output(e, line: token.line))
            case .blockBegin:
                pos += 1
                let keyword = try expectName()
                if terminators.contains(keyword) { return (nodes, EndTag(keyword: keyword, line: token.line)) }
                nodes.append(try parseStatement(keyword, line: token.line))
            default:
                throw TemplateError(line: token.line, "unexpected \(describeCurrent())")
            }
        }
        if !terminators.isEmpty {
            let names = terminators.sorted().map { "'{% \($0) %}'" }.joined(separator: " or ")
            throw TemplateError(line: startLine, "missing \(names) for the block opened here")
        }
        return (nodes, nil)
    }

    private mutating func parseStatement(_ keyword: String, line: Int) throws -> JinjaNode {
        switch keyword {
        case "if": return try parseIf(line: line)
        case "for": return try parseFor(line: line)
        case "set": return try parseSet(line: line)
        case "macro": return try parseMacro(line: line)
        case "break":
            try expectBlockEnd()
            return .breakLoop(line: line)
        case "continue":
            try expectBlockEnd()
            return .continueLoop(line: line)
        case "generation":
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endgeneration"], openedAt: line)
            try expectBlockEnd()
            return .generation(body)
        case "endif", "endfor", "endset", "endmacro", "else", "elif", "endgeneration":
            throw TemplateError(line: line, "unexpected '{% \(keyword) %}'")
        default:
            throw TemplateError(line: line, "unsupported construct: '{% \(keyword) %}' statement")
        }
    }

    private mutating func parseIf(line: Int) throws -> JinjaNode {
        var branches: [(condition: JinjaExpr, body: [JinjaNode])] = []
        var condition = try parseExpression()
        while true {
            try expectBlockEnd()
            let (body, end) = try parseBody(until: ["elif", "else", "endif"], openedAt: line)
            branches.append((condition, body))
            switch end?.keyword {
            case "elif":
                condition = try parseExpression()
            case "else":
                try expectBlockEnd()
                let (otherwise, _) = try parseBody(until: ["endif"], openedAt: line)
                try expectBlockEnd()
                return .ifChain(branches, otherwise: otherwise)
            default:
                try expectBlockEnd()
                return .ifChain(branches, otherwise: [])
            }
        }
    }

    private mutating func parseFor(line: Int) throws -> JinjaNode {
        let target = try parseTarget(allowAttribute: false)
        guard skipName("in") else { throw TemplateError(line: self.line, "expected 'in' in '{% for %}'") }
        // The iterable stops before a trailing `if` filter, as in jinja2.
        let iterable = try parseTupleOrExpression(allowConditional: false)
        var filter: JinjaExpr? = nil
        if skipName("if") { filter = try parseExpression() }
        if isName("recursive") {
            throw TemplateError(line: line, "unsupported construct: 'recursive' for loop")
        }
        try expectBlockEnd()
        let (body, end) = try parseBody(until: ["else", "endfor"], openedAt: line)
        var otherwise: [JinjaNode] = []
        if end?.keyword == "else" {
            try expectBlockEnd()
            (otherwise, _) = try parseBody(until: ["endfor"], openedAt: line)
        }
        try expectBlockEnd()
        return .forLoop(target: target, iterable: iterable, filter: filter, body: body, otherwise: otherwise, line: line)
    }

    private mutating func parseSet(line: Int) throws -> JinjaNode {
        let target = try parseTarget(allowAttribute: true)
        if skipOp("=") {
            let value = try parseTupleOrExpression()
            try expectBlockEnd()
            return .set(target, value, line: line)
        }
        guard case .name(let name) = target else {
            throw TemplateError(line: line, "expected '=' in '{% set %}'")
        }
        if isOp("|") { throw TemplateError(line: line, "unsupported construct: filtered '{% set %}' block") }
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endset"], openedAt: line)
        try expectBlockEnd()
        return .setBlock(name, body: body)
    }

    private mutating func parseMacro(line: Int) throws -> JinjaNode {
        let name = try expectName()
        try expectOp("(")
        var parameters: [(name: String, defaultValue: JinjaExpr?)] = []
        while !skipOp(")") {
            if !parameters.isEmpty { try expectOp(",") }
            if skipOp(")") { break }
            let p = try expectName()
            parameters.append((p, skipOp("=") ? try parseExpression() : nil))
        }
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endmacro"], openedAt: line)
        if case .name? = current?.kind { pos += 1 }  // `{% endmacro name %}`
        try expectBlockEnd()
        return .macro(JinjaMacro(name: name, parameters: parameters, body: body, line: line))
    }

    /// `x`, `ns.x` (set only), or `a, b` / `(a, b)` to unpack.
    private mutating func parseTarget(allowAttribute: Bool) throws -> JinjaTarget {
        var items: [JinjaTarget] = []
        repeat {
            if skipOp("(") {
                items.append(try parseTarget(allowAttribute: false))
                try expectOp(")")
                continue
            }
            let name = try expectName()
            if allowAttribute && skipOp(".") {
                items.append(.attribute(name, try expectName()))
            } else {
                items.append(.name(name))
            }
        } while skipOp(",") && !isName("in") && !isOp("=")
        return items.count == 1 ? items[0] : .tuple(items)
    }

    // MARK: expressions

    /// `a, b` without parentheses is a tuple in `{{ }}`, `for ... in` and `set`.
    private mutating func parseTupleOrExpression(allowConditional: Bool = true) throws -> JinjaExpr {
        let first = allowConditional ? try parseExpression() : try parseOr()
        guard isOp(",") else { return first }
        var items = [first]
        while skipOp(",") {
            if case .variableEnd? = current?.kind { break }
            if case .blockEnd? = current?.kind { break }
            items.append(allowConditional ? try parseExpression() : try parseOr())
        }
        return .tuple(items)
    }

    mutating func parseExpression() throws -> JinjaExpr {
        var e = try parseOr()
        while skipName("if") {
            let condition = try parseOr()
            let otherwise: JinjaExpr? = skipName("else") ? try parseExpression() : nil
            e = .conditional(then: e, condition: condition, otherwise: otherwise)
        }
        return e
    }

    private mutating func parseOr() throws -> JinjaExpr {
        var e = try parseAnd()
        while skipName("or") { e = .logical(isAnd: false, e, try parseAnd()) }
        return e
    }

    private mutating func parseAnd() throws -> JinjaExpr {
        var e = try parseNot()
        while skipName("and") { e = .logical(isAnd: true, e, try parseNot()) }
        return e
    }

    private mutating func parseNot() throws -> JinjaExpr {
        let l = line
        if skipName("not") { return .unary("not", try parseNot(), line: l) }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> JinjaExpr {
        let l = line
        let first = try parseAdditive()
        var ops: [(op: String, JinjaExpr)] = []
        while true {
            if case .op(let o)? = current?.kind, ["==", "!=", "<", "<=", ">", ">="].contains(o) {
                pos += 1
                ops.append((o, try parseAdditive()))
            } else if skipName("in") {
                ops.append(("in", try parseAdditive()))
            } else if isName("not") && peekIsName("in", offset: 1) {
                pos += 2
                ops.append(("not in", try parseAdditive()))
            } else {
                break
            }
        }
        return ops.isEmpty ? first : .compare(first, ops, line: l)
    }

    private mutating func parseAdditive() throws -> JinjaExpr {
        var e = try parseConcat()
        while case .op(let o)? = current?.kind, o == "+" || o == "-" {
            let l = line
            pos += 1
            e = .binary(o, e, try parseConcat(), line: l)
        }
        return e
    }

    private mutating func parseConcat() throws -> JinjaExpr {
        var e = try parseMultiplicative()
        while isOp("~") {
            let l = line
            pos += 1
            e = .binary("~", e, try parseMultiplicative(), line: l)
        }
        return e
    }

    private mutating func parseMultiplicative() throws -> JinjaExpr {
        var e = try parsePower()
        while case .op(let o)? = current?.kind, ["*", "/", "//", "%"].contains(o) {
            let l = line
            pos += 1
            e = .binary(o, e, try parsePower(), line: l)
        }
        return e
    }

    private mutating func parsePower() throws -> JinjaExpr {
        var e = try parseUnary(withFilters: true)
        while isOp("**") {
            let l = line
            pos += 1
            e = .binary("**", e, try parseUnary(withFilters: true), line: l)
        }
        return e
    }

    private mutating func parseUnary(withFilters: Bool) throws -> JinjaExpr {
        let l = line
        var e: JinjaExpr
        if skipOp("-") {
            e = .unary("-", try parseUnary(withFilters: false), line: l)
        } else if skipOp("+") {
            e = .unary("+", try parseUnary(withFilters: false), line: l)
        } else {
            e = try parsePrimary()
        }
        e = try parsePostfix(e)
        if withFilters { e = try parseFiltersAndTests(e) }
        return e
    }

    private mutating func parsePrimary() throws -> JinjaExpr {
        guard let token = current else { throw TemplateError(line: line, "expected an expression, found end of template") }
        switch token.kind {
        case .name(let n):
            pos += 1
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n, line: token.line)
            }
        case .string(var s):
            pos += 1
            // Adjacent literals concatenate, as in Python.
            while case .string(let more)? = current?.kind { s += more; pos += 1 }
            return .literal(.string(s))
        case .integer(let i):
            pos += 1
            return .literal(.integer(i))
        case .float(let f):
            pos += 1
            return .literal(.float(f))
        case .op("("):
            pos += 1
            if skipOp(")") { return .tuple([]) }
            let first = try parseExpression()
            if skipOp(")") { return first }
            var items = [first]
            while skipOp(",") {
                if isOp(")") { break }
                items.append(try parseExpression())
            }
            try expectOp(")")
            return .tuple(items)
        case .op("["):
            pos += 1
            var items: [JinjaExpr] = []
            while !skipOp("]") {
                if !items.isEmpty { try expectOp(","); if skipOp("]") { break } }
                items.append(try parseExpression())
            }
            return .list(items)
        case .op("{"):
            pos += 1
            var pairs: [(key: JinjaExpr, value: JinjaExpr)] = []
            while !skipOp("}") {
                if !pairs.isEmpty { try expectOp(","); if skipOp("}") { break } }
                let key = try parseExpression()
                try expectOp(":")
                pairs.append((key, try parseExpression()))
            }
            return .dict(pairs, line: token.line)
        default:
            throw TemplateError(line: token.line, "expected an expression, found \(describeCurrent())")
        }
    }

    private mutating func parsePostfix(_ base: JinjaExpr) throws -> JinjaExpr {
        var e = base
        while true {
            let l = line
            if skipOp(".") {
                guard let token = current else { throw TemplateError(line: l, "expected an attribute after '.'") }
                switch token.kind {
                case .name(let n): pos += 1; e = .attribute(e, n, line: l)
                case .integer(let i): pos += 1; e = .index(e, .literal(.integer(i)), line: l)
                default: throw TemplateError(line: l, "expected an attribute after '.', found \(describeCurrent())")
                }
            } else if skipOp("[") {
                e = try parseSubscript(e, line: l)
            } else if isOp("(") {
                e = .call(e, try parseCallArguments(), line: l)
            } else {
                return e
            }
        }
    }

    /// After `[`: an index `a[i]` or a slice `a[start:stop:step]`.
    private mutating func parseSubscript(_ base: JinjaExpr, line l: Int) throws -> JinjaExpr {
        var parts: [JinjaExpr?] = []
        var current: JinjaExpr? = nil
        var sawColon = false
        while !skipOp("]") {
            if skipOp(":") {
                sawColon = true
                parts.append(current)
                current = nil
            } else {
                guard current == nil else { throw TemplateError(line: line, "expected ']' or ':', found \(describeCurrent())") }
                current = try parseExpression()
            }
        }
        parts.append(current)
        if !sawColon {
            guard let index = parts[0] else { throw TemplateError(line: l, "empty subscript '[]'") }
            return .index(base, index, line: l)
        }
        guard parts.count <= 3 else { throw TemplateError(line: l, "a slice takes at most 3 parts") }
        return .slice(base, start: parts[0], stop: parts[1], step: parts.count > 2 ? parts[2] : nil, line: l)
    }

    private mutating func parseCallArguments() throws -> JinjaArguments {
        try expectOp("(")
        var args = JinjaArguments()
        while !skipOp(")") {
            if !args.positional.isEmpty || !args.keyword.isEmpty {
                try expectOp(",")
                if skipOp(")") { break }
            }
            if isOp("*") || isOp("**") {
                throw TemplateError(line: line, "unsupported construct: '*args' / '**kwargs' in a call")
            }
            if case .name(let n)? = current?.kind, pos + 1 < tokens.count, case .op("=") = tokens[pos + 1].kind {
                pos += 2
                args.keyword.append((n, try parseExpression()))
            } else {
                guard args.keyword.isEmpty else {
                    throw TemplateError(line: line, "positional argument after a keyword argument")
                }
                args.positional.append(try parseExpression())
            }
        }
        return args
    }

    private mutating func parseFiltersAndTests(_ base: JinjaExpr) throws -> JinjaExpr {
        var e = base
        while true {
            let l = line
            if skipOp("|") {
                var name = try expectName()
                while skipOp(".") { name += "." + (try expectName()) }
                let args = isOp("(") ? try parseCallArguments() : JinjaArguments()
                e = .filter(e, name: name, args, line: l)
            } else if skipName("is") {
                let negated = skipName("not")
                var name = try expectName()
                while skipOp(".") { name += "." + (try expectName()) }
                var args = JinjaArguments()
                if isOp("(") {
                    args = try parseCallArguments()
                } else if let token = current, startsTestArgument(token.kind) {
                    args.positional = [try parsePostfix(try parsePrimary())]
                }
                e = .test(e, name: name, negated: negated, args, line: l)
            } else if isOp("(") {
                e = .call(e, try parseCallArguments(), line: l)
            } else {
                return e
            }
        }
    }

    /// jinja2 lets a test take one argument without parentheses: `x is divisibleby 3`.
    private func startsTestArgument(_ kind: JinjaToken.Kind) -> Bool {
        switch kind {
        case .name(let n): return !["else", "or", "and", "is", "if", "in", "not"].contains(n)
        case .string, .integer, .float, .op("["), .op("{"): return true
        default: return false
        }
    }
}
