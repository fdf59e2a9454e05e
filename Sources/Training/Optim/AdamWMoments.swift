#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// The AdamW state of one flat parameter buffer: fp32 first and second moments (torch's
/// exp_avg and exp_avg_sq) and the count of updates applied (torch's state["step"]).
/// Zero-initialized, 64-byte aligned.
public final class AdamWMoments: @unchecked Sendable {
    public let count: Int
    public let expAvg: UnsafeMutablePointer<Float>
    public let expAvgSq: UnsafeMutablePointer<Float>
    /// Updates applied so far; the next update uses bias corrections for step + 1.
    public var step: Int = 0

    public init(count: Int) {
        precondition(count >= 0)
        self.count = count
        expAvg = AdamWMoments.zeroed(count)
        expAvgSq = AdamWMoments.zeroed(count)
    }

    deinit {
        expAvg.deallocate()
        expAvgSq.deallocate()
    }

    /// Gives the pages of both moments back to the operating system, for a buffer whose moments
    /// live on the device meanwhile: the host copy then takes no memory, and reads as zeros
    /// until it is written again (a download before a checkpoint is saved).
    public func releasePages() {
        Self.release(expAvg, count)
        Self.release(expAvgSq, count)
    }

    /// madvise(MADV_DONTNEED) on the whole pages inside the `count` floats at `p` (the
    /// allocation's first and last partial pages stay: they may hold the allocator's data).
    private static func release(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: p) + page - 1) / page * page
        let end = (Int(bitPattern: p) + count * 4) / page * page
        guard end > start, let address = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(address, end - start, Int32(MADV_DONTNEED))
    }

    private static func zeroed(_ count: Int) -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * 4, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: max(1, count) * 4)
        return raw.bindMemory(to: Float.self, capacity: max(1, count))
    }
}
