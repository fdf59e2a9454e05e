/// Where a sliding-window run keeps the fp32 masters and AdamW moments of the embedding, final
/// norm and LM head (`ModelLevelParameters`), and so which processor updates them.
///
/// On the GPU they cost 18 B/param of GPU memory (16 for the f32 final norm) and their AdamW is
/// a few milliseconds on the compute queue; on the host they cost 6 B/param there, but their
/// host AdamW (for a 128k vocabulary, ~0.5 B parameters each) adds to the host thread's work,
/// which bounds the step at small batches (1.5B at 8×1024: 153 → 306 ms of host AdamW per step).
public enum ModelLevelPlacement: String, CaseIterable, Sendable {
    /// Compute weights, fp32 gradients, masters and moments on the GPU, updated there.
    case gpu
    /// Compute weights and fp32 gradients on the GPU; masters and moments on the host, updated
    /// by the host AdamW thread.
    case host
    /// The GPU when the plan with them there fits the budgets, else the host.
    case auto
}
