import ArgumentParser
import ModelFormats

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a llama-architecture GGUF file into a Hugging Face model folder (bf16 safetensors).",
        discussion: """
        Tensors may be F32, F16, BF16, Q8_0, Q4_0 or Q4_1; they are dequantized and written as bf16. \
        The tokenizer must be byte-level BPE (tokenizer.ggml.model "gpt2"). The output folder appears \
        only when the conversion is complete; an existing folder there is replaced.
        """
    )

    @Option(name: .long, help: "The GGUF file to convert.")
    var gguf: String

    @Option(name: .long, help: "The Hugging Face model folder to write.")
    var output: String

    func run() throws {
        let summary = try GGUFToHuggingFace.convert(ggufPath: gguf, outputDirectory: output)
        let c = summary.config
        print("wrote \(output): \(summary.tensorCount) tensors, \(summary.parameterCount) parameters (bf16), "
              + "\(c.layerCount) layers, hidden \(c.hiddenSize), vocab \(c.vocabSize), "
              + (c.tieWordEmbeddings ? "tied embeddings" : "separate LM head"))
    }
}
