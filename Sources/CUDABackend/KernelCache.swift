#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import Support

/// Compiled CUBINs on disk, keyed by a hash of source, target architecture and NVRTC version,
/// so each kernel source is compiled once per machine: $SLIDEFORMER_CACHE/kernels, or
/// ~/.cache/slideformer/kernels.
public struct KernelCache {
    public let directory: String?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        directory = CacheFolder.path("kernels", environment: environment)
    }

    /// The CUBIN of `source` for `arch`: from the cache, or compiled and then stored. A cache
    /// that cannot be written only costs a recompile next time.
    func cubin(source: String, name: String, arch: String, nvrtc: NVRTCAPI) throws -> [UInt8] {
        let path = directory.map { $0 + "/" + name + "-" + arch + "-" + Self.key(source, arch, nvrtc.version) + ".cubin" }
        if let path, let cached = try? readFileBytes(path), !cached.isEmpty { return cached }
        let cubin = try nvrtc.compile(source: source, name: name + ".cu", arch: arch)
        if let directory, let path, CacheFolder.make(directory) { try? AtomicOutput.write(cubin, to: path) }
        return cubin
    }

    /// 128-bit key: FNV-1a and a second, differently mixed 64-bit lane, as 32 hex digits.
    static func key(_ parts: String...) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325, b: UInt64 = 0x6c62_272e_07bb_0142
        for part in parts {
            for byte in part.utf8 + [0] {
                a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
                b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 ^ (b >> 29)
            }
        }
        func hex(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        return hex(a) + hex(b)
    }
}
