import Support

/// telemetry.csv (with `--telemetry`): one row per step of this process whose `StepTelemetry`
/// is complete (a step's copies and AdamW end during the next step):
/// `step,step_ms,gpu_busy,compute_ms,h2d_ms,d2h_ms,adamw_ms,h2d_gb_per_s,d2h_gb_per_s,`
/// `exposed_h2d_ms,exposed_d2h_ms,exposed_adamw_ms,exposed_other_ms`.
public final class TelemetryLog {
    public static let header = "step,step_ms,gpu_busy,compute_ms,h2d_ms,d2h_ms,adamw_ms,h2d_gb_per_s,d2h_gb_per_s,"
        + "exposed_h2d_ms,exposed_d2h_ms,exposed_adamw_ms,exposed_other_ms"
    public static let fileName = "telemetry.csv"
    public let path: String
    public private(set) var rows: [StepTelemetry] = []

    public init(path: String) { self.path = path }

    /// Adds `t` unless its step is already there.
    public func append(_ t: StepTelemetry) {
        if rows.last?.step != t.step { rows.append(t) }
    }

    /// Rewrites the file atomically with every row so far.
    public func flush() throws {
        var text = TelemetryLog.header + "\n"
        for t in rows {
            let fields: [Double] = [t.stepMilliseconds, t.gpuBusyFraction, t.computeMilliseconds, t.hostToDeviceMilliseconds,
                                    t.deviceToHostMilliseconds, t.optimizerMilliseconds, t.hostToDeviceGBps, t.deviceToHostGBps,
                                    t.exposedHostToDeviceMilliseconds, t.exposedDeviceToHostMilliseconds,
                                    t.exposedOptimizerMilliseconds, t.exposedOtherMilliseconds]
            text += "\(t.step)," + fields.map { "\($0)" }.joined(separator: ",") + "\n"
        }
        try AtomicOutput.write(text, to: path)
    }

    /// "telemetry step 12: GPU busy 88.1 %, H2D 21.3 GB/s, D2H 25.0 GB/s, AdamW 153.2 ms,
    /// exposed H2D 1.0 / D2H 0.0 / AdamW 30.2 / other 6.1 ms of 312.8 ms"
    public static func line(_ t: StepTelemetry) -> String {
        "telemetry step \(t.step): GPU busy \(Format.fixed(100 * t.gpuBusyFraction, 1)) %, "
            + "H2D \(Format.fixed(t.hostToDeviceGBps, 1)) GB/s, D2H \(Format.fixed(t.deviceToHostGBps, 1)) GB/s, "
            + "AdamW \(Format.fixed(t.optimizerMilliseconds, 1)) ms, exposed H2D \(Format.fixed(t.exposedHostToDeviceMilliseconds, 1))"
            + " / D2H \(Format.fixed(t.exposedDeviceToHostMilliseconds, 1)) / AdamW \(Format.fixed(t.exposedOptimizerMilliseconds, 1))"
            + " / other \(Format.fixed(t.exposedOtherMilliseconds, 1)) ms of \(Format.fixed(t.stepMilliseconds, 1)) ms"
    }
}
