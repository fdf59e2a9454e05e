/// Memory figures of a backend whose buffers live on a device with memory of its own (a GPU),
/// for plans and benchmark reports.
public protocol DeviceMemoryReporting {
    /// The most bytes the backend has held for its buffers at once (its pool's high-water mark),
    /// since its start or the last `restartPeak()`.
    var peakReservedBytes: Int { get }
    /// Hands the pool's cached free blocks back to the driver and restarts the high-water mark
    /// from what is held now, so a benchmark measures one phase (not an earlier run's blocks).
    func restartPeak() throws
    /// The device's free and total memory now (all processes together).
    func deviceMemory() throws -> (free: Int, total: Int)
    /// Caps the bytes the backend's pool may hold at once (nil: no cap): an allocation past
    /// the cap fails as out of memory, as on a card that small.
    func limitPool(toBytes bytes: Int?)
}
