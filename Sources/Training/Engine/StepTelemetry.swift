/// Where a piece of one training step ran: the three device queues and the host AdamW thread.
public enum TelemetryTrack: Int, CaseIterable, Sendable {
    case compute, hostToDevice, deviceToHost, optimizer

    public var name: String {
        switch self {
        case .compute: "compute"
        case .hostToDevice: "H2D"
        case .deviceToHost: "D2H"
        case .optimizer: "AdamW"
        }
    }
}

/// What a compute piece waited for before it could start (set by the engine where it orders
/// the compute queue after other work). When several apply, the larger raw value wins: a host
/// wait for AdamW also delays the H2D of the weights that the compute then waits for.
public enum ComputeWait: Int, Sendable, Comparable {
    case none, deviceToHost, hostToDevice, optimizer

    public static func < (a: ComputeWait, b: ComputeWait) -> Bool { a.rawValue < b.rawValue }
}

/// One timed piece of work of a step. Times are milliseconds from the step's start: device
/// pieces from timing events (elapsed since an event recorded on the compute queue when the
/// step began), AdamW pieces from the host clock (since the host recorded that event).
public struct TimedSpan: Equatable, Sendable {
    public var track: TelemetryTrack
    public var startMilliseconds: Double
    public var endMilliseconds: Double
    /// Bytes copied (transfers), else 0.
    public var bytes: Int
    /// Compute pieces: what the piece waited for.
    public var wait: ComputeWait
    /// The decoder layer (AdamW pieces), else -1.
    public var layer: Int

    public init(track: TelemetryTrack, startMilliseconds: Double, endMilliseconds: Double, bytes: Int = 0,
                wait: ComputeWait = .none, layer: Int = -1) {
        self.track = track
        self.startMilliseconds = startMilliseconds
        self.endMilliseconds = endMilliseconds
        self.bytes = bytes
        self.wait = wait
        self.layer = layer
    }

    public var milliseconds: Double { endMilliseconds - startMilliseconds }
}

/// One training step's breakdown from its timed pieces:
///   busy time per track      Σ piece durations (a queue runs its pieces one at a time)
///   GPU busy fraction        compute busy / step time
///   H2D / D2H GB/s           bytes copied / the queue's busy time
///   exposed waits            the step time the compute queue spent idle, each gap before a
///                            compute piece charged to what that piece waited for (AdamW, H2D,
///                            D2H; "other" for none: the host enqueueing, the data loader), and
///                            the tail after the last compute piece to "other".
/// The four exposed waits add up to step time − compute busy time.
public struct StepTelemetry: Equatable, Sendable {
    /// The optimizer step (1 = the first update).
    public var step: Int
    /// From this step's start to the next step's start (or to the end of its last piece).
    public var stepMilliseconds: Double
    public var computeMilliseconds: Double
    public var hostToDeviceMilliseconds: Double
    public var deviceToHostMilliseconds: Double
    /// Host AdamW thread time for this step's updates.
    public var optimizerMilliseconds: Double
    public var hostToDeviceBytes: Int
    public var deviceToHostBytes: Int
    public var exposedHostToDeviceMilliseconds: Double
    public var exposedDeviceToHostMilliseconds: Double
    public var exposedOptimizerMilliseconds: Double
    public var exposedOtherMilliseconds: Double

    public init(step: Int, stepMilliseconds: Double, computeMilliseconds: Double = 0, hostToDeviceMilliseconds: Double = 0,
                deviceToHostMilliseconds: Double = 0, optimizerMilliseconds: Double = 0, hostToDeviceBytes: Int = 0,
                deviceToHostBytes: Int = 0, exposedHostToDeviceMilliseconds: Double = 0,
                exposedDeviceToHostMilliseconds: Double = 0, exposedOptimizerMilliseconds: Double = 0,
                exposedOtherMilliseconds: Double = 0) {
        self.step = step
        self.stepMilliseconds = stepMilliseconds
        self.computeMilliseconds = computeMilliseconds
        self.hostToDeviceMilliseconds = hostToDeviceMilliseconds
        self.deviceToHostMilliseconds = deviceToHostMilliseconds
        self.optimizerMilliseconds = optimizerMilliseconds
        self.hostToDeviceBytes = hostToDeviceBytes
        self.deviceToHostBytes = deviceToHostBytes
        self.exposedHostToDeviceMilliseconds = exposedHostToDeviceMilliseconds
        self.exposedDeviceToHostMilliseconds = exposedDeviceToHostMilliseconds
        self.exposedOptimizerMilliseconds = exposedOptimizerMilliseconds
        self.exposedOtherMilliseconds = exposedOtherMilliseconds
    }

    /// The breakdown of step `step` from its pieces; compute pieces in queue order.
    public init<S: Sequence>(step: Int, stepMilliseconds: Double, spans: S) where S.Element == TimedSpan {
        self.init(step: step, stepMilliseconds: stepMilliseconds)
        var computeEnd = 0.0
        for s in spans {
            switch s.track {
            case .compute:
                let gap = max(0, s.startMilliseconds - computeEnd)
                switch s.wait {
                case .none: exposedOtherMilliseconds += gap
                case .deviceToHost: exposedDeviceToHostMilliseconds += gap
                case .hostToDevice: exposedHostToDeviceMilliseconds += gap
                case .optimizer: exposedOptimizerMilliseconds += gap
                }
                computeEnd = max(computeEnd, s.endMilliseconds)
                computeMilliseconds += s.milliseconds
            case .hostToDevice:
                hostToDeviceMilliseconds += s.milliseconds
                hostToDeviceBytes += s.bytes
            case .deviceToHost:
                deviceToHostMilliseconds += s.milliseconds
                deviceToHostBytes += s.bytes
            case .optimizer:
                optimizerMilliseconds += s.milliseconds
            }
        }
        exposedOtherMilliseconds += max(0, stepMilliseconds - computeEnd)
    }

    public var gpuBusyFraction: Double { stepMilliseconds > 0 ? computeMilliseconds / stepMilliseconds : 0 }
    public var hostToDeviceGBps: Double { Self.gbps(hostToDeviceBytes, hostToDeviceMilliseconds) }
    public var deviceToHostGBps: Double { Self.gbps(deviceToHostBytes, deviceToHostMilliseconds) }
    /// The step time the compute queue was idle (the sum of the exposed waits).
    public var exposedMilliseconds: Double {
        exposedHostToDeviceMilliseconds + exposedDeviceToHostMilliseconds + exposedOptimizerMilliseconds
            + exposedOtherMilliseconds
    }

    /// Field by field mean of `steps` (`step`: the last one's); nil when empty.
    public static func mean(_ steps: [StepTelemetry]) -> StepTelemetry? {
        guard let last = steps.last else { return nil }
        let n = Double(steps.count)
        func avg(_ f: (StepTelemetry) -> Double) -> Double { steps.reduce(0) { $0 + f($1) } / n }
        func avgBytes(_ f: (StepTelemetry) -> Int) -> Int { Int((Double(steps.reduce(0) { $0 + f($1) }) / n).rounded()) }
        return StepTelemetry(step: last.step, stepMilliseconds: avg(\.stepMilliseconds),
                             computeMilliseconds: avg(\.computeMilliseconds),
                             hostToDeviceMilliseconds: avg(\.hostToDeviceMilliseconds),
                             deviceToHostMilliseconds: avg(\.deviceToHostMilliseconds),
                             optimizerMilliseconds: avg(\.optimizerMilliseconds),
                             hostToDeviceBytes: avgBytes(\.hostToDeviceBytes), deviceToHostBytes: avgBytes(\.deviceToHostBytes),
                             exposedHostToDeviceMilliseconds: avg(\.exposedHostToDeviceMilliseconds),
                             exposedDeviceToHostMilliseconds: avg(\.exposedDeviceToHostMilliseconds),
                             exposedOptimizerMilliseconds: avg(\.exposedOptimizerMilliseconds),
                             exposedOtherMilliseconds: avg(\.exposedOtherMilliseconds))
    }

    /// Bytes per busy millisecond as GB/s (0 without busy time).
    private static func gbps(_ bytes: Int, _ ms: Double) -> Double { ms > 0 ? Double(bytes) / (ms * 1e6) : 0 }
}
