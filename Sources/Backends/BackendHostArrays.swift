/// Typed host-array conveniences over the raw `upload` / `download` of `Backend`.
extension Backend {
    /// A new f32 buffer holding `values`.
    public func makeBuffer(_ values: [Float]) throws -> any DeviceBuffer {
        let b = try makeBuffer(.f32, count: values.count)
        upload(values, to: b.ref())
        return b
    }

    /// A new i32 buffer holding `values`.
    public func makeBuffer(_ values: [Int32]) throws -> any DeviceBuffer {
        let b = try makeBuffer(.i32, count: values.count)
        upload(values, to: b.ref())
        return b
    }

    /// Uploads values whose size matches dst's elements: Float into f32, Int32 into i32, UInt16 bits into bf16.
    public func upload<T: BitwiseCopyable>(_ values: [T], to dst: TensorRef) {
        precondition(MemoryLayout<T>.stride == dst.elementType.byteSize, "upload: \(T.self) values into a \(dst.elementType) buffer")
        values.withUnsafeBytes { upload($0, to: dst) }
    }

    /// Downloads `count` f32 elements.
    public func downloadFloats(_ src: TensorRef, count: Int) -> [Float] {
        precondition(src.elementType == .f32, "downloadFloats reads an f32 buffer")
        return [Float](unsafeUninitializedCapacity: count) { out, n in
            download(src, into: UnsafeMutableRawBufferPointer(out))
            n = count
        }
    }

    /// Downloads `count` i32 elements.
    public func downloadInts(_ src: TensorRef, count: Int) -> [Int32] {
        precondition(src.elementType == .i32, "downloadInts reads an i32 buffer")
        return [Int32](unsafeUninitializedCapacity: count) { out, n in
            download(src, into: UnsafeMutableRawBufferPointer(out))
            n = count
        }
    }
}
