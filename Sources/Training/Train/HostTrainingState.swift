import ModelFormats
import Support

/// The persistent training state as the host sees it: fp32 master weights and the AdamW
/// moments, one entry per flat parameter buffer (each decoder layer, the embedding, the final
/// norm, the untied LM head). It is what checkpoints hold: read at start (model folder or
/// resumed checkpoint) and uploaded to the device; filled back from the device
/// (`DeviceTrainingState.download`) only to save a checkpoint or the final model.
public final class HostTrainingState {
    /// One flat parameter buffer with its moments.
    struct Buffer {
        /// "model.layers.3" for a layer, the tensor's Hugging Face name otherwise.
        let name: String
        let weights: FloatBuffer
        let moments: AdamWMoments
    }

    public let masters: ModelWeights
    let buffers: [Buffer]

    /// `masters`: the starting weights (from the model folder or a checkpoint).
    public init(masters: ModelWeights) {
        self.masters = masters
        let layout = masters.layout
        var parts: [(String, FloatBuffer)] = []
        for i in 0..<masters.config.numLayers { parts.append(("model.layers.\(i)", masters.layers[i])) }
        parts.append((layout.embedding.name, masters.embedding))
        parts.append((layout.finalNorm.name, masters.finalNorm))
        if let head = layout.lmHead, let w = masters.lmHead { parts.append((head.name, w)) }
        buffers = parts.map { Buffer(name: $0.0, weights: $0.1, moments: AdamWMoments(count: $0.1.count)) }
    }

    /// Optimizer updates applied so far (AdamW's step count).
    public var step: Int { buffers.first?.moments.step ?? 0 }

    /// The moments of every buffer by name, as `OptimizerCheckpoint` saves and loads them.
    var namedMoments: [(name: String, moments: AdamWMoments)] { buffers.map { ($0.name, $0.moments) } }
}
