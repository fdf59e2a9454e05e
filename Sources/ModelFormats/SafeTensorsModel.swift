#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Support

/// The safetensors weights of a Hugging Face model folder: one `model.safetensors`, or the
/// shards listed by `model.safetensors.index.json`.
public final class SafeTensorsModel: @unchecked Sendable {
    public let directory: String
    public let files: [SafeTensorsFile]
    /// Every tensor name, sorted.
    public let tensorNames: [String]
    private let fileOf: [String: Int]

    public init(directory: String) throws {
        self.directory = directory
        let single = directory + "/" + SafeTensorsWriter.singleFileName
        let indexPath = directory + "/" + SafeTensorsWriter.indexFileName
        var fileOf: [String: Int] = [:]
        if FileManager.default.fileExists(atPath: indexPath) {
            let index = try readJSONFile(indexPath)
            guard let map = index["weight_map"]?.object else {
                throw InputError(file: indexPath, location: "key weight_map", "missing or not an object")
            }
            var shardNames: [String] = []
            var shardIndex: [String: Int] = [:]
            for (name, value) in map.pairs {
                guard let shard = value.string, !shard.isEmpty, !shard.contains("/"), shard != ".", shard != ".." else {
                    throw InputError(file: indexPath, location: "key weight_map.\(name)", "expected a file name in this folder")
                }
                if shardIndex[shard] == nil {
                    shardIndex[shard] = shardNames.count
                    shardNames.append(shard)
                }
                fileOf[name] = shardIndex[shard]
            }
            files = try shardNames.map { shard in
                let p = directory + "/" + shard
                guard FileManager.default.fileExists(atPath: p) else {
                    throw InputError(file: indexPath, location: "shard \(shard)", "listed in the index but missing from the folder")
                }
                return try SafeTensorsFile(path: p)
            }
            for (name, k) in fileOf where files[k].info(name) == nil {
                throw InputError(file: files[k].path, location: "tensor \(name)", "listed in \(SafeTensorsWriter.indexFileName) but not in this shard")
            }
            // A tensor the index does not list still counts, so that callers see (and can refuse) it.
            for (k, f) in files.enumerated() {
                for t in f.tensors where fileOf[t.name] == nil { fileOf[t.name] = k }
            }
        } else if FileManager.default.fileExists(atPath: single) {
            let f = try SafeTensorsFile(path: single)
            files = [f]
            for t in f.tensors { fileOf[t.name] = 0 }
        } else {
            throw InputError(file: directory, "no \(SafeTensorsWriter.singleFileName) or \(SafeTensorsWriter.indexFileName) in this folder")
        }
        self.fileOf = fileOf
        tensorNames = fileOf.keys.sorted()
    }

    public func info(_ name: String) -> SafeTensorInfo? { file(containing: name)?.info(name) }

    public func file(containing name: String) -> SafeTensorsFile? { fileOf[name].map { files[$0] } }

    /// Raw bytes of tensor `name`; throws naming the folder when absent.
    public func bytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let f = file(containing: name), let t = f.info(name) else { throw missing(name) }
        return f.bytes(t)
    }

    /// Converts tensor `name` to fp32 into `destination` (exactly its element count).
    public func readFloat32(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        guard let f = file(containing: name) else { throw missing(name) }
        try f.readFloat32(name, into: destination)
    }

    private func missing(_ name: String) -> InputError {
        InputError(file: directory, location: "tensor \(name)", "missing from the checkpoint")
    }
}
