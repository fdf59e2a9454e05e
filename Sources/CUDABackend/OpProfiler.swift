import Backends

/// Event pairs around the outermost ops enqueued on the compute stream while profiling; the
/// events are kept and reused by the next profile.
final class OpProfiler {
    private let device: CUDADevice
    private var events: [CUDAEvent] = []
    private var names: [String] = []
    /// Depth of nested `enqueue` calls: only the outermost op is timed.
    var depth = 0

    init(device: CUDADevice) { self.device = device }

    func begin(on stream: CUDAStream) throws {
        while events.count < 2 * (names.count + 1) { events.append(try CUDAEvent(device: device, timing: true)) }
        try events[2 * names.count].record(on: stream)
    }

    func end(_ name: String, on stream: CUDAStream) throws {
        try events[2 * names.count + 1].record(on: stream)
        names.append(name)
    }

    /// Per name given to `enqueue` (an op and, in parentheses, its shape where it gives one),
    /// largest total first.
    func totals() throws -> [OpTime] {
        guard !names.isEmpty else { return [] }
        try events[2 * names.count - 1].synchronize()
        var totals: [String: (ms: Double, calls: Int)] = [:]
        for (i, op) in names.enumerated() {
            let ms = try events[2 * i + 1].milliseconds(since: events[2 * i])
            totals[op, default: (0, 0)].ms += ms
            totals[op, default: (0, 0)].calls += 1
        }
        names.removeAll(keepingCapacity: true)
        return totals.map { OpTime(op: $0.key, milliseconds: $0.value.ms, calls: $0.value.calls) }
            .sorted { $0.milliseconds > $1.milliseconds }
    }
}

extension CUDABackend: OpProfiling {
    public func startProfiling() throws {
        try device.makeCurrent()
        profiler = OpProfiler(device: device)
    }

    public func stopProfiling() throws -> [OpTime] {
        guard let p = profiler else { return [] }
        profiler = nil
        return try p.totals()
    }
}
