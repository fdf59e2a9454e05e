import XCTest
import Support
import TestSupport
import Tokenization

/// Renders every conversation of the committed reference (transformers' apply_chat_template,
/// scripts/make_chat_reference.py) with the model's own template and compares byte for byte.
final class ChatTemplateModelTests: XCTestCase {
    private func checkModel(_ model: String, templateAsset: String) throws {
        let templatePath = try TestPaths.asset("\(model)/\(templateAsset)")
        let directory = String(templatePath.dropLast(templateAsset.count + 1))
        let template = try ChatTemplate.load(directory: directory)
        let reference = try readJSONFile(TestPaths.fixture("chat/\(model)_expected.json"))
        XCTAssertEqual(template.bosToken, reference["bos_token"]?.string)
        XCTAssertEqual(template.eosToken, reference["eos_token"]?.string)
        let cases = try XCTUnwrap(reference["cases"]?.array)
        XCTAssertGreaterThan(cases.count, 10)
        for c in cases {
            let addGenerationPrompt = c["add_generation_prompt"] == .bool(true)
            let name = "\(c["name"]?.string ?? "?") add_generation_prompt=\(addGenerationPrompt)"
            let messages = try XCTUnwrap(c["messages"]?.array)
            var extra: [String: JSON] = [:]
            for (k, v) in c["extra_context"]?.object?.pairs ?? [] { extra[k] = v }
            do {
                let rendered = try template.render(messages: messages, addGenerationPrompt: addGenerationPrompt, extraContext: extra)
                XCTAssertEqual(rendered, c["expected"]?.string, name)
            } catch let e as InputError {
                XCTAssertEqual(e.message, c["error"]?.string, "\(name): \(e)")
            }
        }
    }

    func testQwen3MatchesTransformers() throws {
        try checkModel("qwen3", templateAsset: "tokenizer_config.json")
    }

    func testLlama32MatchesTransformers() throws {
        // The fetched tokenizer_config.json has no template: scripts/fetch_llama_chat_template.py adds it.
        try checkModel("llama3.2", templateAsset: "chat_template.jinja")
    }

    func testChatMessagesRenderLikeJSONMessages() throws {
        let directory = String(try TestPaths.asset("qwen3/tokenizer_config.json").dropLast("/tokenizer_config.json".count))
        let template = try ChatTemplate.load(directory: directory)
        let messages = [ChatMessage(role: "system", content: "S"), ChatMessage(role: "user", content: "U")]
        let json: [JSON] = messages.map { .object(JSONObject([("role", .string($0.role)), ("content", .string($0.content))])) }
        XCTAssertEqual(try template.render(messages, addGenerationPrompt: true),
                       try template.render(messages: json, addGenerationPrompt: true))
    }
}
