import Backends
import CCUDA

/// The LM head's cross-entropy one vocabulary chunk at a time (logits by cuBLASLt, then the
/// chunk kernels), and the embedding's gradient from tokens grouped by row.
extension CUDABackend {
    public func vocabChunkStatistics(rowMax: TensorRef, rowSum: TensorRef, targetLogit: TensorRef, logits: TensorRef,
                                     hidden: TensorRef, weight: TensorRef, targets: TensorRef,
                                     tokens: Int, channels: Int, vocabStart: Int, vocabRows: Int) {
        enqueue("vocabChunkStatistics") {
            let logitsAddress = floats(logits, tokens * vocabRows)
            gemm(transA: false, transB: true, m: tokens, n: vocabRows, k: channels, alpha: 1,
                 a: hidden, b: weight, beta: 0, c: logits)
            var args = KernelArguments()
            args.append(logitsAddress); args.append(ints(targets, tokens))
            args.append(Int32(vocabStart)); args.append(Int32(vocabRows))
            args.append(floats(rowMax, tokens)); args.append(floats(rowSum, tokens)); args.append(floats(targetLogit, tokens))
            try launch("vocab_chunk_statistics", grid: (tokens, 1, 1), block: (256, 1, 1), args)
        }
    }

    public func vocabChunkLoss(lossSum: TensorRef, rowMax: TensorRef, rowSum: TensorRef, targetLogit: TensorRef,
                               targets: TensorRef, tokens: Int) {
        enqueue("vocabChunkLoss") {
            var args = KernelArguments()
            args.append(floats(rowMax, tokens)); args.append(floats(rowSum, tokens)); args.append(floats(targetLogit, tokens))
            args.append(ints(targets, tokens)); args.append(Int32(tokens)); args.append(floats(lossSum, 1))
            try launch("vocab_chunk_loss", grid: (1, 1, 1), block: (1024, 1, 1), args)
        }
    }

    public func vocabChunkBackward(dHidden: TensorRef, dWeight: TensorRef, logits: TensorRef, dlogits: TensorRef,
                                   hidden: TensorRef, weight: TensorRef, targets: TensorRef, rowMax: TensorRef,
                                   rowSum: TensorRef, tokens: Int, channels: Int, vocabStart: Int, vocabRows: Int,
                                   scale: Float, accumulate: Bool) {
        enqueue("vocabChunkBackward") {
            let logitsAddress = floats(logits, tokens * vocabRows)
            gemm(transA: false, transB: true, m: tokens, n: vocabRows, k: channels, alpha: 1,
                 a: hidden, b: weight, beta: 0, c: logits)
            var args = KernelArguments()
            args.append(logitsAddress); operand(&args, dlogits, tokens * vocabRows); args.append(ints(targets, tokens))
            args.append(Int32(vocabStart)); args.append(Int32(vocabRows))
            args.append(floats(rowMax, tokens)); args.append(floats(rowSum, tokens)); args.append(scale)
            args.append(Int64(tokens))
            try launch("vocab_chunk_dlogits", grid: gridFor(tokens * vocabRows), args)
            gemm(transA: false, transB: false, m: tokens, n: channels, k: vocabRows, alpha: 1,
                 a: dlogits, b: weight, beta: accumulate ? 1 : 0, c: dHidden)
            gemm(transA: true, transB: false, m: vocabRows, n: channels, k: tokens, alpha: 1,
                 a: dlogits, b: hidden, beta: 1, c: dWeight)
        }
    }

    public func embeddingBackwardGroups(dRows: TensorRef, dOut: TensorRef, tokenOrder: TensorRef, rowStarts: TensorRef,
                                        groupRows: TensorRef?, groups: Range<Int>, tokens: Int, channels: Int,
                                        firstRow: Int, rows: Int) {
        guard !groups.isEmpty else { return }
        enqueue("embeddingBackwardGroups") {
            var args = KernelArguments()
            operand(&args, dRows, rows * channels); operand(&args, dOut, tokens * channels)
            args.append(ints(tokenOrder, tokens)); args.append(ints(rowStarts, groups.upperBound + 1))
            args.append(groupRows.map { ints($0, groups.upperBound) } ?? 0)
            args.append(Int32(groups.lowerBound)); args.append(Int32(firstRow)); args.append(Int32(channels))
            try launch("embedding_backward_groups", grid: (groups.count, 1, 1), block: (256, 1, 1), args)
        }
    }
}
