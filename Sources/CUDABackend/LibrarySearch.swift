#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import CCUDA

/// Where the NVIDIA shared libraries are looked for: first by soname (ld.so.cache,
/// LD_LIBRARY_PATH), then in CUDA toolkit folders and the `nvidia/*/lib` folders of pip
/// wheels (`nvidia-cuda-nvrtc-cu12`, `nvidia-cublas-cu12`, CUDA 13's `nvidia/cu13/lib`).
struct LibrarySearch {
    /// Folders searched after the sonames, in order, existing ones only.
    let directories: [String]

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        var dirs: [String] = []
        if let extra = environment["SLIDEFORMER_CUDA_LIB_DIRS"] {
            dirs += extra.split(separator: ":").map(String.init)
        }
        if let home = environment["CUDA_HOME"] ?? environment["CUDA_PATH"] { dirs.append(home + "/lib64") }
        dirs += ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"]
        for sitePackages in Self.sitePackages(environment) {
            dirs += glob(sitePackages + "/nvidia/cu13/lib")
            dirs += glob(sitePackages + "/nvidia/*/lib")
        }
        var seen = Set<String>()
        directories = dirs.filter { isDirectory($0) && seen.insert($0).inserted }
    }

    /// Python site-/dist-packages folders of the system, the user, and active environments.
    static func sitePackages(_ environment: [String: String]) -> [String] {
        var roots = ["/usr", "/usr/local"]
        if let home = environment["HOME"] {
            roots.append(home + "/.local")
            roots += glob(home + "/.pyenv/versions/*")
        }
        if let venv = environment["VIRTUAL_ENV"] { roots.insert(venv, at: 0) }
        if let conda = environment["CONDA_PREFIX"] { roots.insert(conda, at: 0) }
        var out: [String] = []
        for root in roots {
            for kind in ["site-packages", "dist-packages"] {
                out += glob(root + "/lib/python3*/" + kind)
            }
        }
        out.append("/usr/lib/python3/dist-packages")
        return out
    }

    /// dlopens the first of `sonames` that loads: by soname, then from each directory.
    /// Returns the handle and the file it came from, or the list of every attempt.
    func open(_ sonames: [String]) -> Result<(handle: UnsafeMutableRawPointer, path: String), LibraryNotFound> {
        var attempts: [String] = []
        for soname in sonames {
            var error: UnsafePointer<CChar>? = nil
            if let h = ccuda_open_library(soname, &error) {
                return .success((h, Self.path(of: h) ?? soname))
            }
            attempts.append("\(soname): " + (error.map { String(cString: $0) } ?? "not found"))
        }
        for dir in directories {
            for soname in sonames {
                let full = dir + "/" + soname
                guard access(full, F_OK) == 0 else { continue }
                var error: UnsafePointer<CChar>? = nil
                if let h = ccuda_open_library(full, &error) { return .success((h, Self.path(of: h) ?? full)) }
                attempts.append("\(full): " + (error.map { String(cString: $0) } ?? "failed"))
            }
        }
        return .failure(LibraryNotFound(sonames: sonames, directories: directories, attempts: attempts))
    }

    static func path(of handle: UnsafeMutableRawPointer) -> String? {
        guard let p = ccuda_library_path(handle) else { return nil }
        let name = String(cString: p)
        guard let real = realpath(name, nil) else { return name }
        defer { free(real) }
        return String(cString: real)
    }
}

/// What was looked for, where, and what each attempt said.
struct LibraryNotFound: Error {
    let sonames: [String]
    let directories: [String]
    let attempts: [String]

    func explain(installHint: String) -> String {
        var lines = ["could not load any of \(sonames.joined(separator: ", ")).",
                     "  searched: the system library path (ld.so.cache, LD_LIBRARY_PATH), then "
                         + (directories.isEmpty ? "no other folder (none of the CUDA or pip folders exists)"
                                                : directories.joined(separator: ", "))]
        let shown = attempts.filter { !$0.hasSuffix("cannot open shared object file: No such file or directory") }
        for a in shown.prefix(4) { lines.append("  " + a) }
        lines.append("  to install: " + installHint)
        return lines.joined(separator: "\n")
    }
}

func glob(_ pattern: String) -> [String] {
    var g = glob_t()
    defer { globfree(&g) }
    guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return [] }
    return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }
}

func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}
