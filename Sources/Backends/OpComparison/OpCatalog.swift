import Support

/// The op cases the comparison runs: every op of `Backend`, forward and backward, at sizes
/// that are not multiples of the usual tile sizes. Integer operands come from `random`.
enum OpCatalog {
    static func cases(_ random: inout SplitMix64) -> [OpCase] {
        let n = 150, c = 96, v = 300, cols = 200, count = 1000
        var cases: [OpCase] = elementwiseCases(count: 1003, offset: 0) + elementwiseCases(count: 1003, offset: 1)

        // The three GEMMs of a linear layer (y = x Wᵀ, dX = dY W, dW += dYᵀ X) plus alpha/beta.
        cases.append(OpCase(name: "gemm_forward", operands: [.input("x", n * c), .input("w", cols * c), .output("y", n * cols)]) { b, t in
            b.gemm(transA: false, transB: true, m: n, n: cols, k: c, alpha: 1, a: t[0], b: t[1], beta: 0, c: t[2])
        })
        cases.append(OpCase(name: "gemm_input_grad", operands: [.input("dy", n * cols), .input("w", cols * c), .output("dx", n * c)]) { b, t in
            b.gemm(transA: false, transB: false, m: n, n: c, k: cols, alpha: 0.5, a: t[0], b: t[1], beta: 0, c: t[2])
        })
        cases.append(OpCase(name: "gemm_weight_grad", operands: [.input("dy", n * cols), .input("x", n * c), .update("dw", cols * c, .f32)]) { b, t in
            b.gemm(transA: true, transB: false, m: cols, n: c, k: n, alpha: 1, a: t[0], b: t[1], beta: 1, c: t[2])
        })
        cases.append(OpCase(name: "gemm_both_transposed", operands: [.input("a", c * n), .input("b", cols * c), .update("c", n * cols)]) { b, t in
            b.gemm(transA: true, transB: true, m: n, n: cols, k: c, alpha: 1, a: t[0], b: t[1], beta: 0.75, c: t[2])
        })
        // The residual projection: f32 stream = x Wᵀ + f32 stream (o_proj, down_proj).
        cases.append(OpCase(name: "gemm_adding", operands: [.input("x", n * c), .input("w", cols * c), .input("res", n * cols, .f32),
                                                             .output("y", n * cols, .f32)]) { b, t in
            b.gemm(transA: false, transB: true, m: n, n: cols, k: c, a: t[0], b: t[1], adding: t[2], out: t[3])
        })

        cases.append(OpCase(name: "add_bias", operands: [.update("out", n * cols), .input("bias", cols)]) { b, t in
            b.addBias(t[0], bias: t[1], rows: n, cols: cols)
        })
        cases.append(OpCase(name: "bias_backward", operands: [.update("dbias", cols, .f32), .input("dout", n * cols)]) { b, t in
            b.biasBackward(dBias: t[0], dOut: t[1], rows: n, cols: cols)
        })
        cases.append(OpCase(name: "sum_of_squares", operands: [.input("x", 5 * count), .update("result", 1, .f32)]) { b, t in
            b.sumOfSquares(t[0], count: 5 * count, into: t[1])
        })

        let ids = (0..<n).map { _ in Int32(random.next(below: v)) }
        let repeatedIds = (0..<n).map { _ in Int32(random.next(below: 20)) }
        cases.append(OpCase(name: "embedding_forward", operands: [.output("out", n * c), .ints("ids", ids), .input("table", v * c)]) { b, t in
            b.embeddingForward(out: t[0], ids: t[1], table: t[2], tokens: n, channels: c, vocab: v)
        })
        cases.append(OpCase(name: "embedding_backward", operands: [.update("dtable", v * c, .f32), .input("dout", n * c), .ints("ids", repeatedIds)]) { b, t in
            b.embeddingBackward(dTable: t[0], dOut: t[1], ids: t[2], tokens: n, channels: c, vocab: v)
        })
        // Tokens grouped by row: the groups in a chunk of table rows that some ids fall in
        // (repeated ones too) and others miss, and the same groups one row after the other.
        let grouped = BatchRows(ids: repeatedIds, vocab: 20), inChunk = grouped.groups(inRows: 5..<17)
        cases.append(OpCase(name: "embedding_backward_groups", operands: [.update("drows", 12 * c, .f32), .input("dout", n * c), .ints("groups", grouped.deviceLayout)]) { b, t in
            let g = grouped.deviceRefs(at: t[2])
            b.embeddingBackwardGroups(dRows: t[0], dOut: t[1], tokenOrder: g.tokenOrder, rowStarts: g.rowStarts,
                                      groupRows: g.rows, groups: inChunk, tokens: n, channels: c, firstRow: 5, rows: 12)
        })
        cases.append(OpCase(name: "embedding_backward_groups_compact", operands: [.update("drows", inChunk.count * c, .f32), .input("dout", n * c), .ints("groups", grouped.deviceLayout)]) { b, t in
            let g = grouped.deviceRefs(at: t[2])
            b.embeddingBackwardGroups(dRows: t[0], dOut: t[1], tokenOrder: g.tokenOrder, rowStarts: g.rowStarts,
                                      groupRows: nil, groups: inChunk, tokens: n, channels: c, firstRow: 0,
                                      rows: inChunk.count)
        })

        // Row widths for each of the GPU's RMSNorm layouts: 200 (16 threads per row), 1000 (64,
        // two warps), 4096 (256, a whole block), 128 (q/k-norm, 8); 203 and offset 1 (its warp-per-row fallback).
        for (tag, rows, width, offset) in [("", n, cols, 0), ("_c1000", 70, 1000, 0), ("_c4096", 20, 4096, 0),
                                           ("_c128", 300, 128, 0), ("_c203", n, 203, 0), ("_offset", n, cols, 1)] {
            cases += rmsNormCases(tag: tag, rows: rows, cols: width, offset: offset)
        }

        // Head dims 64 and 128 with 4 and 12 heads (the GPU's 8-heads-per-thread path, 12 = 8 + 4),
        // 40 and offset 1 (its one-pair-per-thread fallback).
        for (tag, heads, headDim, offset) in [("", 4, 64, 0), ("_h12_d128", 12, 128, 0), ("_d40", 4, 40, 0), ("_offset", 4, 64, 1)] {
            cases += ropeCases(tag: tag, tokens: n, heads: heads, headDim: headDim, offset: offset, &random)
        }

        // Head dims 64 and 128 (the GPU's tensor-core kernels; 300 tokens span three 128-row
        // blocks, groups of 2 and 4 query heads) and 8 and 40 (its generic kernels).
        for (batch, seqLen, h, hkv, d) in [(2, 150, 4, 2, 64), (1, 300, 8, 2, 64), (1, 70, 2, 1, 128), (2, 70, 4, 2, 8),
                                           (1, 130, 6, 2, 40)] {
            let qCount = batch * seqLen * h * d, kvCount = batch * seqLen * hkv * d, rows = batch * h * seqLen
            let tag = "_d\(d)_t\(seqLen)"
            cases.append(OpCase(name: "attention_forward" + tag,
                                operands: [.output("out", qCount), .output("lse", rows, .f32),
                                           .input("q", qCount), .input("k", kvCount), .input("v", kvCount)]) { b, t in
                b.attentionForward(out: t[0], lse: t[1], q: t[2], k: t[3], v: t[4],
                                   batch: batch, seqLen: seqLen, heads: h, kvHeads: hkv, headDim: d)
            })
            cases.append(OpCase(name: "attention_backward" + tag,
                                operands: [.output("dq", qCount), .output("dk", kvCount), .output("dv", kvCount),
                                           .input("dout", qCount), .input("q", qCount), .input("k", kvCount), .input("v", kvCount),
                                           .input("out", qCount), .input("lse", rows, .f32, range: 1...3)]) { b, t in
                b.attentionBackward(dq: t[0], dk: t[1], dv: t[2], dOut: t[3], q: t[4], k: t[5], v: t[6], out: t[7], lse: t[8],
                                    batch: batch, seqLen: seqLen, heads: h, kvHeads: hkv, headDim: d)
            })
        }

        let vocab = 1000
        let targets = (0..<n).map { i in i % 7 == 3 ? ignoredTarget : Int32(random.next(below: vocab)) }
        let targetCount = targets.filter { $0 != ignoredTarget }.count
        cases.append(OpCase(name: "linear_cross_entropy",
                            operands: [.update("lossSum", 1, .f32), .output("dhidden", n * c), .update("dweight", vocab * c, .f32),
                                       .input("hidden", n * c), .input("weight", vocab * c), .ints("targets", targets)]) { b, t in
            b.linearCrossEntropy(lossSum: t[0], dHidden: t[1], dWeight: t[2], hidden: t[3], weight: t[4], targets: t[5],
                                 tokens: n, channels: c, vocab: vocab, scale: 1 / Float(targetCount), chunkTokens: 64)
        })

        // One vocabulary chunk (rows 300..<550 of 1000): targets inside it, outside it and
        // ignored; the running statistics as after earlier chunks (rowSum > 0).
        let (chunkStart, chunkRows) = (300, 250)
        let state: [OpCase.Operand] = [.input("rowMax", n, .f32, range: 2...4), .input("rowSum", n, .f32, range: 1...3)]
        cases.append(OpCase(name: "vocab_chunk_statistics",
                            operands: [.update("rowMax", n, .f32, range: 2...4), .update("rowSum", n, .f32, range: 1...3),
                                       .update("targetLogit", n, .f32), .output("logits", n * chunkRows, .f32),
                                       .input("hidden", n * c), .input("weight", chunkRows * c), .ints("targets", targets)]) { b, t in
            b.vocabChunkStatistics(rowMax: t[0], rowSum: t[1], targetLogit: t[2], logits: t[3], hidden: t[4], weight: t[5],
                                   targets: t[6], tokens: n, channels: c, vocabStart: chunkStart, vocabRows: chunkRows)
        })
        cases.append(OpCase(name: "vocab_chunk_loss",
                            operands: [.update("lossSum", 1, .f32)] + state
                                + [.input("targetLogit", n, .f32), .ints("targets", targets)]) { b, t in
            b.vocabChunkLoss(lossSum: t[0], rowMax: t[1], rowSum: t[2], targetLogit: t[3], targets: t[4], tokens: n)
        })
        for accumulate in [false, true] {
            let dHidden: OpCase.Operand = accumulate ? .update("dhidden", n * c, .f32) : .output("dhidden", n * c, .f32)
            cases.append(OpCase(name: accumulate ? "vocab_chunk_backward_accumulate" : "vocab_chunk_backward",
                                operands: [dHidden, .update("dweight", chunkRows * c, .f32), .output("logits", n * chunkRows, .f32),
                                           .output("dlogits", n * chunkRows), .input("hidden", n * c),
                                           .input("weight", chunkRows * c), .ints("targets", targets)] + state) { b, t in
                b.vocabChunkBackward(dHidden: t[0], dWeight: t[1], logits: t[2], dlogits: t[3], hidden: t[4], weight: t[5],
                                     targets: t[6], rowMax: t[7], rowSum: t[8], tokens: n, channels: c,
                                     vocabStart: chunkStart, vocabRows: chunkRows, scale: 1 / Float(targetCount),
                                     accumulate: accumulate)
            })
        }
        return cases
    }

    /// Fill, conversions, add, scale and SwiGLU over `count` elements from element `offset` of
    /// each float operand. Offset 0 with a count that is not a multiple of 8 runs the GPU's
    /// 16-byte path and its scalar tail, offset 1 its unaligned fallback (named `_offset`).
    static func elementwiseCases(count: Int, offset: Int) -> [OpCase] {
        let tag = offset == 0 ? "" : "_offset"
        func input(_ name: String, range: ClosedRange<Float> = -1...1, _ precision: OpCase.Precision = .storage) -> OpCase.Operand {
            .input(name, count + offset, precision, range: range)
        }
        // Outputs at an offset start as `update` operands: the elements before it stay as they started.
        func output(_ name: String, _ precision: OpCase.Precision = .storage) -> OpCase.Operand {
            offset == 0 ? .output(name, count, precision) : .update(name, count + offset, precision)
        }
        func at(_ t: [TensorRef]) -> [TensorRef] { t.map { $0.advanced(by: offset) } }
        return [
            OpCase(name: "fill" + tag, operands: [output("out")]) { b, t in
                b.fill(at(t)[0], count: count, value: 0.37)
            },
            OpCase(name: "copy_to_storage" + tag, operands: [input("src", .f32), output("dst")]) { b, t in
                b.copy(at(t)[0], to: at(t)[1], count: count)
            },
            OpCase(name: "copy_to_f32" + tag, operands: [input("src"), output("dst", .f32)]) { b, t in
                b.copy(at(t)[0], to: at(t)[1], count: count)
            },
            OpCase(name: "add" + tag, operands: [output("out"), input("a"), input("b")]) { b, t in
                let t = at(t)
                b.add(t[0], t[1], t[2], count: count)
            },
            OpCase(name: "scale" + tag, operands: [.update("x", count + offset)]) { b, t in
                b.scale(at(t)[0], count: count, by: 0.3)
            },
            OpCase(name: "swiglu_forward" + tag, operands: [output("out"), input("gate", range: -4...4), input("up")]) { b, t in
                let t = at(t)
                b.swigluForward(out: t[0], gate: t[1], up: t[2], count: count)
            },
            OpCase(name: "swiglu_backward" + tag,
                   operands: [output("dgate"), output("dup"), input("dout"), input("gate", range: -4...4), input("up")]) { b, t in
                let t = at(t)
                b.swigluBackward(dGate: t[0], dUp: t[1], dOut: t[2], gate: t[3], up: t[4], count: count)
            },
        ]
    }

    /// RMSNorm forward, backward and accumulating backward on (rows, cols) from element `offset`
    /// of the row operands and the weight.
    static func rmsNormCases(tag: String, rows: Int, cols: Int, offset: Int) -> [OpCase] {
        let size = rows * cols + offset
        func at(_ t: TensorRef) -> TensorRef { t.advanced(by: offset) }
        let forwardOut: OpCase.Operand = offset == 0 ? .output("out", size) : .update("out", size)
        var cases = [OpCase(name: "rmsnorm_forward" + tag,
                            operands: [forwardOut, .output("rstd", rows, .f32), .input("inp", size), .input("w", cols + offset)]) { b, t in
            b.rmsNormForward(out: at(t[0]), rstd: t[1], inp: at(t[2]), weight: at(t[3]), rows: rows, cols: cols, eps: 1e-6)
        }]
        for accumulate in [false, true] {
            let dInp: OpCase.Operand = accumulate || offset > 0 ? .update("dinp", size) : .output("dinp", size)
            cases.append(OpCase(name: (accumulate ? "rmsnorm_backward_accumulate" : "rmsnorm_backward") + tag,
                                operands: [dInp, .update("dw", cols, .f32), .input("dout", size), .input("inp", size),
                                           .input("w", cols + offset), .input("rstd", rows, .f32, range: 0.5...1.5)]) { b, t in
                b.rmsNormBackward(dInp: at(t[0]), dWeight: t[1], dOut: at(t[2]), inp: at(t[3]), weight: at(t[4]), rstd: t[5],
                                  rows: rows, cols: cols, accumulate: accumulate)
            })
        }
        return cases
    }

    /// RoPE forward and backward on (tokens, heads, headDim) from element `offset` of out and inp.
    static func ropeCases(tag: String, tokens: Int, heads: Int, headDim: Int, offset: Int,
                          _ random: inout SplitMix64) -> [OpCase] {
        let size = tokens * heads * headDim + offset
        let positions = (0..<tokens).map { _ in Int32(random.next(below: 4096)) }
        let invFreq = RopeFrequencies.inverseFrequencies(headDim: headDim, theta: 10000, scaling: .none)
        let operands: [OpCase.Operand] = [offset == 0 ? .output("out", size) : .update("out", size), .input("inp", size),
                                          .ints("positions", positions), .input("invFreq", headDim / 2, .f32, range: 0...1)]
        return [
            OpCase(name: "rope_forward" + tag, operands: operands) { b, t in
                b.upload(invFreq, to: t[3])
                b.ropeForward(out: t[0].advanced(by: offset), inp: t[1].advanced(by: offset), positions: t[2], invFreq: t[3],
                              tokens: tokens, heads: heads, headDim: headDim)
            },
            OpCase(name: "rope_backward" + tag, operands: operands) { b, t in
                b.upload(invFreq, to: t[3])
                b.ropeBackward(dInp: t[0].advanced(by: offset), dOut: t[1].advanced(by: offset), positions: t[2], invFreq: t[3],
                               tokens: tokens, heads: heads, headDim: headDim)
            },
        ]
    }
}

extension SplitMix64 {
    /// Uniform in `range`.
    mutating func float(in range: ClosedRange<Float>) -> Float {
        let unit = Float(next() >> 40) * (1.0 / 16_777_216.0)
        return range.lowerBound + unit * (range.upperBound - range.lowerBound)
    }
}
