import ModelFormats
import Support

/// `--resident-layers auto`: the smallest number M of first decoder layers to keep on the GPU
/// with their AdamW state so that the host AdamW of the other layers hides behind compute, by
/// a bound model of one step, per decoder layer of P parameters (`ResidentLayerRates`: measured
/// on this machine before the run, or nominal): forward f and recompute + backward b of one
/// micro-batch on the GPU, host AdamW a = P / R (R: host AdamW parameters/s).
/// When the plan keeps the embedding, final norm and LM head off the GPU their AdamW runs on the
/// host thread too: e = embedding / R, h = final norm and LM head / R.
/// Without clipping the updates of the L−M streamed layers start when the last layer's
/// gradient lands and must end before the next step's forward reaches layer M:
///   (L−M)·a + e + h ≤ (accum·(L−1) + (accum−1))·b + M·f   (approximately: the other micro-batches' passes too).
/// With clipping (or accumulation) they start after the backward, in forward order (the
/// embedding first), and layer j's update must end before the next forward reaches it:
/// e + (j−M+1)·a ≤ j·f for every j ≥ M, and the head's before the loss: e + (L−M)·a + h ≤ L·f.
/// Among the M whose plan fits the GPU budget, the smallest that hides the AdamW. When none
/// does, the step is bound by the host, so the M with the least host work per step: the host
/// AdamW, (L−M)·a + e + h, plus the second upload of each streamed layer beyond the plan's
/// window, u = 4·P / H2D (fp32 masters). More resident layers shrink the window, so the
/// largest M that fits is not always best (8B at 8×1024 on an 80 GB GPU: 18 resident layers
/// keep all 14 streamed ones in the window, 19 leave 10 of 13; `ResidentLayerChoiceTests`).
public enum ResidentLayerChoice {
    /// The choice and why.
    public static func choose(config c: ModelConfig, batchSize: Int, seqLen: Int, gradAccum: Int, clipping: Bool,
                              gpuBudget: Int?, hostBudget: Int?, rates: ResidentLayerRates,
                              modelLevel: ModelLevelPlacement = .auto,
                              checkpointType: CheckpointElementType = .f32,
                              mlpChunkTokens: Int = MemoryPlanner.mlpChunkTokens) -> (layers: Int, reason: String) {
        let layout = ModelLayout(c)
        let L = c.numLayers, P = Double(layout.layer.count)
        let f = rates.layerForward, b = rates.layerBackward, a = P / rates.hostAdamW
        let accum = Double(gradAccum)
        func plan(_ m: Int) -> SlidingWindowPlan {
            MemoryPlanner.plan(config: c, batchSize: batchSize, seqLen: seqLen, gpuBudget: gpuBudget,
                               hostBudget: hostBudget, clipping: clipping, residentLayers: m, modelLevel: modelLevel,
                               checkpointType: checkpointType, mlpChunkTokens: mlpChunkTokens)
        }
        /// The host AdamW of the embedding (e) and of the final norm and LM head (h): 0 when the
        /// plan keeps them on the GPU.
        func modelLevelAdamW(_ p: SlidingWindowPlan) -> (e: Double, h: Double) {
            guard p.modelLevel != .gpu else { return (0, 0) }
            return (Double(layout.embedding.count) / rates.hostAdamW,
                    Double(layout.finalNorm.count + (layout.lmHead?.count ?? 0)) / rates.hostAdamW)
        }
        func hides(_ m: Int, _ p: SlidingWindowPlan) -> Bool {
            let (e, h) = modelLevelAdamW(p)
            if clipping {
                return (m..<L).allSatisfy { j in e + Double(j - m + 1) * a <= Double(j) * f }
                    && e + Double(L - m) * a + h <= Double(L) * f
            }
            return Double(L - m) * a + e + h <= (accum * Double(L - 1) + accum - 1) * b + Double(m) * f
        }
        let fitting = (0...L).map { ($0, plan($0)) }.filter { $0.1.fits }
        guard let largest = fitting.last?.0 else { return (0, "no count of resident layers fits") }
        if let m = fitting.first(where: { hides($0.0, $0.1) })?.0 {
            return (m, "the smallest that hides the host AdamW (\(fmt(a)) ms/layer) behind compute "
                    + "(forward \(fmt(f)), recompute + backward \(fmt(b)) ms/layer, \(rates.source))")
        }
        let u = 4 * P / rates.hostToDevice
        func hostWork(_ m: Int, _ p: SlidingWindowPlan) -> Double {
            let (e, h) = modelLevelAdamW(p)
            return Double(L - m) * a + e + h + Double(max(0, L - m - p.window)) * u
        }
        // The least host work; the more resident layers on a tie.
        let best = fitting.min { x, y in
            let (wx, wy) = (hostWork(x.0, x.1), hostWork(y.0, y.1))
            return wx < wy || (wx == wy && x.0 > y.0)
        }?.0 ?? largest
        return (best, "none hides the host AdamW (\(fmt(a)) ms/layer) behind compute (forward \(fmt(f)), recompute + "
                + "backward \(fmt(b)) ms/layer, \(rates.source)): the count with the least host work per step (AdamW and "
                + "second uploads past the window, \(fmt(u)) ms/layer)")
    }

    private static func fmt(_ seconds: Double) -> String { Format.fixed(seconds * 1e3, 2) }
}
