import Backends
import Support

/// Prints a per-op profile (`bench train --profile`, `bench sliding --profile`): each op's
/// device time, its share of the time in ops and its calls, largest first.
func printOpProfile(_ ops: [OpTime]) {
    let total = ops.reduce(0) { $0 + $1.milliseconds }
    print("one step by op (device time, events around each op; \(Format.fixed(total, 1)) ms in ops):")
    for o in ops {
        print("  " + o.op.rightPadded(22) + Format.fixed(o.milliseconds, 2).leftPadded(9)
              + " ms  " + Format.fixed(100 * o.milliseconds / total, 1).leftPadded(5) + " %  \(o.calls) calls")
    }
}

private extension String {
    func rightPadded(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
