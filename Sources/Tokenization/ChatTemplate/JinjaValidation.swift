/// Checks a parsed template for filters and tests outside the supported set, so that (as in
/// jinja2, which fails at compile time) a template is refused up front, even when the
/// unsupported part sits in a branch a given conversation never reaches.
enum JinjaValidation {
    static func check(_ nodes: [JinjaNode]) throws {
        for node in nodes { try check(node) }
    }

    private static func check(_ node: JinjaNode) throws {
        switch node {
        case .text, .breakLoop, .continueLoop: break
        case .output(let e, _): try check(e)
        case .ifChain(let branches, let otherwise):
            for b in branches {
                try check(b.condition)
                try check(b.body)
            }
            try check(otherwise)
        case .forLoop(_, let iterable, let filter, let body, let otherwise, _):
            try check(iterable)
            if let filter { try check(filter) }
            try check(body)
            try check(otherwise)
        case .set(_, let e, _): try check(e)
        case .setBlock(_, let body), .generation(let body): try check(body)
        case .macro(let m):
            for p in m.parameters { if let d = p.defaultValue { try check(d) } }
            try check(m.body)
        }
    }

    private static func check(_ e: JinjaExpr) throws {
        switch e {
        case .literal, .name: break
        case .list(let items), .tuple(let items): for i in items { try check(i) }
        case .dict(let pairs, _):
            for p in pairs {
                try check(p.key)
                try check(p.value)
            }
        case .attribute(let base, _, _): try check(base)
        case .index(let base, let key, _):
            try check(base)
            try check(key)
        case .slice(let base, let start, let stop, let step, _):
            try check(base)
            for part in [start, stop, step] { if let part { try check(part) } }
        case .call(let callee, let args, _):
            try check(callee)
            try check(args)
        case .filter(let base, let name, let args, let line):
            guard JinjaBuiltins.filterNames.contains(name) else {
                throw TemplateError(line: line, "unsupported construct: filter '\(name)'")
            }
            try check(base)
            try check(args)
        case .test(let base, let name, _, let args, let line):
            guard JinjaBuiltins.testNames.contains(name) else {
                throw TemplateError(line: line, "unsupported construct: test '\(name)'")
            }
            try check(base)
            try check(args)
        case .unary(_, let operand, _): try check(operand)
        case .binary(_, let a, let b, _), .logical(_, let a, let b):
            try check(a)
            try check(b)
        case .compare(let first, let ops, _):
            try check(first)
            for o in ops { try check(o.1) }
        case .conditional(let then, let condition, let otherwise):
            try check(then)
            try check(condition)
            if let otherwise { try check(otherwise) }
        }
    }

    private static func check(_ args: JinjaArguments) throws {
        for a in args.positional { try check(a) }
        for k in args.keyword { try check(k.value) }
    }
}
