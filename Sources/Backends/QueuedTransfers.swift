/// A queue of device work (a CUDA stream): work on one queue runs in order; queues run
/// independently of each other unless ordered by `DeviceEvent`s.
public protocol DeviceQueue: AnyObject {
    /// Later work on this queue waits until `event`'s recorded point has been reached.
    func wait(for event: any DeviceEvent)
    /// Blocks the calling thread until everything queued so far has finished.
    func synchronize()
}

/// A point in a queue's work: recorded on one queue, waited for by other queues or the host.
public protocol DeviceEvent: AnyObject {
    /// Marks the current end of `queue`'s work (the event fires when that work is done).
    func record(on queue: any DeviceQueue)
    /// Blocks the calling thread until the recorded point has been reached.
    func synchronize()
    /// Whether the recorded point has been reached (without blocking).
    var isComplete: Bool { get }
    /// Device milliseconds from `start` to this event (both made with `timing`, both fired).
    func milliseconds(since start: any DeviceEvent) -> Double
}

/// Host memory the device's copy engines read and write directly (page-locked on a GPU):
/// what asynchronous copies need. Freed with the object.
public protocol PinnedHostMemory: AnyObject {
    var bytes: UnsafeMutableRawPointer { get }
    var byteCount: Int { get }
}

/// A backend whose transfers can run on queues of their own, overlapping its ops: an engine
/// makes its own queues and events (no queue is global), enqueues copies between pinned host
/// memory and device buffers on them, and orders them against the ops with events.
/// The ops of `Backend` all run on `computeQueue`.
///
/// The host memory of a copy must stay untouched, and the device buffer referenced, until an
/// event recorded after the copy has fired. A backend without asynchronous queues (the CPU)
/// runs every copy at once: its queues and events are then trivially ordered.
public protocol QueuedTransfers: Backend {
    /// The queue every op of the backend is enqueued on.
    var computeQueue: any DeviceQueue { get }
    func makeQueue() throws -> any DeviceQueue
    /// `timing`: the event can be used with `milliseconds(since:)` (costs a little more).
    func makeEvent(timing: Bool) throws -> any DeviceEvent
    func makePinnedHostMemory(bytes: Int) throws -> any PinnedHostMemory
    /// Pins `bytes` bytes of existing host memory at `base` (cuMemHostRegister on a GPU) for as
    /// long as the returned object lives, so copies from it run asynchronously at full speed.
    /// The range must not share a page with another registered range.
    func registerHostMemory(_ base: UnsafeMutableRawPointer, bytes: Int) throws -> any PinnedHostMemory
    /// Enqueues host → device: `bytes` bytes from `source` into `destination` on `queue`.
    func copyToDevice(from source: UnsafeRawPointer, to destination: TensorRef, bytes: Int, on queue: any DeviceQueue)
    /// Enqueues host f32 → `destination` (f32, or bf16 rounded to nearest even) on `queue`:
    /// `count` floats from registered or pinned `source`. A bf16 destination goes through the f32
    /// `scratch` in pieces of its size (each piece copied, then converted, on `queue`: one
    /// scratch of any size serves every conversion enqueued on that queue).
    func copyToDevice(converting source: UnsafePointer<Float>, to destination: TensorRef, count: Int,
                      scratch: TensorRef, on queue: any DeviceQueue)
    /// Enqueues device → host: `bytes` bytes of `source` into `destination` on `queue`.
    func copyToHost(from source: TensorRef, to destination: UnsafeMutableRawPointer, bytes: Int, on queue: any DeviceQueue)
    /// Enqueues device f32 → host bf16 (rounded to nearest even) on `queue`: `count` values of
    /// `source` into pinned `destination`, through the bf16 `scratch` in pieces of its size (each
    /// piece converted, then copied, on `queue`: one scratch serves every conversion on that queue).
    func copyToHost(converting source: TensorRef, toBF16 destination: UnsafeMutablePointer<UInt16>, count: Int,
                    scratch: TensorRef, on queue: any DeviceQueue)
}
