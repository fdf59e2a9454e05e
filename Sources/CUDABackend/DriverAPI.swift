import CCUDA

/// The CUDA driver API (libcuda.so.1), resolved at run time.
public final class DriverAPI {
    let api: CCUDADriver
    public let path: String

    init(search: LibrarySearch) throws {
        let lib: (handle: UnsafeMutableRawPointer, path: String)
        switch search.open(["libcuda.so.1", "libcuda.so"]) {
        case .success(let found): lib = found
        case .failure(let notFound):
            throw CUDAUnavailable(description: "no NVIDIA driver: " + notFound.explain(
                installHint: "install the NVIDIA GPU driver (libcuda.so.1 ships with it, not with the CUDA toolkit)"))
        }
        api = try resolveTable(CCUDADriver.self, library: lib, name: "libcuda") { ccuda_resolve_driver($0, $1) }
        path = lib.path
    }

    /// Throws a `CUDAError` with the driver's own text unless `result` is CUDA_SUCCESS.
    func check(_ result: CUresult, _ call: @autoclosure () -> String) throws {
        if result != 0 { throw CUDAError(call: call(), code: result, message: message(result)) }
    }

    func message(_ result: CUresult) -> String {
        var name: UnsafePointer<CChar>? = nil, text: UnsafePointer<CChar>? = nil
        _ = api.cuGetErrorName(result, &name)
        _ = api.cuGetErrorString(result, &text)
        let n = name.map { String(cString: $0) } ?? "CUresult \(result)"
        return text.map { n + ": " + String(cString: $0) } ?? n
    }

    /// The driver's CUDA version, e.g. "13.0".
    public func version() throws -> String {
        var v: Int32 = 0
        try check(api.cuDriverGetVersion(&v), "cuDriverGetVersion")
        return "\(v / 1000).\((v % 1000) / 10)"
    }
}

/// Fills a C table of function pointers from `library`, or says which symbol is missing.
func resolveTable<T>(_ type: T.Type, library: (handle: UnsafeMutableRawPointer, path: String), name: String,
                     _ resolve: (UnsafeMutableRawPointer, UnsafeMutablePointer<T>) -> UnsafePointer<CChar>?) throws -> T {
    let table = UnsafeMutablePointer<T>.allocate(capacity: 1)
    defer { table.deallocate() }
    if let missing = resolve(library.handle, table) {
        throw CUDAUnavailable(description: "\(library.path) lacks the symbol \(String(cString: missing)): "
                                  + "\(name) is too old or not the NVIDIA library")
    }
    return table.pointee
}
