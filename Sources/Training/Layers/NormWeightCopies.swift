import Backends
import ModelFormats

/// A decoder layer's RMSNorm weights (input, post-attention, q/k norms) in f32 for a model whose
/// other weights are stored in bf16: PyTorch autocast casts only the operands of GEMMs to bf16
/// and keeps the fp32 norm weights (biases, GEMM operands, are cast). One compact buffer per
/// layer; each tensor keeps its element range in the layer's flat buffer, from which the
/// optimizer refreshes it (`TrainableBuffer.f32Copies`).
struct NormWeightCopies {
    /// (N) f32: the norm tensors, each starting on a `LayerLayout.alignment` boundary.
    let buffer: any DeviceBuffer
    /// Each norm tensor of the layer layout with its offset in `buffer`.
    let slots: [(slot: TensorSlot, offset: Int)]

    init(layout: LayerLayout, backend: any Backend) throws {
        let (slots, count) = Self.placement(layout)
        self.slots = slots
        buffer = try backend.makeBuffer(.f32, count: count)
    }

    /// Elements of `buffer` for a layer of this layout.
    static func elementCount(_ layout: LayerLayout) -> Int { placement(layout).count }

    /// Each norm tensor with its offset, and the buffer's element count (at least 1).
    private static func placement(_ layout: LayerLayout) -> (slots: [(slot: TensorSlot, offset: Int)], count: Int) {
        var slots: [(TensorSlot, Int)] = [], count = 0
        for slot in layout.tensors where slot.name.hasSuffix("norm.weight") {
            slots.append((slot, count))
            count += (slot.count + LayerLayout.alignment - 1) / LayerLayout.alignment * LayerLayout.alignment
        }
        return (slots, max(count, 1))
    }

    /// The copy of tensor `name` (nil when it is no norm weight).
    func ref(_ name: String) -> TensorRef? {
        slots.first { $0.slot.name == name }.map { buffer.ref($0.offset) }
    }

    /// Where the optimizer writes each norm tensor's fp32 master after an update.
    var f32Copies: [TrainableBuffer.F32Copy] {
        slots.map { .init(range: $0.slot.offset..<($0.slot.offset + $0.slot.count), target: buffer.ref($0.offset)) }
    }

    /// Enqueues H2D of the norm tensors from a layer's fp32 masters (registered or pinned host
    /// memory, the layer's flat layout) on `queue`.
    func load(from masters: UnsafePointer<Float>, backend: any QueuedTransfers, on queue: any DeviceQueue) {
        for (slot, offset) in slots {
            backend.copyToDevice(from: UnsafeRawPointer(masters + slot.offset), to: buffer.ref(offset),
                                 bytes: slot.count * 4, on: queue)
        }
    }

    /// Copies the norm tensors from a layer's fp32 masters on the device (the compute queue).
    func refresh(from masters: any DeviceBuffer, backend: any Backend) {
        for c in f32Copies { backend.copy(masters.ref(c.range.lowerBound), to: c.target, count: c.range.count) }
    }

    /// Copies the norm tensors from a host layer buffer (fp32, unrounded).
    func upload(from host: FloatBuffer, backend: any Backend) {
        for (slot, offset) in slots {
            backend.upload(UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: host.pointer[slot.offset..<(slot.offset + slot.count)])),
                           to: buffer.ref(offset))
        }
    }
}
