import Backends

/// The element type of the sliding-window engine's activation checkpoints: each decoder layer's
/// input x_i (N,C), kept in pinned host memory from the forward until the layer's recompute.
///
/// The residual stream is f32. `.f32` keeps x_i exactly, so the recompute reads the forward's
/// input and the engine matches resident training bit for bit. `.bf16` rounds x_i to bf16
/// (nearest even) on the device before it leaves and widens it back before the recompute: half
/// the pinned host memory and half the checkpoint PCIe traffic (8B at 64×1024: 31 → 15.5 GiB),
/// but the recompute and the backward read the rounded input (a relative error of at most 2^-9
/// per element), so the gradients differ slightly from resident training. The forward, and so
/// each step's loss given the weights, does not change.
public enum CheckpointElementType: String, CaseIterable, Sendable {
    case f32, bf16

    public var elementType: ElementType { self == .f32 ? .f32 : .bf16 }
    public var byteSize: Int { elementType.byteSize }
}
