/// Renders a parsed template. Scoping follows jinja2: `if` shares its enclosing scope; each
/// iteration of a `for` loop and each macro call gets a fresh scope on top of it, so a
/// `set` inside a loop is not seen after it (use a namespace for that).
final class JinjaInterpreter {
    private var scopes: [[String: JinjaValue]]
    private var output = ""

    private enum Flow { case normal, breakLoop, continueLoop }

    /// `context` holds the variables given to `render` (they shadow the globals).
    init(context: [String: JinjaValue]) {
        scopes = [context]
    }

    func render(_ nodes: [JinjaNode]) throws -> String {
        switch try execute(nodes) {
        case .normal: return output
        case .breakLoop, .continueLoop: throw TemplateError(line: 1, "'break' or 'continue' outside a loop")
        }
    }

    // MARK: statements

    private func execute(_ nodes: [JinjaNode]) throws -> Flow {
        for node in nodes {
            let flow = try execute(node)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func execute(_ node: JinjaNode) throws -> Flow {
        switch node {
        case .text(let t):
            output += t
        case .output(let e, _):
            output += try evaluate(e).printed()
        case .ifChain(let branches, let otherwise):
            for branch in branches where try evaluate(branch.condition).isTruthy {
                return try execute(branch.body)
            }
            return try execute(otherwise)
        case .forLoop(let target, let iterable, let filter, let body, let otherwise, let line):
            return try runLoop(target: target, iterable: iterable, filter: filter, body: body, otherwise: otherwise, line: line)
        case .set(let target, let e, let line):
            try assign(target, try evaluate(e), line: line)
        case .setBlock(let name, let body):
            scopes[scopes.count - 1][name] = .string(try capture(body))
        case .macro(let m):
            scopes[scopes.count - 1][m.name] = macroFunction(m)
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        case .generation(let body):
            return try execute(body)
        }
        return .normal
    }

    private func runLoop(target: JinjaTarget, iterable: JinjaExpr, filter: JinjaExpr?, body: [JinjaNode],
                         otherwise: [JinjaNode], line: Int) throws -> Flow {
        var items = try JinjaOperators.iterate(try evaluate(iterable), line: line)
        if let filter {
            items = try items.filter { item in
                scopes.append([:])
                defer { scopes.removeLast() }
                try assign(target, item, line: line)
                return try evaluate(filter).isTruthy
            }
        }
        if items.isEmpty { return try execute(otherwise) }
        for (i, item) in items.enumerated() {
            scopes.append(["loop": loopVariable(index: i, items: items)])
            defer { scopes.removeLast() }
            try assign(target, item, line: line)
            if try execute(body) == .breakLoop { break }
        }
        return .normal
    }

    /// jinja2's `loop` object.
    private func loopVariable(index i: Int, items: [JinjaValue]) -> JinjaValue {
        var loop = JinjaDict()
        loop["index"] = .int(i + 1)
        loop["index0"] = .int(i)
        loop["revindex"] = .int(items.count - i)
        loop["revindex0"] = .int(items.count - i - 1)
        loop["first"] = .bool(i == 0)
        loop["last"] = .bool(i == items.count - 1)
        loop["length"] = .int(items.count)
        loop["depth"] = .int(1)
        loop["depth0"] = .int(0)
        if i > 0 { loop["previtem"] = items[i - 1] }
        if i + 1 < items.count { loop["nextitem"] = items[i + 1] }
        loop["cycle"] = .function(JinjaFunction(name: "loop.cycle") { args, _, line in
            guard !args.isEmpty else { throw TemplateError(line: line, "loop.cycle() needs at least one argument") }
            return args[i % args.count]
        })
        return .dict(loop)
    }

    private func assign(_ target: JinjaTarget, _ value: JinjaValue, line: Int) throws {
        switch target {
        case .name(let n):
            scopes[scopes.count - 1][n] = value
        case .attribute(let object, let attribute):
            guard case .namespace(let ns) = lookup(object) else {
                throw TemplateError(line: line, "cannot assign attribute '\(attribute)' on '\(object)': only namespace() objects can be assigned to")
            }
            ns.attributes[attribute] = value
        case .tuple(let targets):
            let items: [JinjaValue]
            switch value {
            case .list(let a), .tuple(let a): items = a
            case .string(let s): items = s.unicodeScalars.map { .string(String($0)) }
            default: throw TemplateError(line: line, "cannot unpack a value of type \(value.typeName)")
            }
            guard items.count == targets.count else {
                throw TemplateError(line: line, "cannot unpack \(items.count) values into \(targets.count) names")
            }
            for (t, v) in zip(targets, items) { try assign(t, v, line: line) }
        }
    }

    /// Renders `nodes` into a string of their own instead of the output.
    private func capture(_ nodes: [JinjaNode]) throws -> String {
        let saved = output
        output = ""
        defer { output = saved }
        if try execute(nodes) != .normal { throw TemplateError(line: 1, "'break' or 'continue' outside a loop") }
        return output
    }

    private func macroFunction(_ m: JinjaMacro) -> JinjaValue {
        .function(JinjaFunction(name: m.name) { [unowned self] positional, keyword, line in
            guard positional.count <= m.parameters.count else {
                throw TemplateError(line: line, "macro '\(m.name)' takes \(m.parameters.count) argument(s), got \(positional.count)")
            }
            var scope: [String: JinjaValue] = [:]
            for (i, p) in m.parameters.enumerated() {
                if i < positional.count {
                    scope[p.name] = positional[i]
                } else if let k = keyword.first(where: { $0.name == p.name }) {
                    scope[p.name] = k.value
                } else {
                    scope[p.name] = try p.defaultValue.map { try self.evaluate($0) } ?? .undefined(p.name)
                }
            }
            for k in keyword where !m.parameters.contains(where: { $0.name == k.name }) {
                throw TemplateError(line: line, "macro '\(m.name)' has no parameter '\(k.name)'")
            }
            self.scopes.append(scope)
            defer { self.scopes.removeLast() }
            return .string(try self.capture(m.body))
        })
    }

    // MARK: expressions

    private func lookup(_ name: String) -> JinjaValue {
        for scope in scopes.reversed() {
            if let v = scope[name] { return v }
        }
        return JinjaGlobals.value(name) ?? .undefined(name)
    }

    private func evaluate(_ e: JinjaExpr) throws -> JinjaValue {
        switch e {
        case .literal(let l):
            switch l {
            case .none: return .none
            case .bool(let b): return .bool(b)
            case .integer(let i): return .int(i)
            case .float(let d): return .float(d)
            case .string(let s): return .string(s)
            }
        case .name(let n, _):
            return lookup(n)
        case .list(let items):
            return .list(try items.map(evaluate))
        case .tuple(let items):
            return .tuple(try items.map(evaluate))
        case .dict(let pairs, let line):
            var d = JinjaDict()
            for (k, v) in pairs {
                guard case .string(let key) = try evaluate(k) else {
                    throw TemplateError(line: line, "unsupported construct: dict literal with a non-string key")
                }
                d[key] = try evaluate(v)
            }
            return .dict(d)
        case .attribute(let base, let name, let line):
            return try evaluate(base).attribute(name, line: line)
        case .index(let base, let key, let line):
            return try evaluate(base).item(try evaluate(key), line: line)
        case .slice(let base, let start, let stop, let step, let line):
            let value = try evaluate(base)
            func part(_ p: JinjaExpr?) throws -> JinjaValue { try p.map(evaluate) ?? .none }
            return try value.slice(start: try part(start), stop: try part(stop), step: try part(step), line: line)
        case .call(let callee, let args, let line):
            let f = try evaluate(callee)
            let (positional, keyword) = try evaluate(args)
            switch f {
            case .function(let function): return try function.call(positional, keyword, line)
            case .undefined(let n): throw JinjaOperators.undefinedError(n, line: line)
            default: throw TemplateError(line: line, "'\(f.typeName)' object is not callable")
            }
        case .filter(let base, let name, let args, let line):
            let value = try evaluate(base)
            let (positional, keyword) = try evaluate(args)
            return try JinjaBuiltins.filter(name, value, positional, keyword, line: line)
        case .test(let base, let name, let negated, let args, let line):
            let value = try evaluate(base)
            let (positional, keyword) = try evaluate(args)
            guard keyword.isEmpty else { throw TemplateError(line: line, "unsupported construct: keyword arguments to test '\(name)'") }
            return .bool(try JinjaBuiltins.test(name, value, positional, line: line) != negated)
        case .unary(let op, let operand, let line):
            let v = try evaluate(operand)
            switch op {
            case "not": return .bool(!v.isTruthy)
            case "-": return try JinjaOperators.negate(v, line: line)
            default:
                _ = try JinjaOperators.negate(v, line: line)  // type check: +x needs a number
                return v
            }
        case .binary(let op, let a, let b, let line):
            return try JinjaOperators.binary(op, try evaluate(a), try evaluate(b), line: line)
        case .logical(let isAnd, let a, let b):
            // Python returns the deciding operand, not a bool.
            let left = try evaluate(a)
            return left.isTruthy == isAnd ? try evaluate(b) : left
        case .compare(let first, let ops, let line):
            var left = try evaluate(first)
            for (op, e) in ops {
                let right = try evaluate(e)
                let holds: Bool
                switch op {
                case "==": holds = JinjaOperators.equals(left, right)
                case "!=": holds = !JinjaOperators.equals(left, right)
                case "in": holds = try JinjaOperators.contains(right, left, line: line)
                case "not in": holds = !(try JinjaOperators.contains(right, left, line: line))
                default: holds = try JinjaOperators.compare(op, left, right, line: line)
                }
                if !holds { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .conditional(let then, let condition, let otherwise):
            if try evaluate(condition).isTruthy { return try evaluate(then) }
            return try otherwise.map(evaluate) ?? .undefined("conditional expression without else")
        }
    }

    private func evaluate(_ args: JinjaArguments) throws -> ([JinjaValue], JinjaBuiltins.Keywords) {
        (try args.positional.map(evaluate), try args.keyword.map { ($0.name, try evaluate($0.value)) })
    }
}
