/// The three NVIDIA libraries the backend uses, found and loaded once. `load()` fails with
/// one message naming what is missing, where it was looked for and how to install it.
public final class CUDALibraries {
    public let driver: DriverAPI
    public let nvrtc: NVRTCAPI
    public let blasLt: BLASLtAPI

    init(driver: DriverAPI, nvrtc: NVRTCAPI, blasLt: BLASLtAPI) {
        self.driver = driver
        self.nvrtc = nvrtc
        self.blasLt = blasLt
    }

    public static func load() throws -> CUDALibraries {
        let search = LibrarySearch()
        var problems: [String] = []
        var driver: DriverAPI?, nvrtc: NVRTCAPI?, blasLt: BLASLtAPI?
        do { driver = try DriverAPI(search: search) } catch { problems.append("\(error)") }
        do { nvrtc = try NVRTCAPI(search: search) } catch { problems.append("\(error)") }
        do { blasLt = try BLASLtAPI(search: search) } catch { problems.append("\(error)") }
        guard let driver, let nvrtc, let blasLt else {
            throw CUDAUnavailable(description: "the CUDA backend cannot start:\n" + problems.joined(separator: "\n"))
        }
        return CUDALibraries(driver: driver, nvrtc: nvrtc, blasLt: blasLt)
    }

    /// NVRTC alone (compiling kernels needs no GPU and no driver).
    public static func loadCompiler() throws -> NVRTCAPI {
        try NVRTCAPI(search: LibrarySearch())
    }
}
