import Backends

/// `QueuedTransfers` on CUDA streams, events and cuMemHostAlloc memory. A failing call stops
/// the process with the driver's message, as a failing op does.
extension CUDABackend: QueuedTransfers {
    public var computeQueue: any DeviceQueue { CUDAQueue(computeStream) }
    public func makeQueue() throws -> any DeviceQueue { CUDAQueue(try CUDAStream(device: device)) }
    public func makeEvent(timing: Bool) throws -> any DeviceEvent {
        CUDAQueueEvent(try CUDAEvent(device: device, timing: timing))
    }
    public func makePinnedHostMemory(bytes: Int) throws -> any PinnedHostMemory {
        try device.makeCurrent()
        return try PinnedHostBuffer(device: device, bytes: bytes)
    }

    public func registerHostMemory(_ base: UnsafeMutableRawPointer, bytes: Int) throws -> any PinnedHostMemory {
        try device.makeCurrent()
        return try HostRegistration(device: device, base: base, bytes: bytes)
    }

    public func copyToDevice(converting source: UnsafePointer<Float>, to destination: TensorRef, count: Int,
                             scratch: TensorRef, on queue: any DeviceQueue) {
        enqueue("copyToDevice(converting)", timed: false) {
            try copyToDevice(converting: source, to: destination, count: count, scratch: scratch,
                             on: CUDAQueue.stream(queue))
        }
    }

    public func copyToDevice(from source: UnsafeRawPointer, to destination: TensorRef, bytes: Int, on queue: any DeviceQueue) {
        enqueue("copyToDevice", timed: false) { try copyToDevice(from: source, to: destination, bytes: bytes, on: CUDAQueue.stream(queue)) }
    }

    public func copyToHost(from source: TensorRef, to destination: UnsafeMutableRawPointer, bytes: Int, on queue: any DeviceQueue) {
        enqueue("copyToHost", timed: false) { try copyToHost(from: source, to: destination, bytes: bytes, on: CUDAQueue.stream(queue)) }
    }

    public func copyToHost(converting source: TensorRef, toBF16 destination: UnsafeMutablePointer<UInt16>, count: Int,
                           scratch: TensorRef, on queue: any DeviceQueue) {
        enqueue("copyToHost(converting)", timed: false) {
            try copyToHost(converting: source, toBF16: destination, count: count, scratch: scratch,
                           on: CUDAQueue.stream(queue))
        }
    }
}

/// A CUDA stream as a `DeviceQueue`.
final class CUDAQueue: DeviceQueue {
    let stream: CUDAStream

    init(_ stream: CUDAStream) { self.stream = stream }

    static func stream(_ queue: any DeviceQueue) -> CUDAStream {
        guard let q = queue as? CUDAQueue else { preconditionFailure("a queue of another backend passed to the CUDA backend") }
        return q.stream
    }

    func wait(for event: any DeviceEvent) {
        guard let e = event as? CUDAQueueEvent else { preconditionFailure("an event of another backend passed to a CUDA stream") }
        do { try stream.wait(for: e.event) } catch { fatalError("CUDA stream wait: \(error)") }
    }

    func synchronize() {
        do { try stream.synchronize() } catch { fatalError("CUDA stream synchronize: \(error)") }
    }
}

/// A CUDA event as a `DeviceEvent`.
final class CUDAQueueEvent: DeviceEvent {
    let event: CUDAEvent

    init(_ event: CUDAEvent) { self.event = event }

    func record(on queue: any DeviceQueue) {
        do { try event.record(on: CUDAQueue.stream(queue)) } catch { fatalError("CUDA event record: \(error)") }
    }

    /// Callable from any thread (the engine's optimizer thread waits here).
    func synchronize() {
        do {
            try event.device.makeCurrent()
            try event.synchronize()
        } catch { fatalError("CUDA event synchronize: \(error)") }
    }

    var isComplete: Bool {
        do { return try event.isComplete() } catch { fatalError("CUDA event query: \(error)") }
    }

    func milliseconds(since start: any DeviceEvent) -> Double {
        guard let s = start as? CUDAQueueEvent else { preconditionFailure("an event of another backend passed to a CUDA event") }
        do { return try event.milliseconds(since: s.event) } catch { fatalError("CUDA event timing: \(error)") }
    }
}

extension HostRegistration: PinnedHostMemory {
    public var bytes: UnsafeMutableRawPointer { base }
}

extension PinnedHostBuffer: PinnedHostMemory {
    public var byteCount: Int { count }
}
