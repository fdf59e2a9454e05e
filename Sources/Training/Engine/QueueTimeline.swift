import Backends

/// Device time one queue spends on the engine's work in a step, from timing events recorded
/// around each piece of work (after the piece's waits on other queues, so waiting is not
/// counted): the sum over pieces is the queue's busy time. Events are made once and reused.
final class QueueTimeline {
    private let backend: any QueuedTransfers
    private let queue: any DeviceQueue
    private var events: [(start: any DeviceEvent, end: any DeviceEvent)] = []
    private var used = 0

    init(backend: any QueuedTransfers, queue: any DeviceQueue) {
        self.backend = backend
        self.queue = queue
    }

    /// Runs `body` (which enqueues on the queue) between two recorded events.
    func measure(_ body: () -> Void) throws {
        if used == events.count { events.append((try backend.makeEvent(timing: true), try backend.makeEvent(timing: true))) }
        let pair = events[used]
        used += 1
        pair.start.record(on: queue)
        body()
        pair.end.record(on: queue)
    }

    /// The busy milliseconds since the last call; the queue's work must have finished.
    func takeMilliseconds() -> Double {
        defer { used = 0 }
        return events[0..<used].reduce(0) { $0 + $1.end.milliseconds(since: $1.start) }
    }
}
