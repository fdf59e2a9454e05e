import Backends
import CKernels
import ModelFormats
import Support

/// The embedding's forward on the host, for the streamed placement: out (N,C) f32 =
/// table (V,C) [ids], where the table is the fp32 masters as the device's compute copy holds
/// them (bf16 storage: rounded to nearest even, then widened; f32: as they are), so the rows
/// are bit-identical to `embeddingForward` on the device's table. ids must be in 0..<V.
enum EmbeddingRowGather {
    /// `row(id, destination)` writes the fp32 master row of `id` (as it is, or as an update still
    /// to run will write it: `AdamW.updatedValues`), which is then rounded in place.
    static func gather(ids: ArraySlice<Int32>, channels C: Int, storage: ElementType, into out: UnsafeMutablePointer<Float>,
                       pool: WorkerPool, row: (Int, UnsafeMutablePointer<Float>) -> Void) {
        let rounded = storage == .bf16
        ids.withUnsafeBufferPointer { ids in
            pool.parallelRanges(ids.count, minChunk: 16) { range in
                for i in range {
                    let dst = out + i * C
                    row(Int(ids[i]), dst)
                    if rounded { sf_round_f32_to_bf16(dst, C) }
                }
            }
        }
    }
}
