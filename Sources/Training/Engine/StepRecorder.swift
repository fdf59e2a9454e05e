import Backends

/// Records one training step's pieces of work for `StepTelemetry`: timing events around each
/// piece on a device queue (after the piece's waits, so waiting is not counted), elapsed from
/// a reference event recorded on the compute queue when the step begins, and what each compute
/// piece waited for. Events and storage are made in the first step and reused after.
final class StepRecorder {
    private struct Piece {
        var track: TelemetryTrack
        var bytes: Int
        /// Compute pieces: the last H2D / D2H piece they were ordered after (-1: none), and
        /// whether the host blocked on an AdamW update since the previous compute piece.
        var afterHostToDevice: Int
        var afterDeviceToHost: Int
        var afterOptimizer: Bool
    }

    private let backend: any QueuedTransfers
    private let reference: any DeviceEvent
    private var events: [(start: any DeviceEvent, end: any DeviceEvent)] = []
    private var pieces: [Piece] = []
    private var lastPiece: [Int] = [-1, -1, -1]
    /// The piece each event was recorded after, with its step.
    private var recordedAfter: [ObjectIdentifier: (step: Int, piece: Int)] = [:]
    /// What the next compute piece waits for: pieces per copy track, and AdamW.
    private var waitingFor: [Int] = [-1, -1, -1]
    private var blockedOnOptimizer = false
    /// The step being recorded (0: none) and the host time its reference event was recorded.
    private(set) var step = 0
    private(set) var start = ContinuousClock.now
    /// The pieces of the last finished step, in the order they were enqueued per track.
    private(set) var spans: [TimedSpan] = []

    init(backend: any QueuedTransfers) throws {
        self.backend = backend
        reference = try backend.makeEvent(timing: true)
    }

    func begin(step: Int, on compute: any DeviceQueue) {
        self.step = step
        pieces.removeAll(keepingCapacity: true)
        for t in 0..<3 { lastPiece[t] = -1; waitingFor[t] = -1 }
        blockedOnOptimizer = false
        start = .now
        reference.record(on: compute)
    }

    /// Runs `body` (which enqueues `bytes` of copies, or compute, on `queue`) between two events.
    func measure(_ track: TelemetryTrack, on queue: any DeviceQueue, bytes: Int, _ body: () -> Void) throws {
        let n = pieces.count
        if n == events.count { events.append((try backend.makeEvent(timing: true), try backend.makeEvent(timing: true))) }
        let compute = track == .compute
        pieces.append(Piece(track: track, bytes: bytes,
                            afterHostToDevice: compute ? waitingFor[TelemetryTrack.hostToDevice.rawValue] : -1,
                            afterDeviceToHost: compute ? waitingFor[TelemetryTrack.deviceToHost.rawValue] : -1,
                            afterOptimizer: compute && blockedOnOptimizer))
        if compute {
            blockedOnOptimizer = false
            for t in 0..<3 { waitingFor[t] = -1 }
        }
        lastPiece[track.rawValue] = n
        events[n].start.record(on: queue)
        body()
        events[n].end.record(on: queue)
    }

    /// `event` was just recorded on `track`'s queue, after its last piece.
    func recorded(_ event: any DeviceEvent, on track: TelemetryTrack) {
        recordedAfter[ObjectIdentifier(event)] = (step, lastPiece[track.rawValue])
    }

    /// The compute queue was just ordered after `event` (recorded on `track`'s queue).
    func computeWaits(for event: any DeviceEvent, on track: TelemetryTrack) {
        guard let r = recordedAfter[ObjectIdentifier(event)], r.step == step else { return }
        waitingFor[track.rawValue] = max(waitingFor[track.rawValue], r.piece)
    }

    /// The host blocked until an AdamW update was done.
    func noteOptimizerWait() { blockedOnOptimizer = true }

    /// Reads the step's events (every piece must have finished) and adds the host AdamW pieces
    /// (`optimizer`: layer, host start and end): the step's telemetry. `end`: the next step's
    /// start; nil: the end of the last piece.
    func finish(optimizer: [(layer: Int, start: ContinuousClock.Instant, end: ContinuousClock.Instant)],
                end: ContinuousClock.Instant?) -> StepTelemetry {
        spans.removeAll(keepingCapacity: true)
        var computeEnd = 0.0
        for (i, p) in pieces.enumerated() {
            var s = TimedSpan(track: p.track, startMilliseconds: events[i].start.milliseconds(since: reference),
                              endMilliseconds: events[i].end.milliseconds(since: reference), bytes: p.bytes)
            if p.track == .compute {
                s.wait = cause(p, idleSince: computeEnd)
                computeEnd = s.endMilliseconds
            }
            spans.append(s)
        }
        for o in optimizer {
            spans.append(TimedSpan(track: .optimizer, startMilliseconds: seconds(o.start - start) * 1e3,
                                   endMilliseconds: seconds(o.end - start) * 1e3, layer: o.layer))
        }
        let stepMilliseconds = end.map { seconds($0 - start) * 1e3 } ?? spans.reduce(0) { max($0, $1.endMilliseconds) }
        let t = StepTelemetry(step: step, stepMilliseconds: stepMilliseconds, spans: spans)
        step = 0
        return t
    }

    /// What a compute piece waited for: AdamW when the host blocked on it before enqueueing the
    /// piece; else the copy (of this step) it was ordered after that ended last, if that was
    /// after the compute queue went idle; else nothing (the host was late enqueueing).
    private func cause(_ p: Piece, idleSince computeEnd: Double) -> ComputeWait {
        if p.afterOptimizer { return .optimizer }
        func end(_ i: Int) -> Double { i < 0 ? -.infinity : events[i].end.milliseconds(since: reference) }
        let h2d = end(p.afterHostToDevice), d2h = end(p.afterDeviceToHost)
        guard max(h2d, d2h) > computeEnd else { return .none }
        return h2d >= d2h ? .hostToDevice : .deviceToHost
    }
}
