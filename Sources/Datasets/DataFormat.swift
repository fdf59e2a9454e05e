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
}
