import CCUDA

/// A failed call into the CUDA driver, NVRTC or cuBLASLt, with the library's own message.
public struct CUDAError: Error, CustomStringConvertible {
    public let call: String
    public let code: Int32
    public let message: String

    public var description: String { "\(call) failed (\(code)): \(message)" }
}

/// The NVIDIA libraries could not be found or are unusable: says what was looked for where,
/// and how to install it.
public struct CUDAUnavailable: Error, CustomStringConvertible {
    public let description: String
}

/// cublasStatus_t names and meanings (cublas_api.h); cuBLASLt has no message function in
/// every version, so the table lives here.
enum BLASStatus {
    static func message(_ status: Int32) -> String {
        switch status {
        case 1: return "CUBLAS_STATUS_NOT_INITIALIZED: the library was not initialized"
        case 3: return "CUBLAS_STATUS_ALLOC_FAILED: resource allocation failed"
        case 7: return "CUBLAS_STATUS_INVALID_VALUE: an unsupported value or parameter was passed"
        case 8: return "CUBLAS_STATUS_ARCH_MISMATCH: the feature is absent on this device architecture"
        case 11: return "CUBLAS_STATUS_MAPPING_ERROR: access to GPU memory space failed"
        case 13: return "CUBLAS_STATUS_EXECUTION_FAILED: the GPU program failed to execute"
        case 14: return "CUBLAS_STATUS_INTERNAL_ERROR: an internal cuBLAS operation failed"
        case 15: return "CUBLAS_STATUS_NOT_SUPPORTED: the functionality requested is not supported"
        case 16: return "CUBLAS_STATUS_LICENSE_ERROR"
        default: return "unknown cublasStatus_t"
        }
    }
}
