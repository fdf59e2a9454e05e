import ArgumentParser
import Training

extension CheckpointElementType: ExpressibleByArgument {}

/// The sliding-window engine's activation checkpoint type (`train`, `bench sliding`, `plan`).
struct CheckpointFlags: ParsableArguments {
    @Option(help: "Sliding engine: element type of the activation checkpoints (each layer's input, kept in pinned host memory for the backward): f32 (exact: results identical to resident training) or bf16 (halves checkpoint host RAM and PCIe traffic; the recompute reads bf16-rounded layer inputs, so results differ slightly from resident training).")
    var checkpointDtype: CheckpointElementType = .f32
}
