import Glibc

/// Folders under the per-machine cache: $SLIDEFORMER_CACHE/<name>, or
/// ~/.cache/slideformer/<name>. Everything kept there can be rebuilt (compiled kernels, timed
/// GEMM algorithms); losing it only costs the time to rebuild it.
enum CacheFolder {
    static func path(_ name: String, environment: [String: String]) -> String? {
        if let root = environment["SLIDEFORMER_CACHE"], !root.isEmpty { return root + "/" + name }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.cache/slideformer/" + name }
        return nil
    }

    /// Creates `path` and its parents; false when that is not possible.
    static func make(_ path: String) -> Bool {
        var current = ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST { return false }
        }
        return true
    }
}
