#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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

    private static func zeroed(_ count: Int) -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * 4, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: max(1, count) * 4)
        return raw.bindMemory(to: Float.self, capacity: max(1, count))
    }
}
