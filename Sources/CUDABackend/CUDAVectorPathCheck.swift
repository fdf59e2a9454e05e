import Backends

/// Checks that the kernels' 16-byte vector paths compute bit for bit what their element-by-element
/// fallbacks compute: each op runs once on buffers starting at element 0 (aligned: the vector
/// path, and the scalar tail of an odd count) and once on the same values at element 1 of other
/// buffers (unaligned: the fallback), in f32 and in bf16 storage. RMSNorm is not among them: its
/// two layouts sum Σx² in different orders.
public enum CUDAVectorPathCheck {
    /// One op on `count` elements of each operand.
    private struct Op {
        let name: String
        let inputs: [ElementType]
        let outputs: [ElementType]
        let count: Int
        let run: (_ inputs: [TensorRef], _ outputs: [TensorRef]) -> Void
    }

    /// The ops (with their storage) whose two paths disagree in any bit, and how many were checked.
    public static func run(_ backend: CUDABackend, seed: UInt32) throws -> (mismatches: [String], checked: Int) {
        let ops = try self.ops(backend)
        var mismatches: [String] = []
        for op in ops where try !pathsAgree(backend, op, seed: seed) { mismatches.append(op.name) }
        return (mismatches, ops.count)
    }

    private static func ops(_ backend: CUDABackend) throws -> [Op] {
        let n = 4099
        // RoPE: 3 tokens of 12 heads of 128 (a thread's 8 heads, then 4).
        let tokens = 3, heads = 12, headDim = 128, ropeCount = tokens * heads * headDim
        let positions = try backend.makeBuffer((0..<tokens).map { Int32(1000 + 977 * $0) })
        let invFreq = try backend.makeBuffer(RopeFrequencies.inverseFrequencies(headDim: headDim, theta: 500_000, scaling: .none))
        var ops = [
            Op(name: "copy f32 -> bf16", inputs: [.f32], outputs: [.bf16], count: n) { i, o in backend.copy(i[0], to: o[0], count: n) },
            Op(name: "copy bf16 -> f32", inputs: [.bf16], outputs: [.f32], count: n) { i, o in backend.copy(i[0], to: o[0], count: n) },
        ]
        for t in [ElementType.f32, .bf16] {
            let tag = " (\(t.rawValue))"
            ops += [
                Op(name: "fill" + tag, inputs: [], outputs: [t], count: n) { _, o in backend.fill(o[0], count: n, value: 0.37) },
                Op(name: "add" + tag, inputs: [t, t], outputs: [t], count: n) { i, o in backend.add(o[0], i[0], i[1], count: n) },
                Op(name: "scale" + tag, inputs: [t], outputs: [t], count: n) { i, o in
                    backend.copy(i[0], to: o[0], count: n)
                    backend.scale(o[0], count: n, by: 0.3)
                },
                Op(name: "swiglu_forward" + tag, inputs: [t, t], outputs: [t], count: n) { i, o in
                    backend.swigluForward(out: o[0], gate: i[0], up: i[1], count: n)
                },
                Op(name: "swiglu_backward" + tag, inputs: [t, t, t], outputs: [t, t], count: n) { i, o in
                    backend.swigluBackward(dGate: o[0], dUp: o[1], dOut: i[0], gate: i[1], up: i[2], count: n)
                },
                Op(name: "rope_forward" + tag, inputs: [t], outputs: [t], count: ropeCount) { i, o in
                    backend.ropeForward(out: o[0], inp: i[0], positions: positions.ref(), invFreq: invFreq.ref(),
                                        tokens: tokens, heads: heads, headDim: headDim)
                },
                Op(name: "rope_backward" + tag, inputs: [t], outputs: [t], count: ropeCount) { i, o in
                    backend.ropeBackward(dInp: o[0], dOut: i[0], positions: positions.ref(), invFreq: invFreq.ref(),
                                         tokens: tokens, heads: heads, headDim: headDim)
                },
            ]
        }
        return ops
    }

    /// Whether `op` writes the same bytes from aligned operands as from the same values one element on.
    private static func pathsAgree(_ backend: CUDABackend, _ op: Op, seed: UInt32) throws -> Bool {
        let n = op.count
        let alignedIn = try op.inputs.enumerated().map { k, type in
            let b = try backend.makeBuffer(type, count: n)
            backend.fillRandom(b.ref(), count: n, seed: seed &+ UInt32(k), scale: 4)
            return b
        }
        // Same type, so a byte copy: the shifted inputs hold exactly the aligned ones' values.
        let shiftedIn = try alignedIn.map { a in
            let b = try backend.makeBuffer(a.elementType, count: n + 1)
            backend.copy(a.ref(), to: b.ref(1), count: n)
            return b
        }
        let alignedOut = try op.outputs.map { try backend.makeBuffer($0, count: n) }
        let shiftedOut = try op.outputs.map { try backend.makeBuffer($0, count: n + 1) }
        op.run(alignedIn.map { $0.ref() }, alignedOut.map { $0.ref() })
        op.run(shiftedIn.map { $0.ref(1) }, shiftedOut.map { $0.ref(1) })
        for (a, s) in zip(alignedOut, shiftedOut) {
            var x = [UInt8](repeating: 0, count: n * a.elementType.byteSize), y = x
            x.withUnsafeMutableBytes { backend.download(a.ref(), into: $0) }
            y.withUnsafeMutableBytes { backend.download(s.ref(1), into: $0) }
            if x != y { return false }
        }
        return true
    }
}
