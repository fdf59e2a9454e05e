#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// The AdamW state of one flat parameter buffer: fp32 first and second moments (torch's
/// exp_avg and exp_avg_sq) and the count of updates applied (torch's state["step"]).
///
/// Each moment is its own anonymous memory mapping (page-aligned, zero-filled by the system):
/// a page takes memory only once it is written, so the moments of parameters the device
/// updates (resident layers) cost no host memory unless a checkpoint brings them back.
public final class AdamWMoments: @unchecked Sendable {
    public let count: Int
    public let expAvg: UnsafeMutablePointer<Float>
    public let expAvgSq: UnsafeMutablePointer<Float>
    /// Updates applied so far; the next update uses bias corrections for step + 1.
    public var step: Int = 0

    public init(count: Int) {
        precondition(count >= 0)
        self.count = count
        expAvg = AdamWMoments.map(count)
        expAvgSq = AdamWMoments.map(count)
    }

    deinit {
        munmap(expAvg, Self.mappedBytes(count))
        munmap(expAvgSq, Self.mappedBytes(count))
    }

    /// Gives the pages of both moments back to the system, for a buffer whose moments live on
    /// the device meanwhile: the host copy then takes no memory, and reads as zeros until it is
    /// written again (a download before a checkpoint is saved).
    public func releasePages() {
        _ = madvise(expAvg, Self.mappedBytes(count), Int32(MADV_DONTNEED))
        _ = madvise(expAvgSq, Self.mappedBytes(count), Int32(MADV_DONTNEED))
    }

    private static func mappedBytes(_ count: Int) -> Int {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        return (max(1, count) * 4 + page - 1) / page * page
    }

    private static func map(_ count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = mappedBytes(count)
        guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            fatalError("out of host memory: cannot map \(bytes) bytes for AdamW moments")
        }
        return p.bindMemory(to: Float.self, capacity: max(1, count))
    }
}
