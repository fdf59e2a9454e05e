import Support

/// Writes tensors in the safetensors format, byte for byte as the Python `safetensors`
/// library lays out the same tensors in the same order: 8-byte little-endian header length,
/// compact header JSON (`__metadata__` {"format":"pt"} first, then tensors in data order)
/// padded with spaces to a multiple of 8, then the raw data.
public enum SafeTensorsWriter {
    public static let singleFileName = "model.safetensors"
    public static let indexFileName = "model.safetensors.index.json"

    /// Writes `specs` (in order) into `dir`: one `model.safetensors`, or, when the data exceeds
    /// `maxShardBytes`, `model-0000i-of-0000N.safetensors` shards plus
    /// `model.safetensors.index.json` as transformers writes them. Shards are filled greedily in
    /// spec order; a tensor larger than the limit gets a shard of its own.
    /// `fill(i, destination)` writes tensor `i`'s bytes (exactly `specs[i].byteCount`, little
    /// endian) into the file's mapped memory. Each file goes through a temporary name, fsync and
    /// rename; wrap the whole folder in `AtomicOutput.writeDirectory` for an all-or-nothing result.
    public static func write(_ specs: [TensorSpec], toDirectory dir: String, maxShardBytes: Int = 5_000_000_000,
                             fill: (_ index: Int, _ destination: UnsafeMutableRawBufferPointer) throws -> Void) throws {
        try validate(specs)
        let shards = shardRanges(specs, maxShardBytes: maxShardBytes)
        if shards.count == 1 {
            try writeFile(specs, shards[0], to: dir + "/" + singleFileName, fill: fill)
            return
        }
        var weightMap = JSONObject()
        for (k, range) in shards.enumerated() {
            let name = shardName(k + 1, of: shards.count)
            try writeFile(specs, range, to: dir + "/" + name, fill: fill)
            for i in range { weightMap[specs[i].name] = .string(name) }
        }
        let total = specs.reduce(0) { $0 + $1.byteCount }
        let index = JSON.object(JSONObject([
            ("metadata", .object(JSONObject([("total_size", .int(total))]))),
            ("weight_map", .object(weightMap)),
        ]))
        // transformers: json.dumps(index, indent=2, sort_keys=True) + "\n"
        try AtomicOutput.write(index.serialized(.init(indent: 2, sortKeys: true)) + "\n", to: dir + "/" + indexFileName)
    }

    /// "model-00002-of-00005.safetensors"
    public static func shardName(_ k: Int, of n: Int) -> String {
        func five(_ v: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, 5 - s.count)) + s }
        return "model-\(five(k))-of-\(five(n)).safetensors"
    }

    /// The header bytes (length prefix included) for `specs` laid out back to back.
    public static func header(_ specs: ArraySlice<TensorSpec>) -> [UInt8] {
        var obj = JSONObject([("__metadata__", .object(JSONObject([("format", .string("pt"))])))])
        var offset = 0
        for s in specs {
            obj[s.name] = .object(JSONObject([
                ("dtype", .string(s.dtype.rawValue)),
                ("shape", .array(s.shape.map { .int($0) })),
                ("data_offsets", .array([.int(offset), .int(offset + s.byteCount)])),
            ]))
            offset += s.byteCount
        }
        var json = Array(JSON.object(obj).serialized(.compact).utf8)
        json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
        var out: [UInt8] = []
        out.reserveCapacity(8 + json.count)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out += $0 }
        return out + json
    }

    static func validate(_ specs: [TensorSpec]) throws {
        var seen = Set<String>()
        for s in specs {
            guard !s.name.isEmpty, s.name != "__metadata__" else { throw UsageError("safetensors: invalid tensor name '\(s.name)'") }
            guard seen.insert(s.name).inserted else { throw UsageError("safetensors: tensor \(s.name) given twice") }
            guard s.shape.allSatisfy({ $0 >= 0 }) else { throw UsageError("safetensors: tensor \(s.name) has shape \(s.shape)") }
        }
    }

    static func shardRanges(_ specs: [TensorSpec], maxShardBytes: Int) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0, bytes = 0
        for (i, s) in specs.enumerated() {
            if i > start && bytes + s.byteCount > maxShardBytes {
                ranges.append(start..<i)
                start = i
                bytes = 0
            }
            bytes += s.byteCount
        }
        ranges.append(start..<specs.count)
        return ranges
    }

    static func writeFile(_ specs: [TensorSpec], _ range: Range<Int>, to path: String,
                          fill: (Int, UnsafeMutableRawBufferPointer) throws -> Void) throws {
        let head = header(specs[range])
        let size = head.count + specs[range].reduce(0) { $0 + $1.byteCount }
        try AtomicOutput.writeMapped(to: path, size: size) { file in
            head.withUnsafeBytes { file.copyMemory(from: $0) }
            var offset = head.count
            for i in range {
                let n = specs[i].byteCount
                try fill(i, UnsafeMutableRawBufferPointer(rebasing: file[offset..<(offset + n)]))
                offset += n
            }
        }
    }
}
