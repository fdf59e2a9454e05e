/// The three lower bounds of a sliding-window step and how close a measured step comes to them:
///   compute   the same step with every weight and gradient resident (no copies, no AdamW)
///   AdamW     the host AdamW's bytes over the host's measured memcpy bandwidth
///   PCIe      the step's H2D and D2H bytes over the measured pinned bandwidths (the slower
///             direction; the directions run at once on separate copy engines)
/// ratio = step time / the largest bound available (1 is the best an engine can do).
/// Besides them, `hostMemoryMilliseconds`: the AdamW's and the copies' host-memory bytes together
/// over the memcpy bandwidth. The three share the host's memory bus, which is what limits small
/// batches with everything streamed. An estimate, not a bound: the memcpy rate counts 2 bytes per
/// byte copied and leaves out the destination's read-for-ownership, so streaming code (AdamW,
/// DMA) moves more than it suggests (measured: a 1.5B step at 0.7 of this figure).
public struct StepBounds: Equatable, Sendable {
    /// nil: not measured.
    public var computeOnlyMilliseconds: Double?
    public var optimizerBytes: Int
    public var memcpyBytesPerSecond: Double
    public var hostToDeviceBytes: Int
    public var deviceToHostBytes: Int
    /// Pinned copy bandwidths (nil: no GPU).
    public var pinnedHostToDeviceBytesPerSecond: Double?
    public var pinnedDeviceToHostBytesPerSecond: Double?

    public init(computeOnlyMilliseconds: Double?, optimizerBytes: Int, memcpyBytesPerSecond: Double,
                hostToDeviceBytes: Int, deviceToHostBytes: Int,
                pinnedHostToDeviceBytesPerSecond: Double?, pinnedDeviceToHostBytesPerSecond: Double?) {
        self.computeOnlyMilliseconds = computeOnlyMilliseconds
        self.optimizerBytes = optimizerBytes
        self.memcpyBytesPerSecond = memcpyBytesPerSecond
        self.hostToDeviceBytes = hostToDeviceBytes
        self.deviceToHostBytes = deviceToHostBytes
        self.pinnedHostToDeviceBytesPerSecond = pinnedHostToDeviceBytesPerSecond
        self.pinnedDeviceToHostBytesPerSecond = pinnedDeviceToHostBytesPerSecond
    }

    public var optimizerMilliseconds: Double { Double(optimizerBytes) / memcpyBytesPerSecond * 1e3 }

    public var transferMilliseconds: Double? {
        guard let up = pinnedHostToDeviceBytesPerSecond, let down = pinnedDeviceToHostBytesPerSecond else { return nil }
        return max(Double(hostToDeviceBytes) / up, Double(deviceToHostBytes) / down) * 1e3
    }

    /// AdamW and both copy directions through host memory at the memcpy bandwidth (each copied
    /// byte is read or written in host memory once; the AdamW bytes count reads and writes).
    public var hostMemoryMilliseconds: Double {
        Double(optimizerBytes + hostToDeviceBytes + deviceToHostBytes) / memcpyBytesPerSecond * 1e3
    }

    /// The largest of the bounds available.
    public var maxMilliseconds: Double {
        max(computeOnlyMilliseconds ?? 0, optimizerMilliseconds, transferMilliseconds ?? 0)
    }

    /// Step time over the largest bound.
    public func ratio(stepMilliseconds: Double) -> Double { stepMilliseconds / maxMilliseconds }
}
