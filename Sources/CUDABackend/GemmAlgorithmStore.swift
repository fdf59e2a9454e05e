#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import CCUDA
import Support

/// The cuBLASLt algorithm timed fastest for each GEMM shape on this machine, kept in a file so
/// that every later run uses the same one (same results run to run, no re-timing): the file is
/// $SLIDEFORMER_CACHE/gemm/<key>.txt or ~/.cache/slideformer/gemm/<key>.txt, the key hashing
/// the GPU's name, its architecture, the cuBLASLt version and the GEMM workspace size (an
/// algorithm is only valid for those). One line per shape: transA transB m n k abType cType
/// alignment, then the eight 64-bit words of the opaque cublasLtMatmulAlgo_t in hex. A line
/// that does not parse is ignored: the shape is timed again.
final class GemmAlgorithmStore {
    let path: String?
    private var algorithms: [MatmulRunner.Shape: cublasLtMatmulAlgo_t] = [:]
    private var lock = pthread_mutex_t()

    init(path: String?) {
        self.path = path
        pthread_mutex_init(&lock, nil)
        if let path, let bytes = try? readFileBytes(path) {
            algorithms = Self.parse(String(decoding: bytes, as: UTF8.self))
        }
    }

    deinit { pthread_mutex_destroy(&lock) }

    /// The store for `device` under the machine's cache folder (no file when there is none).
    static func forDevice(name: String, architecture: String, blasVersion: Int, workspaceBytes: Int,
                          environment: [String: String]) -> GemmAlgorithmStore {
        let folder = CacheFolder.path("gemm", environment: environment)
        return GemmAlgorithmStore(path: folder.map {
            $0 + "/" + KernelCache.key(name, architecture, String(blasVersion), String(workspaceBytes)) + ".txt"
        })
    }

    func algorithm(for shape: MatmulRunner.Shape) -> cublasLtMatmulAlgo_t? {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return algorithms[shape]
    }

    /// Keeps `algorithm` for `shape` and rewrites the file (atomically); a file that cannot be
    /// written only costs timing the shape again next run.
    func record(_ algorithm: cublasLtMatmulAlgo_t, for shape: MatmulRunner.Shape) {
        pthread_mutex_lock(&lock)
        algorithms[shape] = algorithm
        let text = Self.serialize(algorithms)
        pthread_mutex_unlock(&lock)
        guard let path, let slash = path.lastIndex(of: "/"), CacheFolder.make(String(path[..<slash])) else { return }
        try? AtomicOutput.write(text, to: path)
    }

    static func serialize(_ algorithms: [MatmulRunner.Shape: cublasLtMatmulAlgo_t]) -> String {
        let lines = algorithms.map { shape, algo -> String in
            let s = shape
            let head = [s.transA ? 1 : 0, s.transB ? 1 : 0, s.m, s.n, s.k, Int(s.abType), Int(s.cType), s.alignment]
            let words = [algo.data.0, algo.data.1, algo.data.2, algo.data.3,
                         algo.data.4, algo.data.5, algo.data.6, algo.data.7]
            return (head.map(String.init) + words.map { String($0, radix: 16) }).joined(separator: " ")
        }
        return lines.sorted().joined(separator: "\n") + "\n"
    }

    static func parse(_ text: String) -> [MatmulRunner.Shape: cublasLtMatmulAlgo_t] {
        var result: [MatmulRunner.Shape: cublasLtMatmulAlgo_t] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 16 else { continue }
            let head = fields.prefix(8).compactMap { Int($0) }
            let words = fields.suffix(8).compactMap { UInt64($0, radix: 16) }
            guard head.count == 8, words.count == 8, head[0] & ~1 == 0, head[1] & ~1 == 0,
                  head[2...4].allSatisfy({ $0 > 0 }), head[7] > 0 else { continue }
            let shape = MatmulRunner.Shape(transA: head[0] == 1, transB: head[1] == 1, m: head[2], n: head[3], k: head[4],
                                           abType: Int32(clamping: head[5]), cType: Int32(clamping: head[6]),
                                           alignment: head[7])
            var algo = cublasLtMatmulAlgo_t()
            algo.data = (words[0], words[1], words[2], words[3], words[4], words[5], words[6], words[7])
            result[shape] = algo
        }
        return result
    }
}
