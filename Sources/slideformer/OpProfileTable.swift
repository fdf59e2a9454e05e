import Backends
import Support

/// Prints a per-op profile (`bench train --profile`, `bench sliding --profile`): the device
/// time of each op (names before their parenthesized shapes), its share of the time in ops and
/// its calls, largest first; under an op with several shapes (the GEMMs), its largest ones.
func printOpProfile(_ ops: [OpTime], shapesPerOp: Int = 12) {
    let total = ops.reduce(0) { $0 + $1.milliseconds }
    let byOp = Dictionary(grouping: ops) { String($0.op.prefix { $0 != "(" }) }
        .map { (op: $0.key, shapes: $0.value, ms: $0.value.reduce(0) { $0 + $1.milliseconds },
                calls: $0.value.reduce(0) { $0 + $1.calls }) }
        .sorted { $0.ms > $1.ms }
    func line(_ name: String, _ ms: Double, _ calls: Int) -> String {
        name.rightPadded(22) + Format.fixed(ms, 2).leftPadded(9) + " ms  "
            + Format.fixed(100 * ms / total, 1).leftPadded(5) + " %  \(calls) calls"
    }
    print("one step by op (device time, events around each op; \(Format.fixed(total, 1)) ms in ops):")
    for o in byOp {
        print("  " + line(o.op, o.ms, o.calls))
        guard o.shapes.count > 1 else { continue }
        for shape in o.shapes.prefix(shapesPerOp) {
            print("      " + line(String(shape.op.drop { $0 != "(" }), shape.milliseconds, shape.calls))
        }
    }
}

private extension String {
    func rightPadded(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
