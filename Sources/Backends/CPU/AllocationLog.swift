/// The allocations a backend made, in order: device buffers (element type and count) and
/// pinned host memory (bytes). One log per backend instance; not thread-safe (allocations
/// happen on the thread that builds an engine).
public final class AllocationLog {
    public struct DeviceAllocation: Sendable, Equatable {
        public let type: ElementType
        public let count: Int
        public var bytes: Int { type.byteSize * count }
    }

    public private(set) var device: [DeviceAllocation] = []
    public private(set) var pinnedBytes: [Int] = []

    public init() {}

    public var deviceBytes: Int { device.reduce(0) { $0 + $1.bytes } }
    public var pinnedTotal: Int { pinnedBytes.reduce(0, +) }

    func recordDevice(_ type: ElementType, count: Int) { device.append(.init(type: type, count: count)) }
    func recordPinned(bytes: Int) { pinnedBytes.append(bytes) }
}
