#if canImport(Glibc)
import Glibc
#endif
import Datasets
import ModelFormats
import Support

/// The demo's tiny Llama-shaped model, initialized like Hugging Face does (every matrix
/// N(0, 0.02), norm weights 1) from a fixed seed, and written as a model folder.
/// `<|endoftext|>` is both BOS and EOS (as in GPT-2); the tokenizer adds neither.
enum DemoModel {
    static let config = ModelConfig(
        family: .llama, hiddenSize: 128, intermediateSize: 384, numLayers: 2, numHeads: 4, numKVHeads: 2, headDim: 32,
        vocabSize: ByteLevelTokenizerFiles.vocabularySize, rmsNormEps: 1e-5, ropeTheta: 10000,
        maxPositionEmbeddings: 256, tieWordEmbeddings: true, bosTokenId: 256, eosTokenIds: [256])

    static func initialWeights(_ config: ModelConfig = config, seed: UInt64) -> ModelWeights {
        let weights = ModelWeights(config: config)
        var rng = SplitMix64(seed: seed)
        for tensor in weights.namedTensors {
            if tensor.shape.count == 1 {
                tensor.values.update(repeating: 1)
            } else {
                for i in tensor.values.indices { tensor.values[i] = Float(0.02 * standardNormal(&rng)) }
            }
        }
        return weights
    }

    /// Box–Muller on two uniform draws in (0, 1].
    private static func standardNormal(_ rng: inout SplitMix64) -> Double {
        let u1 = Double((rng.next() >> 11) + 1) * 0x1p-53
        let u2 = Double(rng.next() >> 11) * 0x1p-53
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// config.json, model.safetensors (fp32), tokenizer.json and tokenizer_config.json.
    static func writeFolder(_ directory: String, config: ModelConfig = config, seed: UInt64) throws {
        try AtomicOutput.writeDirectory(at: directory) { tmp in
            try initialWeights(config, seed: seed).write(into: tmp, dtype: .f32)
            try ByteLevelTokenizerFiles.write(into: tmp)
        }
    }
}
