import Support

/// jinja2's built-in filters and tests that chat templates use, with transformers' `tojson`
/// (`json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`, no
/// HTML escaping). An unknown name is an error that names it.
enum JinjaBuiltins {
    typealias Keywords = [(name: String, value: JinjaValue)]

    /// Matches positional and keyword arguments to parameter names; a missing one is nil.
    static func bind(_ names: [String], _ positional: [JinjaValue], _ keyword: Keywords,
                     function: String, line: Int) throws -> [JinjaValue?] {
        guard positional.count <= names.count else {
            throw TemplateError(line: line, "\(function) takes at most \(names.count) argument(s), got \(positional.count)")
        }
        var bound: [JinjaValue?] = positional.map { $0 } + Array(repeating: nil, count: names.count - positional.count)
        for (name, value) in keyword {
            guard let i = names.firstIndex(of: name) else {
                throw TemplateError(line: line, "\(function) got an unexpected keyword argument '\(name)'")
            }
            bound[i] = value
        }
        return bound
    }

    static let filterNames: Set<String> = [
        "abs", "capitalize", "count", "d", "default", "first", "float", "indent", "int", "items", "join", "last",
        "length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse", "round",
        "safe", "select", "selectattr", "sort", "string", "sum", "title", "tojson", "trim", "unique", "upper",
    ]

    static let testNames: Set<String> = [
        "!=", "<", "<=", "==", ">", ">=", "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "even",
        "false", "float", "ge", "greaterthan", "gt", "in", "integer", "iterable", "le", "lessthan", "lower", "lt",
        "mapping", "ne", "none", "number", "odd", "sameas", "sequence", "string", "true", "undefined", "upper",
    ]

    // MARK: filters

    static func filter(_ name: String, _ value: JinjaValue, _ args: [JinjaValue], _ keyword: Keywords,
                       line: Int) throws -> JinjaValue {
        func params(_ names: String...) throws -> [JinjaValue?] {
            try bind(names, args, keyword, function: "filter '\(name)'", line: line)
        }
        switch name {
        case "trim":
            let p = try params("chars")
            var chars: String? = nil
            if case .string(let c)? = p[0] { chars = c }
            return .string(PythonString.strip(value.printed(), chars: chars, leading: true, trailing: true))
        case "length", "count":
            _ = try params()
            return .int(try length(value, line: line))
        case "tojson":
            let p = try params("ensure_ascii", "indent", "separators", "sort_keys")
            return .string(try toJSON(value, ensureASCII: p[0], indent: p[1], separators: p[2], sortKeys: p[3], line: line))
        case "string":
            _ = try params()
            return .string(value.printed())
        case "safe":
            _ = try params()
            return value
        case "lower", "upper", "capitalize", "title":
            _ = try params()
            let s = value.printed()
            switch name {
            case "lower": return .string(s.lowercased())
            case "upper": return .string(s.uppercased())
            case "capitalize": return .string(PythonString.capitalize(s))
            default: return .string(PythonString.title(s))
            }
        case "default", "d":
            let p = try params("default_value", "boolean")
            let useDefault = value.isUndefined || ((p[1]?.isTruthy ?? false) && !value.isTruthy)
            return useDefault ? (p[0] ?? .string("")) : value
        case "items":
            _ = try params()
            switch value {
            case .undefined: return .list([])
            case .dict(let d): return .list(d.pairs.map { .tuple([.string($0.key), $0.value]) })
            default: throw TemplateError(line: line, "filter 'items' needs a mapping, got \(value.typeName)")
            }
        case "join":
            let p = try params("d", "attribute")
            var items = try JinjaOperators.iterate(value, line: line)
            if let a = p[1] { items = try items.map { try lookup($0, path: a, line: line) } }
            return .string(items.map { $0.printed() }.joined(separator: p[0]?.printed() ?? ""))
        case "replace":
            let p = try params("old", "new", "count")
            guard let old = p[0], let new = p[1] else { throw TemplateError(line: line, "filter 'replace' needs old and new") }
            var count = -1
            if case .int(let c)? = p[2] { count = c }
            return .string(PythonString.replace(value.printed(), old.printed(), new.printed(), count: count))
        case "first", "last":
            _ = try params()
            let items = try JinjaOperators.iterate(value, line: line)
            return (name == "first" ? items.first : items.last) ?? .undefined("\(name) of an empty sequence")
        case "list":
            _ = try params()
            return .list(try JinjaOperators.iterate(value, line: line))
        case "reverse":
            _ = try params()
            if case .string(let s) = value { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .list(try JinjaOperators.iterate(value, line: line).reversed())
        case "sort":
            let p = try params("reverse", "case_sensitive", "attribute")
            return .list(try sorted(value, reverse: p[0]?.isTruthy ?? false, caseSensitive: p[1]?.isTruthy ?? false,
                                    attribute: p[2], line: line))
        case "unique":
            let p = try params("case_sensitive", "attribute")
            var seen: [JinjaValue] = []
            var out: [JinjaValue] = []
            for item in try JinjaOperators.iterate(value, line: line) {
                var key = try p[1].map { try lookup(item, path: $0, line: line) } ?? item
                if !(p[0]?.isTruthy ?? false), case .string(let s) = key { key = .string(s.lowercased()) }
                if !seen.contains(where: { JinjaOperators.equals($0, key) }) { seen.append(key); out.append(item) }
            }
            return .list(out)
        case "selectattr", "rejectattr":
            guard let attribute = args.first else { throw TemplateError(line: line, "filter '\(name)' needs an attribute name") }
            let keep = name == "selectattr"
            return .list(try JinjaOperators.iterate(value, line: line).filter { item in
                try passes(try lookup(item, path: attribute, line: line), Array(args.dropFirst()), keyword, line: line) == keep
            })
        case "select", "reject":
            let keep = name == "select"
            return .list(try JinjaOperators.iterate(value, line: line).filter { item in
                try passes(item, args, keyword, line: line) == keep
            })
        case "map":
            let items = try JinjaOperators.iterate(value, line: line)
            if let attribute = keyword.first(where: { $0.name == "attribute" })?.value {
                let fallback = keyword.first(where: { $0.name == "default" })?.value
                return .list(try items.map { item in
                    let v = try lookup(item, path: attribute, line: line)
                    if v.isUndefined, let fallback { return fallback }
                    return v
                })
            }
            guard case .string(let filterName)? = args.first else {
                throw TemplateError(line: line, "filter 'map' needs a filter name or attribute=")
            }
            guard filterNames.contains(filterName) else {
                throw TemplateError(line: line, "unsupported construct: filter '\(filterName)'")
            }
            return .list(try items.map { try filter(filterName, $0, Array(args.dropFirst()), keyword, line: line) })
        case "abs":
            _ = try params()
            switch value {
            case .int(let i) where i != Int.min: return .int(abs(i))
            case .float(let d): return .float(abs(d))
            case .bool(let b): return .int(b ? 1 : 0)
            default: throw TemplateError(line: line, "bad operand type for abs(): '\(value.typeName)'")
            }
        case "int":
            let p = try params("default", "base")
            return try toInt(value, line: line) ?? p[0] ?? .int(0)
        case "float":
            let p = try params("default")
            switch value {
            case .int(let i): return .float(Double(i))
            case .bool(let b): return .float(b ? 1 : 0)
            case .float: return value
            case .string(let s): return Double(PythonString.strip(s, chars: nil, leading: true, trailing: true)).map { .float($0) } ?? p[0] ?? .float(0)
            default: return p[0] ?? .float(0)
            }
        case "round":
            let p = try params("precision", "method")
            guard case .int(let precision) = p[0] ?? .int(0), precision == 0 else {
                throw TemplateError(line: line, "unsupported construct: filter 'round' with a precision")
            }
            let method = p[1]?.printed() ?? "common"
            let d: Double
            switch value {
            case .int(let i): d = Double(i)
            case .float(let f): d = f
            default: throw TemplateError(line: line, "filter 'round' needs a number, got \(value.typeName)")
            }
            switch method {
            case "common": return .float(d.rounded(.toNearestOrEven))  // Python round(): half to even
            case "ceil": return .float(d.rounded(.up))
            case "floor": return .float(d.rounded(.down))
            default: throw TemplateError(line: line, "filter 'round': method must be common, ceil or floor")
            }
        case "max", "min":
            let p = try params("case_sensitive", "attribute")
            let items = try sorted(value, reverse: name == "max", caseSensitive: p[0]?.isTruthy ?? false, attribute: p[1], line: line)
            return items.first ?? .undefined("\(name) of an empty sequence")
        case "sum":
            let p = try params("attribute", "start")
            var total = p[1] ?? .int(0)
            for item in try JinjaOperators.iterate(value, line: line) {
                total = try JinjaOperators.binary("+", total, try p[0].map { try lookup(item, path: $0, line: line) } ?? item, line: line)
            }
            return total
        case "indent":
            let p = try params("width", "first", "blank")
            let pad: String
            switch p[0] ?? .int(4) {
            case .int(let n): pad = String(repeating: " ", count: max(n, 0))
            case .string(let s): pad = s
            default: throw TemplateError(line: line, "filter 'indent': width must be an integer or a string")
            }
            var lines = PythonString.split(value.printed(), separator: "\n", maxSplit: -1)
            for i in lines.indices where (i > 0 || (p[1]?.isTruthy ?? false)) && (!lines[i].isEmpty || (p[2]?.isTruthy ?? false)) {
                lines[i] = pad + lines[i]
            }
            return .string(lines.joined(separator: "\n"))
        default:
            throw TemplateError(line: line, "unsupported construct: filter '\(name)'")
        }
    }

    static func length(_ value: JinjaValue, line: Int) throws -> Int {
        switch value {
        case .undefined: return 0
        case .string(let s): return s.unicodeScalars.count
        case .list(let a), .tuple(let a): return a.count
        case .dict(let d): return d.count
        case .namespace(let ns): return ns.attributes.count
        default: throw TemplateError(line: line, "object of type '\(value.typeName)' has no len()")
        }
    }

    private static func toInt(_ value: JinjaValue, line: Int) throws -> JinjaValue? {
        switch value {
        case .int: return value
        case .bool(let b): return .int(b ? 1 : 0)
        case .float(let d): return d.isFinite && abs(d) < 9.2e18 ? .int(Int(d)) : nil
        case .string(let s):
            let t = PythonString.strip(s, chars: nil, leading: true, trailing: true)
            if let i = Int(t) { return .int(i) }
            if let d = Double(t), d.isFinite, abs(d) < 9.2e18 { return .int(Int(d)) }
            return nil
        default: return nil
        }
    }

    /// `json.dumps` with transformers' defaults; `separators` is an (item, key) pair.
    private static func toJSON(_ value: JinjaValue, ensureASCII: JinjaValue?, indent: JinjaValue?,
                               separators: JinjaValue?, sortKeys: JinjaValue?, line: Int) throws -> String {
        var indentWidth: Int? = nil
        switch indent {
        case nil, .none?: break
        case .int(let n)?: indentWidth = max(n, 0)
        default: throw TemplateError(line: line, "unsupported construct: tojson indent of type \(indent?.typeName ?? "")")
        }
        var options = JSON.WriteOptions(indent: indentWidth, ensureASCII: ensureASCII?.isTruthy ?? false,
                                        sortKeys: sortKeys?.isTruthy ?? false)
        switch separators {
        case nil, .none?: break
        case .list(let pair)?, .tuple(let pair)?:
            guard pair.count == 2, case .string(let item) = pair[0], case .string(let key) = pair[1] else {
                throw TemplateError(line: line, "tojson separators must be a pair of strings")
            }
            options.itemSeparator = item
            options.keySeparator = key
        default:
            throw TemplateError(line: line, "tojson separators must be a pair of strings")
        }
        return try value.toJSON(line: line).serialized(options)
    }

    /// `a.b.0`-style attribute paths of `map`, `selectattr`, `sort`... (items first, as jinja2).
    private static func lookup(_ item: JinjaValue, path: JinjaValue, line: Int) throws -> JinjaValue {
        guard case .string(let p) = path else {
            if case .int = path { return try item.item(path, line: line) }
            throw TemplateError(line: line, "attribute name must be a string, got \(path.typeName)")
        }
        var v = item
        for part in p.split(separator: ".", omittingEmptySubsequences: false) {
            v = try v.item(Int(part).map { .int($0) } ?? .string(String(part)), line: line)
        }
        return v
    }

    private static func sorted(_ value: JinjaValue, reverse: Bool, caseSensitive: Bool, attribute: JinjaValue?,
                               line: Int) throws -> [JinjaValue] {
        let items = try JinjaOperators.iterate(value, line: line)
        let keys = try items.map { item -> JinjaValue in
            let k = try attribute.map { try lookup(item, path: $0, line: line) } ?? item
            if !caseSensitive, case .string(let s) = k { return .string(s.lowercased()) }
            return k
        }
        var order = Array(items.indices)
        var failure: Error? = nil
        // Stable, like Python's sort; `reverse` keeps equal items in their original order.
        order = try mergeSorted(order) { a, b in
            do {
                return try JinjaOperators.compare(reverse ? ">" : "<", keys[a], keys[b], line: line)
            } catch {
                failure = error
                return false
            }
        }
        if let failure { throw failure }
        return order.map { items[$0] }
    }

    private static func mergeSorted(_ a: [Int], by less: (Int, Int) throws -> Bool) throws -> [Int] {
        guard a.count > 1 else { return a }
        let mid = a.count / 2
        let left = try mergeSorted(Array(a[..<mid]), by: less), right = try mergeSorted(Array(a[mid...]), by: less)
        var out: [Int] = []
        out.reserveCapacity(a.count)
        var i = 0, j = 0
        while i < left.count && j < right.count {
            if try less(right[j], left[i]) { out.append(right[j]); j += 1 } else { out.append(left[i]); i += 1 }
        }
        out += left[i...]
        out += right[j...]
        return out
    }

    /// `select`/`reject` argument lists: a test name (default: truthiness) and its arguments.
    private static func passes(_ value: JinjaValue, _ args: [JinjaValue], _ keyword: Keywords, line: Int) throws -> Bool {
        guard let first = args.first else { return value.isTruthy }
        guard case .string(let testName) = first else {
            throw TemplateError(line: line, "test name must be a string, got \(first.typeName)")
        }
        guard testNames.contains(testName) else { throw TemplateError(line: line, "unsupported construct: test '\(testName)'") }
        return try test(testName, value, Array(args.dropFirst()), line: line)
    }

    // MARK: tests

    static func test(_ name: String, _ value: JinjaValue, _ args: [JinjaValue], line: Int) throws -> Bool {
        func argument() throws -> JinjaValue {
            guard args.count == 1 else { throw TemplateError(line: line, "test '\(name)' takes exactly 1 argument") }
            return args[0]
        }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": if case .none = value { return true }; return false
        case "boolean": if case .bool = value { return true }; return false
        case "true": if case .bool(true) = value { return true }; return false
        case "false": if case .bool(false) = value { return true }; return false
        case "integer": if case .int = value { return true }; return false
        case "float": if case .float = value { return true }; return false
        case "number":
            switch value { case .int, .float, .bool: return true; default: return false }
        case "string": if case .string = value { return true }; return false
        case "mapping": if case .dict = value { return true }; return false
        case "callable": if case .function = value { return true }; return false
        case "iterable", "sequence":
            switch value { case .undefined, .string, .list, .tuple, .dict: return true; default: return false }
        case "lower", "upper":
            let s = value.printed()
            let hasCased = s.unicodeScalars.contains { $0.properties.isCased }
            return hasCased && (name == "lower" ? s.lowercased() == s : s.uppercased() == s)
        case "odd", "even", "divisibleby":
            guard case .int(let i)? = try toInt(value, line: line), value.isNumberLike else {
                throw TemplateError(line: line, "test '\(name)' needs an integer, got \(value.typeName)")
            }
            if name == "divisibleby" {
                guard case .int(let n) = try argument(), n != 0 else {
                    throw TemplateError(line: line, "test 'divisibleby' needs a non-zero integer")
                }
                return i % n == 0
            }
            return (i % 2 != 0) == (name == "odd")
        case "eq", "equalto", "==": return JinjaOperators.equals(value, try argument())
        case "ne", "!=": return !JinjaOperators.equals(value, try argument())
        case "lt", "lessthan", "<": return try JinjaOperators.compare("<", value, try argument(), line: line)
        case "le", "<=": return try JinjaOperators.compare("<=", value, try argument(), line: line)
        case "gt", "greaterthan", ">": return try JinjaOperators.compare(">", value, try argument(), line: line)
        case "ge", ">=": return try JinjaOperators.compare(">=", value, try argument(), line: line)
        case "in": return try JinjaOperators.contains(try argument(), value, line: line)
        case "sameas":
            let other = try argument()
            switch (value, other) {
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.namespace(let a), .namespace(let b)): return a === b
            default: return false
            }
        default:
            throw TemplateError(line: line, "unsupported construct: test '\(name)'")
        }
    }
}

extension JinjaValue {
    fileprivate var isNumberLike: Bool {
        switch self { case .int, .float, .bool: return true; default: return false }
    }
}
