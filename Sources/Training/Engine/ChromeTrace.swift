import Support

/// A step's timed pieces as a Chrome trace (chrome://tracing, Perfetto): one track (thread) per
/// queue and the AdamW thread, one complete ("X") event per piece, times in microseconds from
/// the step's start.
public enum ChromeTrace {
    public static func json(_ spans: [TimedSpan]) -> JSON {
        var events: [JSON] = TelemetryTrack.allCases.map { t in
            .object(JSONObject([("name", .string("thread_name")), ("ph", .string("M")), ("pid", .int(1)),
                                ("tid", .int(t.rawValue + 1)), ("args", .object(JSONObject([("name", .string(t.name))])))]))
        }
        for s in spans {
            var args: [(String, JSON)] = []
            if s.bytes > 0 { args.append(("bytes", .int(s.bytes))) }
            if s.track == .compute { args.append(("waited_for", .string(waitName(s.wait)))) }
            if s.layer >= 0 { args.append(("layer", .int(s.layer))) }
            events.append(.object(JSONObject([
                ("name", .string(s.layer >= 0 ? "\(s.track.name) layer \(s.layer)" : s.track.name)),
                ("cat", .string(s.track.name)), ("ph", .string("X")), ("pid", .int(1)), ("tid", .int(s.track.rawValue + 1)),
                ("ts", .double(s.startMilliseconds * 1e3)), ("dur", .double(max(0, s.milliseconds) * 1e3)),
                ("args", .object(JSONObject(args))),
            ])))
        }
        return .object(JSONObject([("traceEvents", .array(events)), ("displayTimeUnit", .string("ms"))]))
    }

    static func waitName(_ w: ComputeWait) -> String {
        switch w {
        case .none: "none"
        case .deviceToHost: "D2H"
        case .hostToDevice: "H2D"
        case .optimizer: "AdamW"
        }
    }
}
