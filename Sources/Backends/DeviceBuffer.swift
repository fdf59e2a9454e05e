/// Memory owned by a backend (host RAM for the CPU backend, GPU memory for CUDA): an opaque
/// handle that frees its memory when the last reference goes away. A backend that runs ops
/// asynchronously keeps the buffers of queued ops alive until those ops have finished.
/// Buffers are only ever passed back to the backend that made them.
public protocol DeviceBuffer: AnyObject {
    var elementType: ElementType { get }
    /// Number of elements.
    var count: Int { get }
}

extension DeviceBuffer {
    /// A reference to element `offset` of this buffer.
    public func ref(_ offset: Int = 0) -> TensorRef { TensorRef(self, offset: offset) }

    /// Traps unless `count` elements of `type` from `byteOffset` (a multiple of 256) lie within
    /// this buffer: the bounds of a view (`Backend.makeView`).
    public func checkViewBounds(_ type: ElementType, count: Int, byteOffset: Int) {
        precondition(byteOffset >= 0 && byteOffset % 256 == 0 && count >= 0
                        && byteOffset + count * type.byteSize <= self.count * elementType.byteSize,
                     "view of \(count) \(type) at byte \(byteOffset) outside a buffer of \(self.count) \(elementType)")
    }
}

/// An operand of an op: a buffer and an element offset into it. Shapes are given to each op
/// as explicit integers; data is row-major and contiguous from `offset`.
public struct TensorRef {
    public let buffer: any DeviceBuffer
    /// Offset in elements (not bytes).
    public let offset: Int

    public init(_ buffer: any DeviceBuffer, offset: Int = 0) {
        self.buffer = buffer
        self.offset = offset
    }

    public var elementType: ElementType { buffer.elementType }

    /// The same buffer, `elements` further on.
    public func advanced(by elements: Int) -> TensorRef { TensorRef(buffer, offset: offset + elements) }
}
