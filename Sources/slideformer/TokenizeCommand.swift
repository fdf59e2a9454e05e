import ArgumentParser
import Tokenization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of each record of a JSON-lines file, one JSON array per line."
    )

    @Option(help: "A tokenizer.json file, or a folder holding tokenizer.json (and tokenizer_config.json).")
    var tokenizer: String

    @Option(help: "The JSON-lines file to encode: one object per line.")
    var input: String

    @Option(help: "The string field of each object to encode.")
    var field = "text"

    @Flag(help: "Encode without the post-processor's special tokens (such as BOS).")
    var noSpecialTokens = false

    func run() throws {
        let encoder = try Tokenizer(path: tokenizer)
        var out: [UInt8] = []
        out.reserveCapacity(1 << 16)
        // Lines before a bad one are still printed, as they would be from a streaming reader.
        defer { flush(&out) }
        try JSONLinesText.forEach(in: input, field: field) { text, _ in
            let ids = encoder.encode(text, addSpecialTokens: !noSpecialTokens)
            out.append(UInt8(ascii: "["))
            for (i, id) in ids.enumerated() {
                if i > 0 { out.append(contentsOf: ", ".utf8) }
                out.append(contentsOf: String(id).utf8)
            }
            out.append(contentsOf: "]\n".utf8)
            if out.count >= 1 << 16 { flush(&out) }
        }
    }

    private func flush(_ out: inout [UInt8]) {
        out.withUnsafeBufferPointer { _ = fwrite($0.baseAddress, 1, $0.count, stdout) }
        out.removeAll(keepingCapacity: true)
    }
}
