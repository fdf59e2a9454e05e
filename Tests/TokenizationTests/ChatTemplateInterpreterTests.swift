import XCTest
import Support
import TestSupport
import Tokenization

/// The template interpreter on small templates: outputs and errors from transformers'
/// jinja2 environment (Tests/Fixtures/chat/jinja_cases.json, scripts/make_chat_reference.py),
/// then the errors for constructs outside the supported subset.
final class ChatTemplateInterpreterTests: XCTestCase {
    private let hi: [JSON] = [.object(JSONObject([("role", .string("user")), ("content", .string("hi"))]))]

    func testSmallTemplatesMatchJinja2() throws {
        let reference = try readJSONFile(TestPaths.fixture("chat/jinja_cases.json"))
        let cases = try XCTUnwrap(reference["cases"]?.array)
        XCTAssertGreaterThan(cases.count, 30)
        for c in cases {
            let name = c["name"]?.string ?? "?"
            var context: [String: JSON] = [:]
            for (k, v) in c["context"]?.object?.pairs ?? [] { context[k] = v }
            do {
                let template = try ChatTemplate(source: try XCTUnwrap(c["template"]?.string), bosToken: "<s>", eosToken: "</s>",
                                                origin: "\(name).jinja")
                let rendered = try template.render(messages: hi, addGenerationPrompt: true, extraContext: context)
                XCTAssertEqual(rendered, c["expected"]?.string, name)
            } catch let e as InputError {
                XCTAssertNotNil(c["error"], "\(name): unexpected error \(e)")
                XCTAssertEqual(e.file, "\(name).jinja")
            }
        }
    }

    private func error(_ source: String, context: [String: JSON] = [:]) -> InputError? {
        do {
            let template = try ChatTemplate(source: source, origin: "t.jinja")
            _ = try template.render(messages: hi, addGenerationPrompt: false, extraContext: context)
            XCTFail("no error for \(source)")
            return nil
        } catch let e as InputError {
            return e
        } catch {
            XCTFail("not an InputError: \(error)")
            return nil
        }
    }

    func testRaiseExceptionCarriesTheTemplateMessageAndLine() {
        let e = error("a\n{{ raise_exception('Conversation roles must alternate!') }}")
        XCTAssertEqual(e?.message, "Conversation roles must alternate!")
        XCTAssertEqual(e?.location, "line 2")
        XCTAssertEqual(e?.file, "t.jinja")
    }

    func testUnsupportedConstructsAreNamedWithTheirLine() {
        let cases: [(String, String, String)] = [
            ("x\n{% include 'other.jinja' %}", "'{% include %}' statement", "line 2"),
            ("{% raw %}{{ x }}{% endraw %}", "'{% raw %}' statement", "line 1"),
            ("\n\n{% if false %}{{ x | wordcount }}{% endif %}", "filter 'wordcount'", "line 3"),
            ("{{ x is escaped }}", "test 'escaped'", "line 1"),
            ("{% for x in xs recursive %}{% endfor %}", "'recursive' for loop", "line 1"),
            ("{{ '%s' % 1 }}", "printf-style '%' string formatting", "line 1"),
            ("{{ f(*args) }}", "'*args' / '**kwargs' in a call", "line 1"),
            ("{{ [1].append(2) }}", "list.append()", "line 1"),
            ("{{ '\\N{BULLET}' }}", "'\\N{...}' escape", "line 1"),
        ]
        for (source, construct, line) in cases {
            let e = error(source)
            XCTAssertTrue(e?.message.contains("unsupported construct") ?? false, "\(source): \(String(describing: e))")
            XCTAssertTrue(e?.message.contains(construct) ?? false, "\(source): \(String(describing: e))")
            XCTAssertEqual(e?.location, line, source)
        }
    }

    func testSyntaxAndRuntimeErrorsNameTheirLine() {
        XCTAssertEqual(error("a\n{% if x %}\nb")?.location, "line 2")            // missing endif
        XCTAssertEqual(error("{{ 1 + }}")?.location, "line 1")
        XCTAssertEqual(error("\n{{ x.y.z }}")?.location, "line 2")               // attribute of undefined
        XCTAssertEqual(error("{% set d = {} %}\n{% set d.x = 1 %}")?.location, "line 2")  // not a namespace
        XCTAssertEqual(error("{# never closed")?.location, "line 1")
        XCTAssertEqual(error("{{ 'open")?.location, "line 1")
    }

    func testEmptyConversationAndNonObjectMessagesAreRefused() throws {
        let template = try ChatTemplate(source: "{{ messages }}", origin: "t.jinja")
        XCTAssertThrowsError(try template.render(messages: [], addGenerationPrompt: false))
        XCTAssertThrowsError(try template.render(messages: [.string("hi")], addGenerationPrompt: false)) { e in
            XCTAssertEqual((e as? InputError)?.location, "message 0")
        }
    }

    func testNullKeysAreDroppedAndReasoningIsAliased() throws {
        let template = try ChatTemplate(source: "{{ messages[0] | tojson }}", origin: "t.jinja")
        let message = JSON.object(JSONObject([("role", .string("assistant")), ("content", .string("c")),
                                              ("tool_calls", .null), ("reasoning", .string("r"))]))
        XCTAssertEqual(try template.render(messages: [message], addGenerationPrompt: false),
                       #"{"thinking": "r", "role": "assistant", "content": "c", "reasoning": "r", "reasoning_content": "r"}"#)
    }

    func testStrftimeNowFormatsTheCurrentDate() throws {
        let template = try ChatTemplate(source: "{{ strftime_now('%Y') }}", origin: "t.jinja")
        let year = try XCTUnwrap(Int(try template.render(messages: hi, addGenerationPrompt: false)))
        XCTAssertGreaterThanOrEqual(year, 2025)
    }

    func testLoadPrefersChatTemplateJinjaAndReadsTokens() throws {
        let dir = try TestPaths.temporaryDirectory("chat")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = #"{"bos_token": {"content": "<B>", "lstrip": false}, "eos_token": "<E>", "chat_template": "config"}"#
        try AtomicOutput.write(config, to: dir + "/tokenizer_config.json")
        XCTAssertEqual(try ChatTemplate.load(directory: dir).render(messages: hi, addGenerationPrompt: false), "config")
        try AtomicOutput.write("{{ bos_token }}{{ messages[0].content }}{{ eos_token }}\n", to: dir + "/chat_template.jinja")
        let t = try ChatTemplate.load(directory: dir)
        XCTAssertEqual(t.origin, dir + "/chat_template.jinja")
        XCTAssertEqual(try t.render(messages: hi, addGenerationPrompt: false), "<B>hi<E>")
    }

    func testLoadPicksTheDefaultOfNamedTemplates() throws {
        let dir = try TestPaths.temporaryDirectory("chat")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = #"{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}"#
        try AtomicOutput.write(config, to: dir + "/tokenizer_config.json")
        XCTAssertEqual(try ChatTemplate.load(directory: dir).render(messages: hi, addGenerationPrompt: false), "D")
        try AtomicOutput.write(#"{"chat_template": [{"name": "tool_use", "template": "T"}]}"#, to: dir + "/tokenizer_config.json")
        XCTAssertThrowsError(try ChatTemplate.load(directory: dir)) { e in
            XCTAssertEqual((e as? InputError)?.location, "key chat_template")
        }
        try AtomicOutput.write(#"{"eos_token": "x"}"#, to: dir + "/tokenizer_config.json")
        XCTAssertThrowsError(try ChatTemplate.load(directory: dir)) { e in
            XCTAssertEqual((e as? InputError)?.file, dir + "/tokenizer_config.json")
        }
    }
}
