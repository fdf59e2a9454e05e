import Support
import Tokenization

/// One dataset row, parsed and type-checked, before tokenization.
enum DatasetRecord: Equatable {
    case text(String)
    case instruct(instruction: String, input: String, output: String)
    case chat([ChatMessage])
    case tokens(inputIds: [Int], labels: [Int]?)

    /// Reads a row of the given format. Errors are `RowError`s: the caller adds file and line.
    init(json: JSON, format: DataFormat) throws {
        guard let object = json.object else { throw RowError("expected a JSON object, found \(json.kindName)") }
        switch format {
        case .text:
            self = .text(try object.requiredString("text"))
        case .instruct:
            let input = try object.optionalString("input") ?? ""
            self = .instruct(
                instruction: try object.requiredString("instruction"), input: input,
                output: try object.requiredString("output"))
        case .chat:
            guard let value = object["messages"] else { throw RowError("missing key \"messages\"") }
            guard let list = value.array else { throw RowError("\"messages\" must be an array, found \(value.kindName)") }
            guard !list.isEmpty else { throw RowError("\"messages\" is empty") }
            self = .chat(try list.enumerated().map { i, m in
                guard let message = m.object else { throw RowError("messages[\(i)] must be an object, found \(m.kindName)") }
                return ChatMessage(
                    role: try message.requiredString("role", context: "messages[\(i)]"),
                    content: try message.requiredString("content", context: "messages[\(i)]"))
            })
        case .tokens:
            guard let ids = object["input_ids"] else { throw RowError("missing key \"input_ids\"") }
            let labels = object["labels"].flatMap { $0.isNull ? nil : $0 }
            self = .tokens(inputIds: try ids.integers(key: "input_ids"), labels: try labels?.integers(key: "labels"))
        }
    }
}

/// A problem with one row; the reader turns it into an `InputError` naming file and line.
struct RowError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

extension JSON {
    /// "string", "number", ... for messages about wrong types.
    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    fileprivate func integers(key: String) throws -> [Int] {
        guard let list = array else { throw RowError("\"\(key)\" must be an array of integers, found \(kindName)") }
        return try list.enumerated().map { i, v in
            guard let n = v.int else { throw RowError("\(key)[\(i)] must be an integer, found \(v.kindName)") }
            return n
        }
    }
}

extension JSONObject {
    fileprivate func requiredString(_ key: String, context: String = "") throws -> String {
        let name = context.isEmpty ? "\"\(key)\"" : "\(context).\(key)"
        guard let value = self[key] else { throw RowError("missing key \(name)") }
        guard let s = value.string else { throw RowError("\(name) must be a string, found \(value.kindName)") }
        return s
    }

    /// A string that may be absent or null (the optional "input" of instruct rows).
    fileprivate func optionalString(_ key: String) throws -> String? {
        guard let value = self[key], !value.isNull else { return nil }
        guard let s = value.string else { throw RowError("\"\(key)\" must be a string, found \(value.kindName)") }
        return s
    }
}
