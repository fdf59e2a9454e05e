import ModelFormats
import TestSupport
import XCTest

/// The SmolLM2-135M-Instruct GGUF converted once per test run by our own converter: its
/// tokenizer.json and chat template are the SmolLM2 artifacts the parity tests check.
enum ConvertedSmolLM2 {
    private static let converted: Result<String, Error> = Result {
        let gguf = try TestPaths.asset("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
        let out = try TestPaths.temporaryDirectory("smollm2") + "/model"
        _ = try GGUFToHuggingFace.convert(ggufPath: gguf, outputDirectory: out)
        return out
    }

    /// The converted model folder; an XCTSkip when the asset has not been fetched.
    static func directory() throws -> String { try converted.get() }
}
