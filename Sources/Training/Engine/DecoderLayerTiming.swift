import Backends
import ModelFormats
import Support

/// One decoder layer's forward and its recompute + backward, timed on a backend at a run's
/// micro-batch (B rows of T tokens) with random weights: the per-layer GPU times that
/// `--resident-layers auto` weighs against the host AdamW. Allocates one layer's weights
/// (storage type), f32 gradients, input and output gradient, and the layer workspace of
/// B·T tokens, as the engine will; all of it is released on return.
enum DecoderLayerTiming {
    /// Best of `repeats` timed passes after one warm-up (kernel builds, GEMM algorithm choice).
    static func measure(config c: ModelConfig, batchSize: Int, seqLen: Int, storage: ElementType, mlpChunkTokens: Int,
                        backend: any Backend, repeats: Int = 2) throws -> (forward: Double, backward: Double) {
        let layout = LayerLayout(c), n = batchSize * seqLen, C = c.hiddenSize
        let weights = try backend.makeBuffer(storage, count: layout.count)
        let norms = try storage == .f32 ? nil : NormWeightCopies(layout: layout, backend: backend)
        let gradients = try backend.makeBuffer(.f32, count: layout.count)
        let input = try backend.makeBuffer(.f32, count: n * C), output = try backend.makeBuffer(.f32, count: n * C)
        let dResidual = try backend.makeBuffer(.f32, count: n * C)
        try fillRandom(weights.ref(), count: layout.count, scale: 0.02, seed: 1, backend: backend)
        for slot in layout.tensors where slot.name.hasSuffix("norm.weight") {
            backend.fill(norms?.ref(slot.name) ?? weights.ref(slot.offset), count: slot.count, value: 1)
        }
        try fillRandom(input.ref(), count: n * C, scale: 1, seed: 2, backend: backend)
        let invFreq = try backend.makeBuffer(RopeFrequencies.inverseFrequencies(
            headDim: c.headDim, theta: c.ropeTheta, scaling: RopeFrequencyScaling(c.ropeScaling)))
        let positions = try backend.makeBuffer((0..<n).map { Int32($0 % seqLen) })
        let layer = DecoderLayer(config: c, backend: backend,
                                 workspace: try DecoderLayerWorkspace(config: c, maxTokens: n, mlpChunkTokens: mlpChunkTokens,
                                                                      storage: storage, backend: backend),
                                 invFreq: invFreq.ref())
        let w = DecoderLayerTensors(layout: layout, buffer: weights, norms: norms)
        let g = DecoderLayerTensors(layout: layout, buffer: gradients)
        let grid = TokenGrid(batch: batchSize, seqLen: seqLen, positions: positions.ref())
        backend.fill(gradients.ref(), count: layout.count, value: 0)
        var best = (forward: Double.infinity, backward: Double.infinity)
        for i in 0...max(1, repeats) {
            let forward = timed(backend) {
                layer.forward(input: input.ref(), output: output.ref(), weights: w, grid: grid)
            }
            // Each pass starts from the same output gradient (the backward turns it into ∂L/∂input).
            try fillRandom(dResidual.ref(), count: n * C, scale: 1e-3, seed: 3, backend: backend)
            let backward = timed(backend) {
                layer.backward(input: input.ref(), dResidual: dResidual.ref(), weights: w, gradients: g, grid: grid)
            }
            if i > 0 { best = (min(best.forward, forward), min(best.backward, backward)) }
        }
        return best
    }

    /// Seconds `body`'s queued work takes, from an idle backend to its end.
    private static func timed(_ backend: any Backend, _ body: () -> Void) -> Double {
        backend.synchronize()
        let d = ContinuousClock().measure {
            body()
            backend.synchronize()
        }
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// dst[0..<count] = uniform values in ±scale: one random tile of 2^20 values uploaded in f32
    /// and copied (converted to dst's type) over the range.
    private static func fillRandom(_ dst: TensorRef, count: Int, scale: Float, seed: UInt64,
                                   backend: any Backend) throws {
        var rng = SplitMix64(seed: seed)
        let tileCount = min(count, 1 << 20)
        let tile = try backend.makeBuffer((0..<tileCount).map { _ in
            (Float(rng.next() >> 40) * 0x1p-24 * 2 - 1) * scale
        })
        for start in stride(from: 0, to: count, by: tileCount) {
            backend.copy(tile.ref(), to: dst.advanced(by: start), count: min(tileCount, count - start))
        }
    }
}
