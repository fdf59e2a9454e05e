import ArgumentParser
import Training

extension CheckpointElementType: ExpressibleByArgument {}
extension GradientElementType: ExpressibleByArgument {}

/// The sliding-window engine's options that `train`, `bench sliding` and `plan` share: where
/// the embedding / LM head go, the activation checkpoint and host-bound gradient types, the
/// landing buffers.
struct SlidingEngineFlags: ParsableArguments {
    @Option(help: "Sliding engine: where the embedding, final norm and LM head are: gpu (masters, AdamW state and updates there), host (masters and AdamW on the host, compute weights and gradients on the GPU), streamed (as host, but the embedding rows gathered on the host and the LM head streamed in vocabulary chunks; untied heads only), or auto (the first of these that fits the GPU budget with a window no later one that fits exceeds).")
    var modelLevelOn: ModelLevelPlacement = .auto

    @Option(help: "Sliding engine, one micro-batch without clipping: host gradient landing buffers (2 to one per streamed layer). More let the CPU AdamW run on into the next forward, at 4 B (bf16 gradients: 2 B) per parameter of a layer each. Default: as many as fit the host memory the plan leaves within 12 B/param + activation checkpoints + 2 GB (and 90 % of the available memory), at least 2.")
    var landingBuffers: Int?

    @Option(help: "Sliding engine: element type of the activation checkpoints (each layer's input, kept in pinned host memory for the backward): f32 (exact: results identical to resident training) or bf16 (halves checkpoint host RAM and PCIe traffic; the recompute reads bf16-rounded layer inputs, so results differ slightly from resident training).")
    var checkpointDtype: CheckpointElementType = .f32

    @Option(help: "Sliding engine: element type in which the gradients of the host-updated parameters leave the GPU for the CPU AdamW: f32 (exact: results identical to resident training) or bf16 (rounded on the GPU: half the D2H traffic and landing memory, less host-memory traffic; torch autocast's own values for linear weights; one micro-batch per step only). Default: bf16 on a bf16 GPU with one micro-batch per step, else f32 (bench sliding --compare-resident: f32).")
    var gradientDtype: GradientElementType?

    @Option(help: "Tokens per chunk of the decoder layers' MLP (its (tokens, intermediate) activations exist for one chunk at a time): larger chunks run fewer, larger GEMMs and re-read the f32 weight gradients less often, at 12 B per token and intermediate channel of GPU memory. Default 16384; the plan halves it down to 4096 while a smaller chunk would leave room for more window slots, and down to 1024 when the GPU budget is tight.")
    var mlpChunkTokens: Int?
}
