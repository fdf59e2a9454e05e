#if canImport(Glibc)
import Glibc
#endif
import Support

/// Autoregressive sampling from a model's last-position logits: greedy at temperature 0,
/// otherwise softmax(logits / temperature) drawn with a seeded generator, so a given model,
/// prompt and seed always give the same text.
public struct TextSampler {
    public var temperature: Double
    public var seed: UInt64

    public init(temperature: Double, seed: UInt64) {
        self.temperature = temperature
        self.seed = seed
    }

    /// Up to `maxNewTokens` ids following `prompt` (not included), stopping after `stopToken`.
    /// The model sees at most the last `window` tokens.
    public func generate(_ model: any TrainableModel, prompt: [Int32], maxNewTokens: Int, window: Int,
                         stopToken: Int32?) throws -> [Int32] {
        precondition(!prompt.isEmpty && window >= 1, "sampling needs a prompt and a window")
        var rng = SplitMix64(seed: seed)
        var context = prompt
        var generated: [Int32] = []
        while generated.count < maxNewTokens {
            let input = Array(context.suffix(window))
            let logits = try model.lastLogits(inputIds: input, seqLen: input.count)
            let next = pick(logits, &rng)
            generated.append(next)
            context.append(next)
            if next == stopToken { break }
        }
        return generated
    }

    private func pick(_ logits: [Float], _ rng: inout SplitMix64) -> Int32 {
        var best = 0
        for i in logits.indices where logits[i] > logits[best] { best = i }
        guard temperature > 0 else { return Int32(best) }
        // softmax(logits / t), shifted by the maximum for stability.
        let weights = logits.map { exp(Double($0 - logits[best]) / temperature) }
        var u = Double(rng.next() >> 11) * 0x1p-53 * weights.reduce(0, +)
        for (i, w) in weights.enumerated() {
            u -= w
            if u < 0 { return Int32(i) }
        }
        return Int32(best)
    }
}
