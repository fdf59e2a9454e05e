import CCUDA

/// cuBLASLt (libcublasLt.so.13 / .12), resolved at run time.
public final class BLASLtAPI {
    let api: CCUDABLASLt
    public let path: String
    /// cublasLtGetVersion(), e.g. 120903.
    public let version: Int

    init(search: LibrarySearch) throws {
        let lib: (handle: UnsafeMutableRawPointer, path: String)
        switch search.open(["libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"]) {
        case .success(let found): lib = found
        case .failure(let notFound):
            throw CUDAUnavailable(description: "no cuBLASLt: " + notFound.explain(
                installHint: "pip install nvidia-cublas-cu12 (or install the CUDA toolkit, or set CUDA_HOME)"))
        }
        api = try resolveTable(CCUDABLASLt.self, library: lib, name: "libcublasLt") { ccuda_resolve_blaslt($0, $1) }
        path = lib.path
        version = api.cublasLtGetVersion()
    }

    func check(_ status: cublasStatus_t, _ call: @autoclosure () -> String) throws {
        if status != 0 { throw CUDAError(call: call(), code: status, message: BLASStatus.message(status)) }
    }
}
