#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The functions transformers' chat-template environment provides: jinja2's `namespace`,
/// `dict` and `range`, plus `raise_exception(message)` and `strftime_now(format)`.
enum JinjaGlobals {
    /// What a `raise_exception(message)` call throws: the template's own message.
    struct Raised: Error {
        let line: Int
        let message: String
    }

    static func value(_ name: String) -> JinjaValue? {
        switch name {
        case "raise_exception":
            return .function(JinjaFunction(name: name) { args, _, line in
                guard args.count == 1 else { throw TemplateError(line: line, "raise_exception() takes exactly 1 argument") }
                throw Raised(line: line, message: args[0].printed())
            })
        case "strftime_now":
            return .function(JinjaFunction(name: name) { args, _, line in
                guard args.count == 1, case .string(let format) = args[0] else {
                    throw TemplateError(line: line, "strftime_now() takes exactly 1 string argument")
                }
                return .string(try localTimeNow(format: format, line: line))
            })
        case "namespace", "dict":
            return .function(JinjaFunction(name: name) { args, keyword, line in
                var attributes = JinjaDict()
                for a in args {
                    guard case .dict(let d) = a else {
                        throw TemplateError(line: line, "\(name)() takes a mapping and keyword arguments, got \(a.typeName)")
                    }
                    for (k, v) in d.pairs { attributes[k] = v }
                }
                for (k, v) in keyword { attributes[k] = v }
                if name == "dict" { return .dict(attributes) }
                let ns = JinjaNamespace()
                ns.attributes = attributes
                return .namespace(ns)
            })
        case "range":
            return .function(JinjaFunction(name: name) { args, _, line in
                let bounds = try args.map { a -> Int in
                    guard case .int(let i) = a else { throw TemplateError(line: line, "range() takes integers, got \(a.typeName)") }
                    return i
                }
                let (start, stop, step): (Int, Int, Int)
                switch bounds.count {
                case 1: (start, stop, step) = (0, bounds[0], 1)
                case 2: (start, stop, step) = (bounds[0], bounds[1], 1)
                case 3: (start, stop, step) = (bounds[0], bounds[1], bounds[2])
                default: throw TemplateError(line: line, "range() takes 1 to 3 arguments")
                }
                guard step != 0 else { throw TemplateError(line: line, "range() step must not be zero") }
                guard (stop - start) / step <= 100_000 else { throw TemplateError(line: line, "range() too large") }
                return .list(stride(from: start, to: stop, by: step).map { .int($0) })
            })
        default:
            return nil
        }
    }

    /// `datetime.now().strftime(format)`: C `strftime` on local time, as CPython does.
    private static func localTimeNow(format: String, line: Int) throws -> String {
        var now = time(nil)
        var parts = tm()
        guard localtime_r(&now, &parts) != nil else { throw TemplateError(line: line, "strftime_now(): cannot read the local time") }
        var buffer = [CChar](repeating: 0, count: 256 + format.utf8.count * 8)
        let n = strftime(&buffer, buffer.count, format, &parts)
        guard n > 0 || format.isEmpty else { throw TemplateError(line: line, "strftime_now(): cannot format '\(format)'") }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
