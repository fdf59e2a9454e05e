/// What datasets and the trainer need from a tokenizer, so they can be tested with a stub.
public protocol TextEncoding: Sendable {
    /// Token ids of `text`; with `addSpecialTokens`, the post-processor's BOS/EOS template is
    /// applied exactly as Hugging Face `tokenizers` `encode(text, add_special_tokens=True)`.
    func encode(_ text: String, addSpecialTokens: Bool) throws -> [Int32]
    func decode(_ ids: [Int32], skipSpecialTokens: Bool) -> String
    var vocabularySize: Int { get }
    var eosTokenId: Int32? { get }
    var bosTokenId: Int32? { get }
    var padTokenId: Int32? { get }
}

/// One message of a conversation, as given to a chat template.
public struct ChatMessage: Equatable, Sendable {
    public var role: String
    public var content: String
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// Renders a conversation to text with the model's chat template.
public protocol ChatRendering: Sendable {
    func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws -> String
}
