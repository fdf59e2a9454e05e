import ArgumentParser
import Training

extension CheckpointElementType: ExpressibleByArgument {}
extension GradientElementType: ExpressibleByArgument {}

/// The sliding-window engine's activation checkpoint and host-bound gradient types (`train`,
/// `bench sliding`, `plan`).
struct SlidingPrecisionFlags: ParsableArguments {
    @Option(help: "Sliding engine: element type of the activation checkpoints (each layer's input, kept in pinned host memory for the backward): f32 (exact: results identical to resident training) or bf16 (halves checkpoint host RAM and PCIe traffic; the recompute reads bf16-rounded layer inputs, so results differ slightly from resident training).")
    var checkpointDtype: CheckpointElementType = .f32

    @Option(help: "Sliding engine: element type in which the gradients of the host-updated parameters leave the GPU for the CPU AdamW: f32 (exact: results identical to resident training) or bf16 (rounded on the GPU: half the D2H traffic and landing memory, less host-memory traffic; torch autocast's own values for linear weights; one micro-batch per step only).")
    var gradientDtype: GradientElementType = .f32
}
