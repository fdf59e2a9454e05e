#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The process's resident memory (Linux /proc), to compare a run's measured host peak with
/// its plan.
public enum ProcessMemory {
    /// The most resident bytes the process has had at once (VmHWM, since start or since
    /// `resetPeakResident()`), or where /proc has no VmHWM the kernel's `ru_maxrss` (since start).
    public static func peakResidentBytes() -> Int? {
        if let hwm = highWaterMark() { return hwm }
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0, usage.ru_maxrss > 0 else { return nil }
        return usage.ru_maxrss * 1024   // KiB on Linux
    }

    /// VmHWM of /proc/self/status in bytes.
    private static func highWaterMark() -> Int? {
        // /proc files report size 0: read until end of file.
        let fd = open("/proc/self/status", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got <= 0 { break }
            bytes += chunk[0..<got]
        }
        let status = String(decoding: bytes, as: UTF8.self)
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            // "VmHWM:   123456 kB"
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kib = Int(fields[1]) else { return nil }
            return kib * 1024
        }
        return nil
    }

    /// Restarts the peak from the current resident size (writes 5 to /proc/self/clear_refs),
    /// so a benchmark can measure one phase; false where the kernel does not allow it.
    @discardableResult
    public static func resetPeakResident() -> Bool {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
    }
}
