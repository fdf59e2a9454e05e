import Backends

extension Backend {
    /// Zeroes the rows of `dEmbedded` (N,C) (∂L/∂embedding output) at tokens holding `padId`,
    /// run by run, so the embedding backward adds nothing for them: transformers' embedding has
    /// `padding_idx = pad_token_id`, whose lookups get no gradient (see `ModelConfig.padTokenId`).
    func dropPaddingLookups(_ dEmbedded: TensorRef, inputIds: [Int32], tokens n: Int, channels C: Int, padId: Int?) {
        guard let pad = padId.map(Int32.init) else { return }
        var start = 0
        while start < n {
            guard inputIds[start] == pad else {
                start += 1
                continue
            }
            var end = start + 1
            while end < n && inputIds[end] == pad { end += 1 }
            fill(dEmbedded.advanced(by: start * C), count: (end - start) * C, value: 0)
            start = end
        }
    }
}
