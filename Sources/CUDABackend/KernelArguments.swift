import CCUDA

/// Kernel arguments packed into one explicit byte buffer, each at its C alignment, passed to
/// cuLaunchKernel through CU_LAUNCH_PARAM_BUFFER_POINTER (no pointers to Swift values).
struct KernelArguments {
    private(set) var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(128) }

    mutating func append<T: BitwiseCopyable>(_ value: T) {
        let align = MemoryLayout<T>.alignment
        while bytes.count % align != 0 { bytes.append(0) }
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }

    /// A float operand: its device address and its storage flag (1 = bf16, 0 = f32).
    mutating func append(operand pointer: CUdeviceptr, bf16: Bool) {
        append(pointer)
        append(Int32(bf16 ? 1 : 0))
    }

    /// Calls `body` with the `extra` array for cuLaunchKernel; the bytes stay alive throughout.
    func withLaunchExtra<R>(_ body: (UnsafeMutablePointer<UnsafeMutableRawPointer?>) throws -> R) rethrows -> R {
        var copy = bytes
        var size = copy.count
        return try copy.withUnsafeMutableBytes { buffer in
            try withUnsafeMutablePointer(to: &size) { sizePointer in
                var extra: [UnsafeMutableRawPointer?] = [
                    marker(CCU_LAUNCH_PARAM_BUFFER_POINTER), buffer.baseAddress,
                    marker(CCU_LAUNCH_PARAM_BUFFER_SIZE), UnsafeMutableRawPointer(sizePointer),
                    marker(CCU_LAUNCH_PARAM_END),
                ]
                return try extra.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
            }
        }
    }
}

/// cuda.h defines the `extra` markers as small integers cast to void *.
private func marker(_ value: Int) -> UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: value) }
