/// `a.b`, `a[k]`, `a[i:j:k]` and the Python methods templates call on strings, dicts and
/// lists. As in jinja2, `a.b` prefers a method of that name and `a[k]` prefers an item; a
/// missing item is undefined, and methods that would modify data are refused (jinja2's
/// immutable sandbox does the same).
extension JinjaValue {
    func attribute(_ name: String, line: Int) throws -> JinjaValue {
        switch self {
        case .undefined(let n):
            throw JinjaOperators.undefinedError(n, line: line)
        case .dict(let d):
            if let m = try method(name, line: line) { return m }
            return d[name] ?? .undefined(name)
        case .namespace(let ns):
            return ns.attributes[name] ?? .undefined(name)
        default:
            return try method(name, line: line) ?? .undefined(name)
        }
    }

    func item(_ key: JinjaValue, line: Int) throws -> JinjaValue {
        switch (self, key) {
        case (.undefined(let n), _):
            throw JinjaOperators.undefinedError(n, line: line)
        case (.dict(let d), .string(let k)):
            if let v = d[k] { return v }
            return try method(k, line: line) ?? .undefined(k)
        case (.namespace, .string(let k)):
            return try attribute(k, line: line)
        case (.list(let a), _), (.tuple(let a), _):
            guard let i = JinjaValue.index(key, count: a.count) else { return .undefined("[\(key.repr())]") }
            return a[i]
        case (.string(let s), _):
            let scalars = Array(s.unicodeScalars)
            guard let i = JinjaValue.index(key, count: scalars.count) else { return .undefined("[\(key.repr())]") }
            return .string(String(scalars[i]))
        default:
            return .undefined("[\(key.repr())]")
        }
    }

    /// A Python index (negative counts from the end) into `count` items, or nil when out of range.
    private static func index(_ key: JinjaValue, count: Int) -> Int? {
        let i: Int
        switch key {
        case .int(let v): i = v
        case .bool(let b): i = b ? 1 : 0
        default: return nil
        }
        let j = i < 0 ? i + count : i
        return j >= 0 && j < count ? j : nil
    }

    func slice(start: JinjaValue, stop: JinjaValue, step: JinjaValue, line: Int) throws -> JinjaValue {
        func bound(_ v: JinjaValue, _ what: String) throws -> Int? {
            switch v {
            case .none, .undefined: return nil
            case .int(let i): return i
            case .bool(let b): return b ? 1 : 0
            default: throw TemplateError(line: line, "slice \(what) must be an integer or none, not \(v.typeName)")
            }
        }
        let stepValue = try bound(step, "step") ?? 1
        guard stepValue != 0 else { throw TemplateError(line: line, "slice step cannot be zero") }
        let (first, last) = (try bound(start, "start"), try bound(stop, "stop"))
        func picked(_ count: Int) -> [Int] {
            pythonSliceIndices(count: count, start: first, stop: last, step: stepValue)
        }
        switch self {
        case .list(let a): return .list(picked(a.count).map { a[$0] })
        case .tuple(let a): return .tuple(picked(a.count).map { a[$0] })
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            return .string(String(String.UnicodeScalarView(picked(scalars.count).map { scalars[$0] })))
        case .undefined(let n): throw JinjaOperators.undefinedError(n, line: line)
        default: throw TemplateError(line: line, "'\(typeName)' object is not subscriptable")
        }
    }

    /// The indices Python's `range(*slice(start, stop, step).indices(count))` visits.
    private func pythonSliceIndices(count: Int, start: Int?, stop: Int?, step: Int) -> [Int] {
        func clamp(_ v: Int?, _ defaultValue: Int, low: Int, high: Int) -> Int {
            guard var x = v else { return defaultValue }
            if x < 0 { x += count }
            return min(max(x, low), high)
        }
        if step > 0 {
            let a = clamp(start, 0, low: 0, high: count), b = clamp(stop, count, low: 0, high: count)
            return a < b ? Array(stride(from: a, to: b, by: step)) : []
        }
        let a = clamp(start, count - 1, low: -1, high: count - 1), b = clamp(stop, -1, low: -1, high: count - 1)
        return a > b ? Array(stride(from: a, to: b, by: step)) : []
    }

    // MARK: methods

    private static let mutatingMethods: Set<String> = [
        "append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
        "update", "setdefault", "popitem",
    ]

    /// The bound method `name` of this value, nil when the type has no such method.
    private func method(_ name: String, line: Int) throws -> JinjaValue? {
        let implementation: (([JinjaValue], Int) throws -> JinjaValue)?
        switch self {
        case .string(let s): implementation = JinjaValue.stringMethod(s, name)
        case .dict(let d): implementation = JinjaValue.dictMethod(d, name)
        case .list(let a), .tuple(let a): implementation = JinjaValue.listMethod(a, name)
        default: implementation = nil
        }
        if let implementation {
            let qualified = "\(typeName).\(name)"
            return .function(JinjaFunction(name: qualified) { positional, keyword, callLine in
                guard keyword.isEmpty else {
                    throw TemplateError(line: callLine, "unsupported construct: keyword arguments to \(qualified)()")
                }
                return try implementation(positional, callLine)
            })
        }
        switch self {
        case .list, .tuple, .dict:
            if JinjaValue.mutatingMethods.contains(name) {
                throw TemplateError(line: line, "unsupported construct: \(typeName).\(name)() (templates cannot modify data)")
            }
        default: break
        }
        return nil
    }

    private static func argumentError(_ method: String, line: Int, _ expected: String) -> TemplateError {
        TemplateError(line: line, "\(method)() takes \(expected)")
    }

    private static func stringArgument(_ args: [JinjaValue], _ i: Int, _ method: String, line: Int) throws -> String? {
        guard i < args.count else { return nil }
        switch args[i] {
        case .string(let s): return s
        case .none: return nil
        default: throw TemplateError(line: line, "\(method)() argument \(i + 1) must be str or None, not \(args[i].typeName)")
        }
    }

    private static func stringMethod(_ s: String, _ name: String) -> (([JinjaValue], Int) throws -> JinjaValue)? {
        switch name {
        case "strip", "lstrip", "rstrip":
            return { args, line in
                guard args.count <= 1 else { throw argumentError("str.\(name)", line: line, "at most 1 argument") }
                let chars = try stringArgument(args, 0, "str.\(name)", line: line)
                return .string(PythonString.strip(s, chars: chars, leading: name != "rstrip", trailing: name != "lstrip"))
            }
        case "split":
            return { args, line in
                guard args.count <= 2 else { throw argumentError("str.split", line: line, "at most 2 arguments") }
                let sep = try stringArgument(args, 0, "str.split", line: line)
                var maxSplit = -1
                if args.count == 2 {
                    guard case .int(let m) = args[1] else { throw argumentError("str.split", line: line, "an integer maxsplit") }
                    maxSplit = m
                }
                if sep == "" { throw TemplateError(line: line, "str.split(): empty separator") }
                return .list(PythonString.split(s, separator: sep, maxSplit: maxSplit).map { .string($0) })
            }
        case "startswith", "endswith":
            return { args, line in
                guard args.count == 1 else { throw argumentError("str.\(name)", line: line, "exactly 1 argument") }
                let candidates: [JinjaValue]
                if case .tuple(let t) = args[0] { candidates = t } else { candidates = [args[0]] }
                let text = Array(s.unicodeScalars)
                for c in candidates {
                    guard case .string(let affix) = c else {
                        throw TemplateError(line: line, "str.\(name)() argument must be str or a tuple of str, not \(c.typeName)")
                    }
                    let a = Array(affix.unicodeScalars)
                    if name == "startswith" ? text.starts(with: a) : text.reversed().starts(with: a.reversed()) {
                        return .bool(true)
                    }
                }
                return .bool(false)
            }
        case "upper", "lower", "title", "capitalize":
            return { args, line in
                guard args.isEmpty else { throw argumentError("str.\(name)", line: line, "no arguments") }
                switch name {
                case "upper": return .string(s.uppercased())
                case "lower": return .string(s.lowercased())
                case "title": return .string(PythonString.title(s))
                default: return .string(PythonString.capitalize(s))
                }
            }
        case "replace":
            return { args, line in
                guard args.count == 2 || args.count == 3, case .string(let old) = args[0], case .string(let new) = args[1] else {
                    throw argumentError("str.replace", line: line, "2 strings and an optional count")
                }
                var count = -1
                if args.count == 3 {
                    guard case .int(let c) = args[2] else { throw argumentError("str.replace", line: line, "an integer count") }
                    count = c
                }
                return .string(PythonString.replace(s, old, new, count: count))
            }
        case "find", "count":
            return { args, line in
                guard args.count == 1, case .string(let needle) = args[0] else {
                    throw argumentError("str.\(name)", line: line, "exactly 1 string argument")
                }
                return .int(name == "find" ? PythonString.find(s, needle) : PythonString.count(s, needle))
            }
        case "join":
            return { args, line in
                guard args.count == 1 else { throw argumentError("str.join", line: line, "exactly 1 argument") }
                let parts = try JinjaOperators.iterate(args[0], line: line).map { v -> String in
                    guard case .string(let p) = v else {
                        throw TemplateError(line: line, "str.join(): expected str items, found \(v.typeName)")
                    }
                    return p
                }
                return .string(parts.joined(separator: s))
            }
        default:
            return nil
        }
    }

    private static func dictMethod(_ d: JinjaDict, _ name: String) -> (([JinjaValue], Int) throws -> JinjaValue)? {
        switch name {
        case "get":
            return { args, line in
                guard args.count == 1 || args.count == 2 else { throw argumentError("dict.get", line: line, "1 or 2 arguments") }
                if case .string(let k) = args[0], let v = d[k] { return v }
                return args.count == 2 ? args[1] : .none
            }
        case "items", "keys", "values":
            return { args, line in
                guard args.isEmpty else { throw argumentError("dict.\(name)", line: line, "no arguments") }
                switch name {
                case "items": return .list(d.pairs.map { .tuple([.string($0.key), $0.value]) })
                case "keys": return .list(d.keys.map { .string($0) })
                default: return .list(d.pairs.map { $0.value })
                }
            }
        default:
            return nil
        }
    }

    private static func listMethod(_ a: [JinjaValue], _ name: String) -> (([JinjaValue], Int) throws -> JinjaValue)? {
        switch name {
        case "index":
            return { args, line in
                guard args.count == 1 else { throw argumentError("list.index", line: line, "exactly 1 argument") }
                guard let i = a.firstIndex(where: { JinjaOperators.equals($0, args[0]) }) else {
                    throw TemplateError(line: line, "\(args[0].repr()) is not in list")
                }
                return .int(i)
            }
        case "count":
            return { args, line in
                guard args.count == 1 else { throw argumentError("list.count", line: line, "exactly 1 argument") }
                return .int(a.filter { JinjaOperators.equals($0, args[0]) }.count)
            }
        default:
            return nil
        }
    }
}
