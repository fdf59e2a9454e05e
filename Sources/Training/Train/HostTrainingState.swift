import ModelFormats
import Support

/// The persistent training state in host RAM: fp32 master weights, the fp32 gradients of the
/// current step and the AdamW moments, one entry per flat parameter buffer (each decoder
/// layer, the embedding, the final norm, the untied LM head).
public final class HostTrainingState {
    /// One flat parameter buffer with its gradient, moments and decay segments.
    struct Buffer {
        /// "model.layers.3" for a layer, the tensor's Hugging Face name otherwise.
        let name: String
        let weights: FloatBuffer
        let gradients: FloatBuffer
        let moments: AdamWMoments
        let segments: OptimizerSegments
    }

    public let masters: ModelWeights
    public let gradients: ModelWeights
    let buffers: [Buffer]

    /// `masters`: the starting weights (from the model folder or a checkpoint).
    public init(masters: ModelWeights) {
        self.masters = masters
        gradients = ModelWeights(config: masters.config)
        let layout = masters.layout
        var parts: [(String, FloatBuffer, FloatBuffer, [TensorSlot])] = []
        for i in 0..<masters.config.numLayers {
            parts.append(("model.layers.\(i)", masters.layers[i], gradients.layers[i], layout.layer.tensors))
        }
        parts.append((layout.embedding.name, masters.embedding, gradients.embedding, [layout.embedding]))
        parts.append((layout.finalNorm.name, masters.finalNorm, gradients.finalNorm, [layout.finalNorm]))
        if let head = layout.lmHead, let w = masters.lmHead, let g = gradients.lmHead {
            parts.append((head.name, w, g, [head]))
        }
        buffers = parts.map { name, w, g, tensors in
            Buffer(name: name, weights: w, gradients: g, moments: AdamWMoments(count: w.count),
                   segments: OptimizerSegments(tensors))
        }
    }

    /// Optimizer updates applied so far (AdamW's step count).
    public var step: Int { buffers.first?.moments.step ?? 0 }

    /// The 2-norm of all gradients together (fp64 sums, fixed order: deterministic).
    public func gradientNorm(pool: WorkerPool) -> Double {
        GradientClipping.totalNorm(sumsOfSquares: buffers.map {
            GradientClipping.sumOfSquares($0.gradients.pointer.baseAddress!, segments: $0.segments, pool: pool)
        })
    }

    /// One AdamW update of every buffer with the gradients multiplied by `gradScale`.
    public func update(optimizer: AdamW, learningRate: Double, gradScale: Float, pool: WorkerPool) {
        for b in buffers {
            optimizer.update(params: b.weights.pointer.baseAddress!, gradients: .f32(b.gradients.pointer.baseAddress!),
                             moments: b.moments, segments: b.segments, learningRate: learningRate,
                             gradScale: gradScale, pool: pool)
        }
    }

    /// The moments of every buffer by name, as `OptimizerCheckpoint` saves and loads them.
    var namedMoments: [(name: String, moments: AdamWMoments)] { buffers.map { ($0.name, $0.moments) } }
}
