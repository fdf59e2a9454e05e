#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ModelFormats
import Support

/// The AdamW state of a training checkpoint in one file, laid out as safetensors (so
/// `safetensors.torch.load_file` reads it): 8-byte little-endian header length, a JSON header,
/// then the raw fp32 data. For each named buffer B: tensors "B.exp_avg" and "B.exp_avg_sq"
/// (F32, shape [count]) and metadata "B.step" (decimal string); metadata "format" =
/// "slideformer-adamw-1" and the hyperparameters ("beta1", "beta2", "eps", "weight_decay").
/// The hyperparameters are recorded for the reader; resuming takes them from the run's flags.
public enum OptimizerCheckpoint {
    public static let format = "slideformer-adamw-1"

    /// Writes every buffer's moments and step to `path` atomically.
    public static func save(_ buffers: [(name: String, moments: AdamWMoments)], hyperparameters h: AdamWHyperparameters, to path: String) throws {
        precondition(Set(buffers.map(\.name)).count == buffers.count, "buffer names must be unique")
        var header: [(String, JSON)] = []
        var metadata: [(String, JSON)] = [
            ("format", .string(format)),
            ("beta1", .string("\(h.beta1)")), ("beta2", .string("\(h.beta2)")),
            ("eps", .string("\(h.eps)")), ("weight_decay", .string("\(h.weightDecay)")),
        ]
        var offset = 0
        for (name, moments) in buffers {
            metadata.append((name + ".step", .string(String(moments.step))))
            for suffix in [".exp_avg", ".exp_avg_sq"] {
                let bytes = moments.count * 4
                header.append((name + suffix, .object(JSONObject([
                    ("dtype", .string("F32")), ("shape", .array([.int(moments.count)])),
                    ("data_offsets", .array([.int(offset), .int(offset + bytes)])),
                ]))))
                offset += bytes
            }
        }
        header.insert(("__metadata__", .object(JSONObject(metadata))), at: 0)
        var json = Array(JSON.object(JSONObject(header)).serialized().utf8)
        // Pad with spaces so the data starts 8-byte aligned (safetensors convention).
        while (8 + json.count) % 8 != 0 { json.append(UInt8(ascii: " ")) }
        try AtomicOutput.writeStreaming(to: path) { sink in
            var length = UInt64(json.count).littleEndian
            try withUnsafeBytes(of: &length) { try sink($0) }
            try json.withUnsafeBytes { try sink($0) }
            for (_, moments) in buffers {
                try sink(UnsafeRawBufferPointer(start: moments.expAvg, count: moments.count * 4))
                try sink(UnsafeRawBufferPointer(start: moments.expAvgSq, count: moments.count * 4))
            }
        }
    }

    /// Fills every buffer's moments and step from `path`. Every named buffer must be present
    /// with exactly its element count; anything else is an `InputError` naming the tensor,
    /// and no state is changed unless the whole file checks out.
    public static func load(_ buffers: [(name: String, moments: AdamWMoments)], from path: String) throws {
        let file = try SafeTensorsFile(path: path)
        guard file.metadata["format"] == format else {
            throw InputError(file: path, location: "__metadata__.format", "expected \"\(format)\": not an optimizer state file")
        }
        var steps: [Int] = []
        var sources: [(SafeTensorInfo, SafeTensorInfo)] = []
        for (name, moments) in buffers {
            guard let text = file.metadata[name + ".step"], let step = Int(text), step >= 0 else {
                throw InputError(file: path, location: "__metadata__.\(name).step", "missing or not a step count")
            }
            steps.append(step)
            let pair = try [".exp_avg", ".exp_avg_sq"].map { suffix -> SafeTensorInfo in
                let tensor = name + suffix
                guard let info = file.info(tensor) else { throw InputError(file: path, location: "tensor \(tensor)", "missing") }
                guard info.dtype == .f32, info.shape == [moments.count] else {
                    throw InputError(file: path, location: "tensor \(tensor)",
                                     "is \(info.dtype.rawValue) \(info.shape), expected F32 [\(moments.count)]")
                }
                return info
            }
            sources.append((pair[0], pair[1]))
        }
        for (i, (_, moments)) in buffers.enumerated() {
            try file.readFloat32(sources[i].0, into: UnsafeMutableBufferPointer(start: moments.expAvg, count: moments.count))
            try file.readFloat32(sources[i].1, into: UnsafeMutableBufferPointer(start: moments.expAvgSq, count: moments.count))
            moments.step = steps[i]
        }
    }
}
