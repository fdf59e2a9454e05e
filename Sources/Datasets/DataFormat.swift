import Support

/// The four dataset row formats (`--data-format`).
public enum DataFormat: String, Sendable, CaseIterable {
    /// {"text": "..."}: every token is a target.
    case text
    /// {"instruction", "input", "output"}: prompt tokens are masked, only the output is trained.
    case instruct
    /// {"messages": [{"role", "content"}]}: rendered with the chat template; only assistant turns are trained.
    case chat
    /// {"input_ids": [...], "labels": [...]}: already tokenized; labels optional, -100 = ignored.
    case tokens

    /// The format a row's keys call for, or nil when they fit none. Extra keys are allowed
    /// (datasets often carry ids or metadata); the more specific formats are tried first.
    public static func detect(keys: [String]) -> DataFormat? {
        let k = Set(keys)
        if k.contains("input_ids") { return .tokens }
        if k.contains("messages") { return .chat }
        if k.contains("instruction"), k.contains("output") { return .instruct }
        if k.contains("text") { return .text }
        return nil
    }
}
