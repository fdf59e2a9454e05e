#if canImport(Glibc)
import Glibc
#endif
import Support

/// Prints training progress: on a terminal one live line rewritten in place; otherwise (a log
/// file, CI) a plain line every `logEvery` steps and at the last step.
public final class ProgressReporter {
    public let totalSteps: Int
    public let logEvery: Int
    public let isTerminal: Bool
    private var lastWidth = 0

    public init(totalSteps: Int, logEvery: Int, isTerminal: Bool = isatty(STDOUT_FILENO) != 0) {
        self.totalSteps = totalSteps
        self.logEvery = max(1, logEvery)
        self.isTerminal = isTerminal
    }

    /// "step 12/300  loss 3.2145  lr 2.00e-04  grad-norm 1.234  12,345 tok/s  ETA 1:23"
    public static func line(_ m: StepMetrics, totalSteps: Int, secondsPerStep: Double, tflops: Double?) -> String {
        var s = "step \(m.step)/\(totalSteps)  loss \(Format.fixed(m.loss, 4))  lr \(Format.sci(m.lr, 2))"
        s += "  grad-norm \(Format.fixed(m.gradNorm, 3))  \(Format.grouped(Int(m.tokensPerSecond.rounded()))) tok/s"
        if let t = tflops { s += "  \(Format.fixed(t, 1)) TFLOPS" }
        s += "  ETA \(Format.duration(Double(totalSteps - m.step) * secondsPerStep))"
        return s
    }

    public func report(_ m: StepMetrics, secondsPerStep: Double, tflops: Double? = nil) {
        let text = ProgressReporter.line(m, totalSteps: totalSteps, secondsPerStep: secondsPerStep, tflops: tflops)
        if isTerminal {
            let pad = max(0, lastWidth - text.count)
            print("\r" + text + String(repeating: " ", count: pad), terminator: "")
            lastWidth = text.count
            if m.step == totalSteps { print("") }
            fflush(stdout)
        } else if m.step % logEvery == 0 || m.step == totalSteps {
            print(text)
            fflush(stdout)
        }
    }

    /// Ends a live line before other output is printed.
    public func finishLine() {
        if isTerminal && lastWidth > 0 {
            print("")
            lastWidth = 0
        }
    }
}
