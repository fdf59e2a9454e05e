/// The CPU backend runs each op and copy to completion when it is called, so its queues and
/// events have nothing to order: they exist so that an engine written for asynchronous
/// backends runs unchanged (and is tested) on the CPU.
extension CPUBackend: QueuedTransfers {
    public var computeQueue: any DeviceQueue { ImmediateQueue() }
    public func makeQueue() throws -> any DeviceQueue { ImmediateQueue() }
    public func makeEvent(timing: Bool) throws -> any DeviceEvent { ImmediateEvent() }
    public func makePinnedHostMemory(bytes: Int) throws -> any PinnedHostMemory {
        allocationLog?.recordPinned(bytes: bytes)
        return AlignedHostMemory(byteCount: bytes)
    }

    public func registerHostMemory(_ base: UnsafeMutableRawPointer, bytes: Int) throws -> any PinnedHostMemory {
        RegisteredHostRange(bytes: base, byteCount: bytes)
    }

    public func copyToDevice(converting source: UnsafePointer<Float>, to destination: TensorRef, count: Int,
                             scratch: TensorRef, on queue: any DeviceQueue) {
        if destination.elementType == .f32 {
            return upload(UnsafeRawBufferPointer(start: source, count: count * 4), to: destination)
        }
        let piece = scratch.buffer.count - scratch.offset
        precondition(piece > 0, "copyToDevice(converting:): empty scratch")
        for lo in stride(from: 0, to: count, by: piece) {
            let n = min(piece, count - lo)
            upload(UnsafeRawBufferPointer(start: source + lo, count: n * 4), to: scratch)
            copy(scratch, to: destination.advanced(by: lo), count: n)
        }
    }

    public func copyToDevice(from source: UnsafeRawPointer, to destination: TensorRef, bytes: Int, on queue: any DeviceQueue) {
        upload(UnsafeRawBufferPointer(start: source, count: bytes), to: destination)
    }

    public func copyToHost(from source: TensorRef, to destination: UnsafeMutableRawPointer, bytes: Int, on queue: any DeviceQueue) {
        download(source, into: UnsafeMutableRawBufferPointer(start: destination, count: bytes))
    }

    public func copyToHost(converting source: TensorRef, toBF16 destination: UnsafeMutablePointer<UInt16>, count: Int,
                           scratch: TensorRef, on queue: any DeviceQueue) {
        // A copy, not an op: it may run beside the compute queue's ops (on a test double's
        // queues), so it rounds element by element here rather than on the ops' worker pool,
        // and needs no scratch.
        precondition(source.elementType == .f32 && scratch.elementType == .bf16, "copyToHost(converting:): f32 to bf16")
        let s = floats(source, count)
        for i in 0..<count { destination[i] = BFloat16Conversion.fromFloat(s[i]) }
    }
}

/// Work "queued" on the CPU backend is already done.
final class ImmediateQueue: DeviceQueue {
    func wait(for event: any DeviceEvent) {}
    func synchronize() {}
}

/// An event of the CPU backend: fired when recorded, at the host time of its recording (the
/// work before it is done by then), so timings between events are host times.
final class ImmediateEvent: DeviceEvent {
    private var recorded = ContinuousClock.now

    func record(on queue: any DeviceQueue) { recorded = .now }
    func synchronize() {}
    var isComplete: Bool { true }
    func milliseconds(since start: any DeviceEvent) -> Double {
        guard let start = start as? ImmediateEvent else { return 0 }
        let d = recorded - start.recorded
        return Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15
    }
}

/// 64-byte aligned host memory (every host page is "pinned" for the CPU backend).
final class AlignedHostMemory: PinnedHostMemory {
    let bytes: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = byteCount
        bytes = UnsafeMutableRawPointer.allocate(byteCount: max(1, byteCount), alignment: 64)
    }

    deinit { bytes.deallocate() }
}

/// Host memory owned elsewhere, "registered" (nothing to do on the CPU).
final class RegisteredHostRange: PinnedHostMemory {
    let bytes: UnsafeMutableRawPointer
    let byteCount: Int

    init(bytes: UnsafeMutableRawPointer, byteCount: Int) {
        self.bytes = bytes
        self.byteCount = byteCount
    }
}
