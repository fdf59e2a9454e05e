import Backends

/// The one activation the forward keeps per decoder layer: its input (N,C). Slot i < L is
/// layer i's input, slot L the last layer's output (the final norm's input). The backward
/// recomputes everything else of a layer from its slot.
final class ActivationCheckpoints {
    private let buffer: any DeviceBuffer
    private let slotElements: Int
    let slots: Int

    /// `layers + 1` slots of (maxTokens, channels).
    init(layers: Int, maxTokens: Int, channels: Int, backend: any Backend) throws {
        slots = layers + 1
        slotElements = maxTokens * channels
        buffer = try backend.makeBuffer(.f32, count: slots * slotElements)
    }

    /// (N,C) input of layer `i`; `i` = layers is the final hidden state.
    func slot(_ i: Int) -> TensorRef {
        precondition(i >= 0 && i < slots, "activation checkpoint \(i) outside 0..<\(slots)")
        return buffer.ref(i * slotElements)
    }
}
