import ModelFormats
import Support

/// `--resident-layers auto`: the smallest number M of first decoder layers to keep on the GPU
/// with their AdamW state so that the host AdamW of the other layers hides behind compute, by
/// a bound model of one step (per decoder layer of P parameters at N tokens per micro-batch):
///   forward f = 2·P·N / F, recompute + backward b = 6·P·N / F (F: sustained GPU FLOP/s),
///   host AdamW a = P / R (R: host AdamW parameters/s).
/// Without clipping the updates of the L−M streamed layers start when the last layer's
/// gradient lands and must end before the next step's forward reaches layer M:
///   (L−M)·a ≤ (accum·(L−1) + (accum−1))·b + M·f   (approximately: the other micro-batches' passes too).
/// With clipping (or accumulation) they start after the backward, in forward order, and layer
/// j's update must end before the next forward reaches it: (j−M+1)·a ≤ j·f for every j ≥ M.
/// Among the M whose plan fits the GPU budget, the smallest that hides the AdamW; when none
/// does, the largest that fits (the AdamW is then as short as memory allows).
public enum ResidentLayerChoice {
    /// Measured on an H100 host (bench/RESULTS.md): the host AdamW at ~4 Gparam/s
    /// with the engine's thread pool, the GPU at ~400 TFLOP/s on the 1.5B shape's layers.
    public static let hostAdamWRate = 4e9
    public static let gpuFlops = 400e12

    /// The choice and why.
    public static func choose(config c: ModelConfig, batchSize: Int, seqLen: Int, gradAccum: Int, clipping: Bool,
                              gpuBudget: Int?, hostBudget: Int?, modelLevel: ModelLevelPlacement = .auto,
                              checkpointType: CheckpointElementType = .f32,
                              mlpChunkTokens: Int = MemoryPlanner.mlpChunkTokens) -> (layers: Int, reason: String) {
        let L = c.numLayers, P = Double(ModelLayout(c).layer.count), N = Double(batchSize * seqLen)
        let f = 2 * P * N / gpuFlops, b = 3 * f, a = P / hostAdamWRate
        let accum = Double(gradAccum)
        func hides(_ m: Int) -> Bool {
            if m == L { return true }
            if clipping { return (m..<L).allSatisfy { j in Double(j - m + 1) * a <= Double(j) * f } }
            return Double(L - m) * a <= (accum * Double(L - 1) + accum - 1) * b + Double(m) * f
        }
        func fits(_ m: Int) -> Bool {
            MemoryPlanner.plan(config: c, batchSize: batchSize, seqLen: seqLen, gpuBudget: gpuBudget,
                               hostBudget: hostBudget, clipping: clipping, residentLayers: m, modelLevel: modelLevel,
                               checkpointType: checkpointType, mlpChunkTokens: mlpChunkTokens).fits
        }
        let fitting = (0...L).filter(fits)
        guard let largest = fitting.last else { return (0, "no count of resident layers fits") }
        if let m = fitting.first(where: hides) {
            return (m, "the smallest that hides the host AdamW (\(fmt(a)) ms/layer) behind compute "
                    + "(forward \(fmt(f)), backward \(fmt(b)) ms/layer by the bound model)")
        }
        return (largest, "the most that fit the GPU; the host AdamW (\(fmt(a)) ms/layer) is not hidden behind "
                + "compute (forward \(fmt(f)), backward \(fmt(b)) ms/layer by the bound model)")
    }

    private static func fmt(_ seconds: Double) -> String { Format.fixed(seconds * 1e3, 2) }
}
