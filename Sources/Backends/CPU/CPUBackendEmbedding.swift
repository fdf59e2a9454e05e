extension CPUBackend {
    public func embeddingForward(out: TensorRef, ids: TensorRef, table: TensorRef, tokens: Int, channels: Int, vocab: Int) {
        let o = floats(out, tokens * channels), t = floats(table, vocab * channels), id = ints(ids, tokens)
        forEachPiece(tokens, minChunk: 16) { _, r in
            for i in r {
                let row = Int(id[i])
                precondition(row >= 0 && row < vocab, "embedding: token id \(row) outside 0..<\(vocab)")
                (o + i * channels).update(from: t + row * channels, count: channels)
            }
        }
    }

    public func embeddingBackward(dTable: TensorRef, dOut: TensorRef, ids: TensorRef, tokens: Int, channels: Int, vocab: Int) {
        let dt = floats(dTable, vocab * channels), d = floats(dOut, tokens * channels), id = ints(ids, tokens)
        for i in 0..<tokens {
            precondition(id[i] >= 0 && Int(id[i]) < vocab, "embedding: token id \(id[i]) outside 0..<\(vocab)")
        }
        // Each piece owns a range of channels, so repeated ids never race and sums are deterministic.
        forEachPiece(channels, minChunk: 64) { _, r in
            for i in 0..<tokens {
                let src = d + i * channels, dst = dt + Int(id[i]) * channels
                for c in r { dst[c] += src[c] }
            }
        }
    }
}
