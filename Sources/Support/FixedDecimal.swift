/// `x` with exactly `digits` decimals ("12.30"), as printf's %.Nf would print it, without
/// `String(format:)` (which pulls in Foundation's ICU). Non-finite values print as "nan"/"inf".
public func fixedDecimal(_ x: Double, digits: Int) -> String {
    guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
    var scale = 1.0
    for _ in 0..<max(0, digits) { scale *= 10 }
    let scaled = (abs(x) * scale).rounded()
    guard scaled < 9e18 else { return "\(x)" }
    let units = UInt64(scaled)
    let whole = units / UInt64(scale)
    var text = (x < 0 && units != 0 ? "-" : "") + String(whole)
    if digits > 0 {
        let fraction = String(units % UInt64(scale))
        text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
    return text
}
