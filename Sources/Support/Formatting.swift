#if canImport(Glibc)
import Glibc
#endif

/// Number formatting without `String(format:)` (which would pull ICU into a static binary).
public enum Format {
    /// `x` with exactly `digits` decimals, rounded half away from zero: fixed(3.14159, 2) = "3.14".
    public static func fixed(_ x: Double, _ digits: Int) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(x) * scale).rounded()
        guard scaled < 9.0e18 else { return "\(x)" }
        let n = UInt64(scaled)
        let whole = n / UInt64(scale)
        var text = String(whole)
        if digits > 0 {
            var frac = String(n % UInt64(scale))
            frac = String(repeating: "0", count: digits - frac.count) + frac
            text += "." + frac
        }
        return (x < 0 && n != 0 ? "-" : "") + text
    }

    /// Scientific notation with `digits` decimals in the mantissa: sci(0.0002, 2) = "2.00e-04".
    public static func sci(_ x: Double, _ digits: Int) -> String {
        if x == 0 { return fixed(0, digits) + "e+00" }
        if !x.isFinite { return fixed(x, digits) }
        var e = Int(log10(abs(x)).rounded(.down))
        var m = x / pow(10, Double(e))
        // Rounding may carry the mantissa to 10.0.
        if abs(Double(fixed(m, digits)) ?? 0) >= 10 { e += 1; m = x / pow(10, Double(e)) }
        let es = String(abs(e))
        return fixed(m, digits) + "e" + (e < 0 ? "-" : "+") + (es.count < 2 ? "0" + es : es)
    }

    /// Named rates with one decimal: [("6N", 357.94), ("Megatron", 311.2)] → "6N 357.9, Megatron 311.2".
    public static func named(_ values: [(name: String, value: Double)]) -> String {
        values.map { "\($0.name) \(fixed($0.value, 1))" }.joined(separator: ", ")
    }

    /// Integer with thousands separators: 1234567 → "1,234,567".
    public static func grouped(_ n: Int) -> String {
        let s = String(abs(n))
        var out = ""
        for (i, c) in s.enumerated() {
            if i > 0 && (s.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }

    /// Byte count in binary units: 1536 → "1.50 KiB".
    public static func bytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var u = 0
        while abs(v) >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        return u == 0 ? "\(n) B" : fixed(v, 2) + " " + units[u]
    }

    /// Seconds as h:mm:ss (or m:ss under an hour).
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let t = Int(seconds.rounded())
        let h = t / 3600, m = (t % 3600) / 60, s = t % 60
        let ss = s < 10 ? "0\(s)" : "\(s)"
        if h > 0 { return "\(h):" + (m < 10 ? "0\(m)" : "\(m)") + ":" + ss }
        return "\(m):" + ss
    }
}
