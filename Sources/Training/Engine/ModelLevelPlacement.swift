/// Where a sliding-window run keeps the embedding, final norm and LM head
/// (`ModelLevelParameters`), and so which processor updates them.
///
/// On the GPU they cost 18 B/param of GPU memory (16 for the f32 final norm) and their AdamW is
/// a few milliseconds on the compute queue; on the host they cost 6 B/param there, but their
/// host AdamW (for a 128k vocabulary, ~0.5 B parameters each) adds to the host thread's work,
/// which bounds the step at small batches (1.5B at 8×1024: 153 → 306 ms of host AdamW per step).
/// Streamed, the embedding and LM head cost only a few chunks of GPU memory (Llama-3.1-8B:
/// 5.87 GiB on the host placement, ~0.5 GiB streamed at 8×1024) for a second H2D of the
/// head's weights per micro-batch (`StreamedModelLevel`).
public enum ModelLevelPlacement: String, CaseIterable, Sendable {
    /// Compute weights, fp32 gradients, masters and moments on the GPU, updated there.
    case gpu
    /// Compute weights and fp32 gradients on the GPU; masters and moments on the host, updated
    /// by the host AdamW thread.
    case host
    /// Masters and moments on the host (updated there); the embedding's rows gathered on the
    /// host and the LM head's weights streamed in vocabulary chunks, their gradients sent back
    /// chunk by chunk. The final norm as `host`. Untied LM heads only (a tied head is the
    /// embedding, needed whole by both ends of the pass).
    case streamed
    /// The first of gpu, host, streamed whose plan fits the GPU budget with a window no later
    /// one that fits exceeds (streamed only for an untied LM head).
    case auto
}

extension ModelLevelPlacement {
    /// Where the state and work are, in words (plans and logs).
    public var planDescription: String {
        switch self {
        case .gpu: "masters, moments and AdamW on the GPU"
        case .host: "masters, moments and AdamW on the host (compute weights and gradients on the GPU)"
        case .streamed: "masters, moments and AdamW on the host; embedding rows gathered on the host, "
            + "LM head weights and gradients streamed in vocabulary chunks"
        case .auto: "the first of GPU, host, streamed that fits"
        }
    }
}
