#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Python's arithmetic, comparison and membership on template values. `bool` counts as an
/// integer, as in Python (`True + 1 == 2`).
enum JinjaOperators {
    private enum Number {
        case int(Int)
        case float(Double)
        var double: Double {
            switch self {
            case .int(let i): return Double(i)
            case .float(let d): return d
            }
        }
    }

    private static func number(_ v: JinjaValue) -> Number? {
        switch v {
        case .bool(let b): return .int(b ? 1 : 0)
        case .int(let i): return .int(i)
        case .float(let d): return .float(d)
        default: return nil
        }
    }

    static func undefinedError(_ name: String, line: Int) -> TemplateError {
        TemplateError(line: line, "'\(name)' is undefined")
    }

    private static func typeError(_ op: String, _ a: JinjaValue, _ b: JinjaValue, line: Int) -> TemplateError {
        TemplateError(line: line, "unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'")
    }

    private static func overflow(_ op: String, line: Int) -> TemplateError {
        TemplateError(line: line, "integer overflow in '\(op)'")
    }

    static func binary(_ op: String, _ a: JinjaValue, _ b: JinjaValue, line: Int) throws -> JinjaValue {
        if op == "~" { return .string(a.printed() + b.printed()) }
        if case .undefined(let n) = a { throw undefinedError(n, line: line) }
        if case .undefined(let n) = b { throw undefinedError(n, line: line) }
        if let x = number(a), let y = number(b) { return try arithmetic(op, x, y, line: line) }
        switch (op, a, b) {
        case ("+", .string(let x), .string(let y)): return .string(x + y)
        case ("+", .list(let x), .list(let y)): return .list(x + y)
        case ("+", .tuple(let x), .tuple(let y)): return .tuple(x + y)
        case ("*", .string(let s), _), ("*", _, .string(let s)):
            guard let n = repeatCount(a, b) else { throw typeError(op, a, b, line: line) }
            return .string(String(repeating: s, count: n))
        case ("*", .list(let l), _), ("*", _, .list(let l)):
            guard let n = repeatCount(a, b) else { throw typeError(op, a, b, line: line) }
            return .list(Array([[JinjaValue]](repeating: l, count: n).joined()))
        case ("%", .string, _):
            throw TemplateError(line: line, "unsupported construct: printf-style '%' string formatting")
        default:
            throw typeError(op, a, b, line: line)
        }
    }

    private static func repeatCount(_ a: JinjaValue, _ b: JinjaValue) -> Int? {
        if case .int(let n)? = number(a) { return max(n, 0) }
        if case .int(let n)? = number(b) { return max(n, 0) }
        return nil
    }

    private static func arithmetic(_ op: String, _ x: Number, _ y: Number, line: Int) throws -> JinjaValue {
        if case .int(let a) = x, case .int(let b) = y {
            switch op {
            case "+":
                let (r, o) = a.addingReportingOverflow(b); if o { throw overflow(op, line: line) }; return .int(r)
            case "-":
                let (r, o) = a.subtractingReportingOverflow(b); if o { throw overflow(op, line: line) }; return .int(r)
            case "*":
                let (r, o) = a.multipliedReportingOverflow(by: b); if o { throw overflow(op, line: line) }; return .int(r)
            case "//", "%":
                guard b != 0 else { throw TemplateError(line: line, "integer division or modulo by zero") }
                // Python floors toward negative infinity.
                var q = a / b
                var r = a % b
                if r != 0 && (r < 0) != (b < 0) { q -= 1; r += b }
                return .int(op == "//" ? q : r)
            case "**" where b >= 0:
                var result = 1
                for _ in 0..<b {
                    let (r, o) = result.multipliedReportingOverflow(by: a)
                    if o { throw overflow(op, line: line) }
                    result = r
                }
                return .int(result)
            default:
                break
            }
        }
        let a = x.double, b = y.double
        switch op {
        case "+": return .float(a + b)
        case "-": return .float(a - b)
        case "*": return .float(a * b)
        case "/":
            guard b != 0 else { throw TemplateError(line: line, "division by zero") }
            return .float(a / b)
        case "//":
            guard b != 0 else { throw TemplateError(line: line, "float floor division by zero") }
            return .float((a / b).rounded(.down))
        case "%":
            guard b != 0 else { throw TemplateError(line: line, "float modulo by zero") }
            var r = fmod(a, b)
            if r != 0 && (r < 0) != (b < 0) { r += b }
            return .float(r)
        case "**": return .float(pow(a, b))
        default: throw TemplateError(line: line, "unknown operator '\(op)'")
        }
    }

    static func negate(_ v: JinjaValue, line: Int) throws -> JinjaValue {
        switch number(v) {
        case .int(let i)?:
            guard i != Int.min else { throw overflow("-", line: line) }
            return .int(-i)
        case .float(let d)?: return .float(-d)
        case nil:
            if case .undefined(let n) = v { throw undefinedError(n, line: line) }
            throw TemplateError(line: line, "bad operand type for unary -: '\(v.typeName)'")
        }
    }

    /// Python `==`: numbers by value across int/float/bool, containers element by element,
    /// dicts regardless of key order; two undefined values are equal (as in jinja2).
    static func equals(_ a: JinjaValue, _ b: JinjaValue) -> Bool {
        if let x = number(a), let y = number(b) {
            if case .int(let i) = x, case .int(let j) = y { return i == j }
            return x.double == y.double
        }
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let x), .string(let y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
        case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equals($0, $1) }
        case (.dict(let x), .dict(let y)):
            return x.count == y.count && x.pairs.allSatisfy { p in y[p.key].map { equals(p.value, $0) } ?? false }
        case (.namespace(let x), .namespace(let y)): return x === y
        default: return false
        }
    }

    /// Python ordering (`<`, `<=`, `>`, `>=`) of numbers, strings (by code point) and sequences.
    static func compare(_ op: String, _ a: JinjaValue, _ b: JinjaValue, line: Int) throws -> Bool {
        let order = try ordering(a, b, op: op, line: line)
        switch op {
        case "<": return order < 0
        case "<=": return order <= 0
        case ">": return order > 0
        default: return order >= 0
        }
    }

    /// -1, 0 or 1.
    private static func ordering(_ a: JinjaValue, _ b: JinjaValue, op: String, line: Int) throws -> Int {
        if let x = number(a), let y = number(b) {
            if case .int(let i) = x, case .int(let j) = y { return i < j ? -1 : i > j ? 1 : 0 }
            let (p, q) = (x.double, y.double)
            return p < q ? -1 : p > q ? 1 : 0
        }
        switch (a, b) {
        case (.string(let x), .string(let y)):
            for (u, v) in zip(x.unicodeScalars, y.unicodeScalars) where u != v { return u.value < v.value ? -1 : 1 }
            let (m, n) = (x.unicodeScalars.count, y.unicodeScalars.count)
            return m < n ? -1 : m > n ? 1 : 0
        case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
            for (u, v) in zip(x, y) where !equals(u, v) { return try ordering(u, v, op: op, line: line) }
            return x.count < y.count ? -1 : x.count > y.count ? 1 : 0
        default:
            if case .undefined(let n) = a { throw undefinedError(n, line: line) }
            if case .undefined(let n) = b { throw undefinedError(n, line: line) }
            throw TemplateError(line: line, "'\(op)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
        }
    }

    /// Python `needle in container`.
    static func contains(_ container: JinjaValue, _ needle: JinjaValue, line: Int) throws -> Bool {
        switch container {
        case .string(let s):
            guard case .string(let n) = needle else {
                throw TemplateError(line: line, "'in <string>' requires string as left operand, not \(needle.typeName)")
            }
            return n.isEmpty || s.unicodeScalars.firstRange(of: n.unicodeScalars) != nil
        case .list(let items), .tuple(let items):
            return items.contains { equals($0, needle) }
        case .dict(let d):
            if case .string(let k) = needle { return d[k] != nil }
            return false
        case .undefined:
            return false
        default:
            throw TemplateError(line: line, "argument of type '\(container.typeName)' is not iterable")
        }
    }

    /// The items a `for` loop visits: list items, dict keys, string characters (code points).
    static func iterate(_ v: JinjaValue, line: Int) throws -> [JinjaValue] {
        switch v {
        case .list(let a), .tuple(let a): return a
        case .dict(let d): return d.keys.map { .string($0) }
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        default: throw TemplateError(line: line, "'\(v.typeName)' object is not iterable")
        }
    }
}
