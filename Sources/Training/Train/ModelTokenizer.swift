#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Support
import Tokenization

/// The tokenizer of a model folder and its chat template, when it has one.
public enum ModelTokenizer {
    public static func load(directory: String) throws -> (encoder: Tokenizer, chatTemplate: ChatTemplate?) {
        let tokenizer = try Tokenizer(path: directory)
        let fm = FileManager.default
        var hasTemplate = fm.fileExists(atPath: directory + "/chat_template.jinja")
        let configPath = directory + "/tokenizer_config.json"
        if !hasTemplate, fm.fileExists(atPath: configPath), let entry = try readJSONFile(configPath)["chat_template"] {
            hasTemplate = !entry.isNull
        }
        return (tokenizer, hasTemplate ? try ChatTemplate.load(directory: directory) : nil)
    }
}
