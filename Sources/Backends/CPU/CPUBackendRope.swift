#if canImport(Glibc)
import Glibc
#endif

extension CPUBackend {
    public func ropeForward(out: TensorRef, inp: TensorRef, positions: TensorRef, invFreq: TensorRef,
                            tokens: Int, heads: Int, headDim: Int) {
        rotate(out: out, inp: inp, positions: positions, invFreq: invFreq,
               tokens: tokens, heads: heads, headDim: headDim, sinSign: 1)
    }

    public func ropeBackward(dInp: TensorRef, dOut: TensorRef, positions: TensorRef, invFreq: TensorRef,
                             tokens: Int, heads: Int, headDim: Int) {
        // The transpose of a rotation is the rotation by the negative angle.
        rotate(out: dInp, inp: dOut, positions: positions, invFreq: invFreq,
               tokens: tokens, heads: heads, headDim: headDim, sinSign: -1)
    }

    /// out (N,heads,D) = x · cos + rotate_half(x) · (sinSign · sin); out may alias inp.
    private func rotate(out: TensorRef, inp: TensorRef, positions: TensorRef, invFreq: TensorRef,
                        tokens: Int, heads: Int, headDim: Int, sinSign: Float) {
        precondition(headDim % 2 == 0, "RoPE needs an even head dimension, got \(headDim)")
        let half = headDim / 2, width = heads * headDim
        let o = floats(out, tokens * width), x = floats(inp, tokens * width)
        let pos = ints(positions, tokens), inv = floats(invFreq, half)
        forEachPiece(tokens, minChunk: 4) { _, r in
            scratch.withFloats(headDim) { cs in
                for t in r {
                    // angle = position · inv_freq in fp32, as HF's (inv_freq @ position_ids).
                    let p = Float(pos[t])
                    for i in 0..<half {
                        let angle = p * inv[i]
                        cs[i] = cosf(angle)
                        cs[half + i] = sinSign * sinf(angle)
                    }
                    for h in 0..<heads {
                        let xi = x + t * width + h * headDim, oi = o + t * width + h * headDim
                        for i in 0..<half {
                            let x1 = xi[i], x2 = xi[half + i], c = cs[i], s = cs[half + i]
                            oi[i] = x1 * c - x2 * s
                            oi[half + i] = x2 * c + x1 * s
                        }
                    }
                }
            }
        }
    }
}
