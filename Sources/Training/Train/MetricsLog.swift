#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Support

/// One row of metrics.csv: one optimizer step.
public struct StepMetrics: Equatable, Sendable {
    public var step: Int
    /// Mean target-token loss of the step, before its update.
    public var loss: Double
    public var lr: Double
    /// Global gradient norm before clipping.
    public var gradNorm: Double
    /// Tokens processed in this step (all positions of all micro-batches).
    public var tokens: Int
    public var tokensPerSecond: Double
    /// Seconds since the start of the run, resumed runs continuing the count.
    public var elapsedSeconds: Double

    public init(step: Int, loss: Double, lr: Double, gradNorm: Double, tokens: Int,
                tokensPerSecond: Double, elapsedSeconds: Double) {
        self.step = step
        self.loss = loss
        self.lr = lr
        self.gradNorm = gradNorm
        self.tokens = tokens
        self.tokensPerSecond = tokensPerSecond
        self.elapsedSeconds = elapsedSeconds
    }
}

/// metrics.csv: `step,loss,lr,grad_norm,tokens,tokens_per_s,elapsed_s`, one row per step.
/// Values are written in shortest round-trip form, so a resumed run that reproduces the same
/// losses writes byte-identical rows.
public final class MetricsLog {
    public static let header = "step,loss,lr,grad_norm,tokens,tokens_per_s,elapsed_s"
    public let path: String
    public private(set) var rows: [StepMetrics]

    /// Opens `path`. With `keepThroughStep`, rows after that step (written after the checkpoint
    /// being resumed from) are dropped; without it the file starts empty.
    public init(path: String, keepThroughStep: Int?) throws {
        self.path = path
        if let last = keepThroughStep, FileManager.default.fileExists(atPath: path) {
            rows = try MetricsLog.read(path).filter { $0.step <= last }
        } else {
            rows = []
        }
        try flush()
    }

    public func append(_ m: StepMetrics) {
        rows.append(m)
    }

    /// Rewrites the file atomically with every row so far.
    public func flush() throws {
        var text = MetricsLog.header + "\n"
        for r in rows {
            text += "\(r.step),\(r.loss),\(r.lr),\(r.gradNorm),\(r.tokens),\(r.tokensPerSecond),\(r.elapsedSeconds)\n"
        }
        try AtomicOutput.write(text, to: path)
    }

    public static func read(_ path: String) throws -> [StepMetrics] {
        let text = String(decoding: try readFileBytes(path), as: UTF8.self)
        var out: [StepMetrics] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            if i == 0 {
                guard line == header else { throw InputError(file: path, location: "line 1", "expected header '\(header)'") }
                continue
            }
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            guard f.count == 7, let step = Int(f[0]), let loss = Double(f[1]), let lr = Double(f[2]),
                  let gn = Double(f[3]), let tok = Int(f[4]), let tps = Double(f[5]), let el = Double(f[6])
            else { throw InputError(file: path, location: "line \(i + 1)", "expected 7 numeric fields") }
            out.append(StepMetrics(step: step, loss: loss, lr: lr, gradNorm: gn, tokens: tok,
                                   tokensPerSecond: tps, elapsedSeconds: el))
        }
        return out
    }
}
