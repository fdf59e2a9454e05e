#if canImport(Glibc)
import Glibc
#endif
import ModelFormats
import Support

/// The host memory a CPU training run will hold, by category, computed before anything large
/// is allocated, so that a run that cannot fit is refused with the numbers instead of being
/// killed halfway.
public struct MemoryPlan: Equatable, Sendable {
    public struct Item: Equatable, Sendable {
        public let name: String
        public let bytes: Int
    }

    public let parameters: Int
    public let items: [Item]

    public var totalBytes: Int { items.reduce(0) { $0 + $1.bytes } }

    /// `documents`: rows of the dataset file (its index keeps 8 bytes each).
    public init(layout: ModelLayout, batchSize: Int, seqLen: Int, documents: Int) {
        let c = layout.config
        // Elements of every flat buffer, alignment padding included.
        let elements = c.numLayers * layout.layer.count + layout.embedding.count + layout.finalNorm.count
            + (layout.lmHead?.count ?? 0)
        let fp32 = 4 * elements
        let n = batchSize * seqLen
        // Kept per layer for the backward (fp32): two norm inputs/outputs, q, k, v, attention
        // output, o_proj output, gate, up and SwiGLU output, rstd and lse.
        let perLayer = n * (4 * c.hiddenSize + 2 * c.qDim + 2 * c.kvDim + 3 * c.intermediateSize + c.numHeads + 2)
        // Logits and their gradient exist for one chunk of at most 1024 tokens at a time.
        let logits = 2 * min(n, 1024) * c.vocabSize
        let activations = 4 * (c.numLayers * perLayer + perLayer + logits + 4 * n * c.hiddenSize)
        parameters = layout.parameterCount
        items = [
            Item(name: "weights (fp32 masters, host copy for checkpoints)", bytes: fp32),
            Item(name: "AdamW moments m and v (fp32, host copy for checkpoints)", bytes: 2 * fp32),
            Item(name: "model on the compute device (weights and gradients, fp32)", bytes: 2 * fp32),
            Item(name: "AdamW moments m and v on the compute device (fp32)", bytes: 2 * fp32),
            Item(name: "activations and workspace (estimate)", bytes: activations),
            Item(name: "dataset index", bytes: 8 * documents),
        ]
    }

    /// The plan as printed before training: one line per category and the total.
    public var description: String {
        let width = items.map(\.name.count).max() ?? 0
        var lines = ["memory plan: \(Format.grouped(parameters)) parameters"]
        for item in items {
            lines.append("  " + item.name + String(repeating: " ", count: width - item.name.count) + "  " + Format.bytes(item.bytes))
        }
        lines.append("  " + "total" + String(repeating: " ", count: width - 5) + "  " + Format.bytes(totalBytes))
        return lines.joined(separator: "\n")
    }

    /// Refuses a plan larger than `availableBytes` (nil: unknown, nothing is checked).
    public func check(availableBytes: Int?) throws {
        guard let available = availableBytes, totalBytes > available else { return }
        throw UsageError(
            "not enough memory: this run needs about \(Format.bytes(totalBytes)) but the host has "
                + "\(Format.bytes(available)) available (MemAvailable in /proc/meminfo).\n\(description)\n"
                + "Use a smaller --batch-size or --seq-len, or a smaller model.")
    }

    /// MemAvailable of /proc/meminfo in bytes; nil where it cannot be read (not Linux).
    public static func availableHostBytes(meminfo path: String = "/proc/meminfo") -> Int? {
        // /proc files report size 0, so they are read, not mapped.
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n <= 0 { break }
            text += chunk[0..<n]
        }
        for line in String(decoding: text, as: UTF8.self).split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let kib = Int(fields[1]) else { return nil }
            return kib * 1024
        }
        return nil
    }
}
