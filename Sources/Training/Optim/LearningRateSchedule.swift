#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Support

/// The learning rate of each optimizer step, as transformers' schedulers (a LambdaLR whose
/// multiplier is evaluated at the count of steps already taken, so the first update of a
/// warm-up uses lr 0, exactly like the HF Trainer).
///
/// With s = steps taken, W = warmupSteps, N = totalSteps, r = minLR / peak:
///   s < W:     multiplier = s / max(1, W)                                        (all kinds)
///   constant:  1                                           (get_constant_schedule_with_warmup)
///   linear:    f = max(0, (N - s) / max(1, N - W));  multiplier = f·(1 − r) + r
///              (r = 0: get_linear_schedule_with_warmup; r > 0 is this project's extension)
///   cosine:    p = (s − W) / max(1, N − W);  f = 0.5·(1 + cos(π · 0.5 · 2 · p));
///              multiplier = max(0, f·(1 − r) + r)
///              (r = 0: get_cosine_schedule_with_warmup; r > 0: get_cosine_with_min_lr_schedule_with_warmup(min_lr:))
///   lr = peak · multiplier
public struct LearningRateSchedule: Equatable, Sendable {
    public enum Kind: String, CaseIterable, Sendable {
        case constant, linear, cosine
    }

    public var kind: Kind
    public var peak: Double
    public var warmupSteps: Int
    public var totalSteps: Int
    /// The floor the decay ends at (linear and cosine; ignored by constant).
    public var minLR: Double

    public init(kind: Kind, peak: Double, warmupSteps: Int = 0, totalSteps: Int, minLR: Double = 0) {
        self.kind = kind
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.minLR = minLR
    }

    public func validate() throws {
        guard peak > 0, peak.isFinite else { throw UsageError("learning rate must be > 0, got \(peak)") }
        guard warmupSteps >= 0 else { throw UsageError("warm-up steps must be >= 0, got \(warmupSteps)") }
        guard totalSteps >= 1 else { throw UsageError("total steps must be >= 1, got \(totalSteps)") }
        guard minLR >= 0, minLR <= peak else { throw UsageError("min lr must be in [0, lr = \(peak)], got \(minLR)") }
    }

    /// The multiplier of `peak` for the update that follows `stepsTaken` completed updates.
    public func multiplier(stepsTaken s: Int) -> Double {
        if s < warmupSteps { return Double(s) / Double(max(1, warmupSteps)) }
        let minRate = minLR / peak
        let decaySteps = Double(max(1, totalSteps - warmupSteps))
        switch kind {
        case .constant:
            return 1
        case .linear:
            let f = max(0, Double(totalSteps - s) / decaySteps)
            return f * (1 - minRate) + minRate
        case .cosine:
            let progress = Double(s - warmupSteps) / decaySteps
            let f = 0.5 * (1 + cos(Double.pi * 0.5 * 2 * progress))
            return max(0, f * (1 - minRate) + minRate)
        }
    }

    /// The learning rate of the update that follows `stepsTaken` completed updates.
    public func learningRate(stepsTaken: Int) -> Double { peak * multiplier(stepsTaken: stepsTaken) }
}
