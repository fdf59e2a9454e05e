#if canImport(Glibc)
import Glibc
#endif

extension CPUBackend {
    public func add(_ out: TensorRef, _ a: TensorRef, _ b: TensorRef, count: Int) {
        let o = floats(out, count), x = floats(a, count), y = floats(b, count)
        forEachPiece(count, minChunk: 1 << 15) { _, r in
            for i in r { o[i] = x[i] + y[i] }
        }
    }

    public func scale(_ x: TensorRef, count: Int, by factor: Float) {
        let p = floats(x, count)
        forEachPiece(count, minChunk: 1 << 15) { _, r in
            for i in r { p[i] *= factor }
        }
    }

    public func sumOfSquares(_ x: TensorRef, count: Int, into result: TensorRef) {
        let p = floats(x, count), res = floats(result, 1)
        let total = scratch.withFloats(2 * pool.threadCount * 4) { raw in
            raw.withMemoryRebound(to: Double.self, capacity: pool.threadCount * 4) { partial in
                let pieces = forEachPiece(count, minChunk: 1 << 14) { piece, r in
                    var s: Double = 0
                    for i in r {
                        let v = Double(p[i])
                        s += v * v
                    }
                    partial[piece] = s
                }
                return (0..<pieces).reduce(0.0) { $0 + partial[$1] }
            }
        }
        res[0] += Float(total)
    }

    public func swigluForward(out: TensorRef, gate: TensorRef, up: TensorRef, count: Int) {
        let o = floats(out, count), g = floats(gate, count), u = floats(up, count)
        forEachPiece(count, minChunk: 1 << 13) { _, r in
            for i in r {
                let x = g[i]
                o[i] = x / (1 + expf(-x)) * u[i]
            }
        }
    }

    public func swigluBackward(dGate: TensorRef, dUp: TensorRef, dOut: TensorRef, gate: TensorRef, up: TensorRef, count: Int) {
        let dg = floats(dGate, count), du = floats(dUp, count), d = floats(dOut, count)
        let g = floats(gate, count), u = floats(up, count)
        forEachPiece(count, minChunk: 1 << 13) { _, r in
            for i in r {
                let x = g[i]
                let sig = 1 / (1 + expf(-x))
                let silu = x * sig
                // d silu / dx = sig · (1 + x · (1 − sig))
                dg[i] = d[i] * u[i] * sig * (1 + x * (1 - sig))
                du[i] = d[i] * silu
            }
        }
    }
}
