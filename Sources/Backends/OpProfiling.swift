/// A backend that can time each op it runs on its device (with device events), for profiles
/// of where a training step's time goes.
public protocol OpProfiling {
    /// Starts timing every op enqueued from now on (ops called inside an op count as part of it).
    func startProfiling() throws
    /// Stops timing and returns the device time per op name (with its shape in parentheses
    /// where the op gives one, e.g. a GEMM's m, n, k), largest first.
    func stopProfiling() throws -> [OpTime]
}

/// The device time of one kind of op over a profiled region.
public struct OpTime: Sendable {
    public let op: String
    public let milliseconds: Double
    public let calls: Int

    public init(op: String, milliseconds: Double, calls: Int) {
        self.op = op
        self.milliseconds = milliseconds
        self.calls = calls
    }
}
