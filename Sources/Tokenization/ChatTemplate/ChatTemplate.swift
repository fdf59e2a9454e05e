#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Support

/// A model's Jinja chat template, rendered as transformers' `apply_chat_template(...,
/// tokenize=False)` renders it: same jinja2 settings (trim_blocks, lstrip_blocks), same
/// variables (`messages`, `tools`, `documents`, `add_generation_prompt`, `bos_token`,
/// `eos_token`, extra keyword arguments), same globals (`raise_exception`, `strftime_now`,
/// `namespace`). Parsed once at init; a template that uses a construct outside the supported
/// subset fails with an error naming the construct and its line.
public struct ChatTemplate: ChatRendering {
    public let source: String
    public let bosToken: String?
    public let eosToken: String?
    /// The file the template came from, named in errors.
    public let origin: String
    private let nodes: [JinjaNode]

    public init(source: String, bosToken: String? = nil, eosToken: String? = nil, origin: String) throws {
        self.source = source
        self.bosToken = bosToken
        self.eosToken = eosToken
        self.origin = origin
        do {
            nodes = try JinjaParser.parse(try JinjaLexer.tokenize(source))
            try JinjaValidation.check(nodes)
        } catch let e as TemplateError {
            throw InputError(file: origin, location: "line \(e.line)", e.message)
        }
    }

    /// The template of a model folder: `chat_template.jinja` if present, else the
    /// `chat_template` of `tokenizer_config.json` (a string, or a list of
    /// `{"name", "template"}` from which "default" is taken), with that file's BOS/EOS tokens.
    public static func load(directory: String) throws -> ChatTemplate {
        let configPath = directory + "/tokenizer_config.json"
        let jinjaPath = directory + "/chat_template.jinja"
        let fm = FileManager.default
        let config: JSON? = fm.fileExists(atPath: configPath) ? try readJSONFile(configPath) : nil
        let bos = try config.flatMap { try tokenText($0["bos_token"], key: "bos_token", file: configPath) }
        let eos = try config.flatMap { try tokenText($0["eos_token"], key: "eos_token", file: configPath) }
        if fm.fileExists(atPath: jinjaPath) {
            let bytes = try readFileBytes(jinjaPath)
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw InputError(file: jinjaPath, "not valid UTF-8")
            }
            return try ChatTemplate(source: text, bosToken: bos, eosToken: eos, origin: jinjaPath)
        }
        guard let config else {
            throw InputError(file: directory, "no chat template: neither chat_template.jinja nor tokenizer_config.json exists")
        }
        switch config["chat_template"] {
        case .string(let text)?:
            return try ChatTemplate(source: text, bosToken: bos, eosToken: eos, origin: configPath)
        case .array(let named)?:
            for entry in named where entry["name"]?.string == "default" {
                guard let text = entry["template"]?.string else {
                    throw InputError(file: configPath, location: "key chat_template", "the \"default\" entry has no string \"template\"")
                }
                return try ChatTemplate(source: text, bosToken: bos, eosToken: eos, origin: configPath)
            }
            let names = named.compactMap { $0["name"]?.string }.joined(separator: ", ")
            throw InputError(file: configPath, location: "key chat_template", "no template named \"default\" (found: \(names))")
        case nil, .null?:
            throw InputError(file: configPath, location: "key chat_template",
                             "no chat template: the key is missing and there is no chat_template.jinja beside it")
        default:
            throw InputError(file: configPath, location: "key chat_template", "expected a string or a list of {name, template}")
        }
    }

    /// A special token as tokenizer_config.json writes it: a string or `{"content": ...}`.
    private static func tokenText(_ value: JSON?, key: String, file: String) throws -> String? {
        switch value {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case .object(let o)?:
            guard let s = o["content"]?.string else {
                throw InputError(file: file, location: "key \(key)", "expected a string \"content\"")
            }
            return s
        default:
            throw InputError(file: file, location: "key \(key)", "expected a string or {\"content\": ...}")
        }
    }

    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws -> String {
        let json: [JSON] = messages.map { .object(JSONObject([("role", .string($0.role)), ("content", .string($0.content))])) }
        return try render(messages: json, addGenerationPrompt: addGenerationPrompt)
    }

    /// Renders `messages` (JSON objects; keys beyond role/content are passed through).
    /// `extraContext` holds what transformers takes as `**kwargs` (`tools`, `date_string`,
    /// `enable_thinking`, ...); it overrides `bos_token`/`eos_token` as there. As transformers
    /// does, keys whose value is null are dropped from each message, and a message's
    /// reasoning (`reasoning_content`, `thinking` or `reasoning`) is also given under
    /// `thinking` and `reasoning_content`.
    public func render(messages: [JSON], addGenerationPrompt: Bool, extraContext: [String: JSON] = [:]) throws -> String {
        guard !messages.isEmpty else {
            throw InputError(file: origin, "cannot apply a chat template to an empty conversation")
        }
        var prepared: [JinjaValue] = []
        for (i, m) in messages.enumerated() {
            guard case .object(let o) = m else {
                throw InputError(file: origin, location: "message \(i)", "a chat message must be a JSON object, got \(m)")
            }
            prepared.append(.dict(ChatTemplate.templateMessage(o)))
        }
        var context: [String: JinjaValue] = [:]
        if let bosToken { context["bos_token"] = .string(bosToken) }
        if let eosToken { context["eos_token"] = .string(eosToken) }
        for (k, v) in extraContext { context[k] = JinjaValue(v) }
        context["messages"] = .list(prepared)
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        if context["tools"] == nil { context["tools"] = JinjaValue.none }
        if context["documents"] == nil { context["documents"] = JinjaValue.none }
        do {
            return try JinjaInterpreter(context: context).render(nodes)
        } catch let e as TemplateError {
            throw InputError(file: origin, location: "line \(e.line)", e.message)
        } catch let e as JinjaGlobals.Raised {
            throw InputError(file: origin, location: "line \(e.line)", e.message)
        }
    }

    /// transformers' message normalization: null values dropped, reasoning aliased as
    /// `{"thinking": r, **message, "reasoning_content": r}`.
    private static func templateMessage(_ o: JSONObject) -> JinjaDict {
        var message = JinjaDict()
        let reasoning = ["reasoning_content", "thinking", "reasoning"].lazy.compactMap { key -> JSON? in
            guard let v = o[key], !v.isNull else { return nil }
            return v
        }.first
        if let reasoning { message["thinking"] = JinjaValue(reasoning) }
        for (k, v) in o.pairs where !v.isNull { message[k] = JinjaValue(v) }
        if let reasoning { message["reasoning_content"] = JinjaValue(reasoning) }
        return message
    }
}
