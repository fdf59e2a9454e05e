import Support

/// A value inside a template, with Python's types and semantics (what jinja2 operates on).
/// `undefined` is jinja2's default `Undefined`: it prints as "", is false, iterates as empty,
/// and any other use is an error.
enum JinjaValue {
    case undefined(String)  // what was looked up, for the error message
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case list([JinjaValue])
    case tuple([JinjaValue])
    case dict(JinjaDict)
    case namespace(JinjaNamespace)
    case function(JinjaFunction)

    init(_ json: JSON) {
        switch json {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .float(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(a.map(JinjaValue.init))
        case .object(let o):
            var d = JinjaDict()
            for (k, v) in o.pairs { d[k] = JinjaValue(v) }
            self = .dict(d)
        }
    }

    var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    /// Python's type name, for error messages.
    var typeName: String {
        switch self {
        case .undefined: return "undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .function(let f): return "function \(f.name)"
        }
    }

    /// Python truthiness.
    var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .float(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .list(let a), .tuple(let a): return !a.isEmpty
        case .dict(let d): return d.count > 0
        case .namespace, .function: return true
        }
    }
}

/// A dict with string keys in insertion order (Python 3.7+ dicts; chat data comes from JSON).
struct JinjaDict {
    private(set) var keys: [String] = []
    private var storage: [String: JinjaValue] = [:]

    subscript(key: String) -> JinjaValue? {
        get { storage[key] }
        set {
            if let v = newValue {
                if storage.updateValue(v, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    var count: Int { keys.count }
    var pairs: [(key: String, value: JinjaValue)] { keys.map { ($0, storage[$0]!) } }
}

/// `namespace(...)`: the one mutable object of jinja2, shared by reference so that
/// `{% set ns.x = ... %}` inside a loop is seen after it.
final class JinjaNamespace {
    var attributes = JinjaDict()
}

/// A callable value: a global (`raise_exception`, `namespace`, ...), a bound method
/// (`"a b".split`), `loop.cycle`, or a macro.
struct JinjaFunction {
    let name: String
    let call: (_ positional: [JinjaValue], _ keyword: [(name: String, value: JinjaValue)], _ line: Int) throws -> JinjaValue
}

// MARK: Python str() and repr()

extension JinjaValue {
    /// What `{{ value }}` prints: Python's `str(value)`; undefined prints nothing.
    func printed() -> String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return repr()
        }
    }

    /// Python's `repr(value)`, used for items inside printed lists and dicts.
    func repr() -> String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .float(let d): return JinjaValue.pythonFloatRepr(d)
        case .string(let s): return JinjaValue.pythonStringRepr(s)
        case .list(let a): return "[" + a.map { $0.repr() }.joined(separator: ", ") + "]"
        case .tuple(let a):
            return a.count == 1 ? "(" + a[0].repr() + ",)" : "(" + a.map { $0.repr() }.joined(separator: ", ") + ")"
        case .dict(let d):
            return "{" + d.pairs.map { JinjaValue.pythonStringRepr($0.key) + ": " + $0.value.repr() }.joined(separator: ", ") + "}"
        case .namespace(let ns):
            return "<Namespace " + JinjaValue.dict(ns.attributes).repr() + ">"
        case .function(let f): return "<function \(f.name)>"
        }
    }

    static func pythonFloatRepr(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d > 0 ? "inf" : "-inf" }
        return JSON.pythonFloat(d)
    }

    /// Single quotes unless the text holds a single quote and no double quote; non-printable
    /// code points escaped as Python does.
    static func pythonStringRepr(_ s: String) -> String {
        let quote: Unicode.Scalar = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(Character(quote))
        for u in s.unicodeScalars {
            switch u {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case quote: out += "\\" + String(Character(u))
            default:
                if isPythonPrintable(u) {
                    out.unicodeScalars.append(u)
                } else {
                    let hex = String(u.value, radix: 16)
                    let width = u.value <= 0xFF ? 2 : u.value <= 0xFFFF ? 4 : 8
                    let prefix = width == 2 ? "\\x" : width == 4 ? "\\u" : "\\U"
                    out += prefix + String(repeating: "0", count: width - hex.count) + hex
                }
            }
        }
        out.unicodeScalars.append(quote)
        return out
    }

    /// Python's `str.isprintable()` for one code point: not a control, format, surrogate,
    /// private-use, unassigned or separator character (the ASCII space excepted).
    private static func isPythonPrintable(_ u: Unicode.Scalar) -> Bool {
        if u == " " { return true }
        switch u.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
             .spaceSeparator, .lineSeparator, .paragraphSeparator:
            return false
        default:
            return true
        }
    }
}

// MARK: conversion to JSON (tojson)

extension JinjaValue {
    /// The JSON that Python's `json.dumps` would write for this value; other types are an error.
    func toJSON(line: Int) throws -> JSON {
        switch self {
        case .none: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .float(let d): return .double(d)
        case .string(let s): return .string(s)
        case .list(let a), .tuple(let a): return .array(try a.map { try $0.toJSON(line: line) })
        case .dict(let d):
            var o = JSONObject()
            for (k, v) in d.pairs { o[k] = try v.toJSON(line: line) }
            return .object(o)
        case .undefined(let name):
            throw TemplateError(line: line, "'\(name)' is undefined: cannot serialize it with tojson")
        case .namespace, .function:
            throw TemplateError(line: line, "object of type \(typeName) is not JSON serializable")
        }
    }
}
