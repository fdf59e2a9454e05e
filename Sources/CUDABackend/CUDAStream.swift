import CCUDA

/// A non-blocking CUDA stream (work on it runs in order; it does not wait for other streams).
public final class CUDAStream {
    let device: CUDADevice
    let handle: CUstream

    public init(device: CUDADevice) throws {
        self.device = device
        var s: CUstream? = nil
        try device.check(device.driver.cuStreamCreate(&s, UInt32(CCU_STREAM_NON_BLOCKING)), "cuStreamCreate")
        guard let s else { throw CUDAUnavailable(description: "cuStreamCreate returned no stream") }
        handle = s
    }

    deinit { _ = device.driver.cuStreamDestroy(handle) }

    /// Blocks until everything queued on the stream has finished.
    public func synchronize() throws {
        try device.check(device.driver.cuStreamSynchronize(handle), "cuStreamSynchronize")
    }

    /// Later work on this stream waits for `event` (recorded on any stream).
    public func wait(for event: CUDAEvent) throws {
        try device.check(device.driver.cuStreamWaitEvent(handle, event.handle, 0), "cuStreamWaitEvent")
    }
}

/// A CUDA event: a point in a stream's work, to order streams or to time work on the GPU.
public final class CUDAEvent {
    let device: CUDADevice
    let handle: CUevent

    public init(device: CUDADevice, timing: Bool = false) throws {
        self.device = device
        var e: CUevent? = nil
        let flags = timing ? CCU_EVENT_DEFAULT : CCU_EVENT_DISABLE_TIMING
        try device.check(device.driver.cuEventCreate(&e, UInt32(flags)), "cuEventCreate")
        guard let e else { throw CUDAUnavailable(description: "cuEventCreate returned no event") }
        handle = e
    }

    deinit { _ = device.driver.cuEventDestroy(handle) }

    public func record(on stream: CUDAStream) throws {
        try device.check(device.driver.cuEventRecord(handle, stream.handle), "cuEventRecord")
    }

    public func synchronize() throws {
        try device.check(device.driver.cuEventSynchronize(handle), "cuEventSynchronize")
    }

    /// Whether the work before the recorded point has finished (cuEventQuery: CUDA_ERROR_NOT_READY
    /// means not yet).
    public func isComplete() throws -> Bool {
        try device.makeCurrent()
        let notReady: CUresult = 600   // CUDA_ERROR_NOT_READY
        let status = device.driver.cuEventQuery(handle)
        if status == notReady { return false }
        try device.check(status, "cuEventQuery")
        return true
    }

    /// Milliseconds between `start` and this event (both recorded with timing enabled).
    public func milliseconds(since start: CUDAEvent) throws -> Double {
        var ms: Float = 0
        try device.check(device.driver.cuEventElapsedTime(&ms, start.handle, handle), "cuEventElapsedTime")
        return Double(ms)
    }
}
