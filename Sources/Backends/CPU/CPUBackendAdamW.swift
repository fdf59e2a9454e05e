import CKernels

extension CPUBackend {
    /// The AVX2 kernel of CKernels over pieces of the range (elementwise: the result does not
    /// depend on the split).
    public func adamW(params: TensorRef, m: TensorRef, v: TensorRef, grads: TensorRef, computeCopy: TensorRef?,
                      count: Int, scalars: AdamWScalars) {
        let p = floats(params, count), mm = floats(m, count), vv = floats(v, count), g = floats(grads, count)
        let out = computeCopy.map { storage($0, .bf16, count).assumingMemoryBound(to: UInt16.self) }
        withUnsafePointer(to: scalars.cScalars) { s in
            forEachPiece(count, minChunk: 1 << 15) { _, r in
                let i = r.lowerBound
                sf_adamw_f32grad(p + i, mm + i, vv + i, g + i, out.map { $0 + i }, r.count, s)
            }
        }
    }
}
