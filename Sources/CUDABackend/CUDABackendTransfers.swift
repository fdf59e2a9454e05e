import Backends
import CCUDA

/// Asynchronous host↔device copies on the backend's copy streams, for an engine that overlaps
/// transfers with compute: order them against `computeStream` with `CUDAEvent`s
/// (record on one stream, `wait(for:)` on the other). The host memory must be pinned
/// (`PinnedHostBuffer` or `HostRegistration`) and stay untouched until the copy's event fires;
/// device buffers must stay referenced until then too.
extension CUDABackend {
    /// Enqueues host → device: `bytes` bytes from `source` into `destination` on `stream`.
    public func copyToDevice(from source: UnsafeRawPointer, to destination: TensorRef, bytes: Int, on stream: CUDAStream) throws {
        let size = destination.elementType.byteSize
        precondition(bytes % size == 0, "copyToDevice: \(bytes) bytes is not a whole number of \(destination.elementType)")
        let dst = address(destination, bytes / size, [.f32, .bf16, .i32])
        try device.makeCurrent()
        try device.check(device.driver.cuMemcpyHtoDAsync(dst, source, bytes, stream.handle), "cuMemcpyHtoDAsync")
    }

    /// Enqueues host f32 → `destination` (f32, or bf16 by the `convert` kernel, round to nearest
    /// even, through the f32 `scratch` in pieces of its size) on `stream`: each piece's copy and
    /// conversion run on the copy's stream, so the next piece's copy waits for the conversion
    /// that read the scratch before it.
    public func copyToDevice(converting source: UnsafePointer<Float>, to destination: TensorRef, count: Int,
                             scratch: TensorRef, on stream: CUDAStream) throws {
        if destination.elementType == .f32 {
            return try copyToDevice(from: source, to: destination, bytes: count * 4, on: stream)
        }
        let piece = scratch.buffer.count - scratch.offset
        precondition(piece > 0, "copyToDevice(converting:): empty scratch")
        for lo in stride(from: 0, to: count, by: piece) {
            let n = min(piece, count - lo)
            try copyToDevice(from: source + lo, to: scratch, bytes: n * 4, on: stream)
            try convert(from: address(scratch, n, [.f32]), bf16: false, to: address(destination.advanced(by: lo), n),
                        bf16: destination.elementType == .bf16, count: n, stream: stream.handle)
        }
    }

    /// Enqueues device f32 → host bf16 on `stream`: each piece of `scratch`'s size is rounded by
    /// the `convert` kernel into the bf16 scratch, then copied out, both on the copy's stream,
    /// so the next piece's conversion waits for the copy that read the scratch before it.
    public func copyToHost(converting source: TensorRef, toBF16 destination: UnsafeMutablePointer<UInt16>, count: Int,
                           scratch: TensorRef, on stream: CUDAStream) throws {
        let piece = scratch.buffer.count - scratch.offset
        precondition(piece > 0, "copyToHost(converting:): empty scratch")
        for lo in stride(from: 0, to: count, by: piece) {
            let n = min(piece, count - lo)
            try convert(from: address(source.advanced(by: lo), n, [.f32]), bf16: false, to: address(scratch, n, [.bf16]),
                        bf16: true, count: n, stream: stream.handle)
            try copyToHost(from: scratch, to: destination + lo, bytes: n * 2, on: stream)
        }
    }

    /// Enqueues device → host: `bytes` bytes of `source` into `destination` on `stream`.
    public func copyToHost(from source: TensorRef, to destination: UnsafeMutableRawPointer, bytes: Int, on stream: CUDAStream) throws {
        let size = source.elementType.byteSize
        precondition(bytes % size == 0, "copyToHost: \(bytes) bytes is not a whole number of \(source.elementType)")
        let src = address(source, bytes / size, [.f32, .bf16, .i32])
        try device.makeCurrent()
        try device.check(device.driver.cuMemcpyDtoHAsync(destination, src, bytes, stream.handle), "cuMemcpyDtoHAsync")
    }
}
