import Support

/// Runs every op on random inputs on a candidate backend and on the CPU reference, and
/// compares the outputs with a normalized error bound, as llama.cpp's test-backend-ops does:
/// error = ‖out − ref‖ / ‖ref‖ over each written operand. Overwritten outputs are poisoned
/// first (an all-ones NaN pattern) and any element still holding it fails the op.
public struct OpComparison {
    /// Float storage of a run: every float operand f32, or activations and weights in bf16
    /// (statistics and weight gradients stay f32, as training keeps them).
    public enum Storage: String, CaseIterable, Sendable {
        case f32, bf16

        /// Normalized error bound: fp32 accumulation either way; bf16 rounds inputs and outputs.
        public var bound: Double { self == .f32 ? 1e-5 : 1e-2 }
    }

    public struct Result: Sendable {
        public let op: String
        public let storage: Storage
        /// Largest normalized error over the op's outputs.
        public let error: Double
        /// Elements still holding the poison pattern.
        public let unwritten: Int
        /// NaN/inf in the candidate where the reference is finite.
        public let nonFinite: Int
        /// The output with the largest error.
        public let worstOutput: String

        public var passed: Bool { unwritten == 0 && nonFinite == 0 && error <= storage.bound }
    }

    let reference: any Backend
    let candidate: any Backend
    public let seed: UInt64

    public init(reference: any Backend, candidate: any Backend, seed: UInt64) {
        self.reference = reference
        self.candidate = candidate
        self.seed = seed
    }

    /// Names of every op case.
    public static var opNames: [String] {
        var random = SplitMix64(seed: 0)
        return OpCatalog.cases(&random).map(\.name)
    }

    /// Throws unless some op's name contains `filter`: a filter that matches nothing is an
    /// error, not an empty success.
    public static func checkFilter(_ filter: String?) throws {
        guard let filter, !opNames.contains(where: { $0.contains(filter) }) else { return }
        throw UsageError("no op matches '\(filter)'; ops: \(opNames.joined(separator: ", "))")
    }

    /// Runs the ops whose name contains `filter` (all when nil) in each storage of `storages`.
    public func run(filter: String? = nil, storages: [Storage] = Storage.allCases,
                    progress: (Result) -> Void = { _ in }) throws -> [Result] {
        try Self.checkFilter(filter)
        var random = SplitMix64(seed: seed)
        let cases = OpCatalog.cases(&random).filter { filter == nil || $0.name.contains(filter!) }
        var results: [Result] = []
        for storage in storages {
            for op in cases {
                let r = try compare(op, storage, &random)
                progress(r)
                results.append(r)
            }
        }
        return results
    }

    private func compare(_ op: OpCase, _ storage: Storage, _ random: inout SplitMix64) throws -> Result {
        // Host values, rounded to bf16 where the candidate stores bf16 so both see the same numbers.
        let values: [[Float]] = op.operands.map { o in
            guard case .int = o.precision else {
                let raw = (0..<o.count).map { _ in random.float(in: o.range) }
                return type(of: o, storage) == .bf16 ? raw.map { BFloat16Conversion.toFloat(BFloat16Conversion.fromFloat($0)) } : raw
            }
            return []
        }
        let refBuffers = try op.operands.enumerated().map { i, o in
            try makeOperand(reference, o, values[i], type: o.isInt ? .i32 : .f32)
        }
        let candBuffers = try op.operands.enumerated().map { i, o in
            try makeOperand(candidate, o, values[i], type: type(of: o, storage))
        }
        op.run(reference, refBuffers.map { $0.ref() })
        op.run(candidate, candBuffers.map { $0.ref() })
        candidate.synchronize()

        var worst = 0.0, worstName = "", unwritten = 0, nonFinite = 0
        for (i, o) in op.operands.enumerated() where o.role != .input {
            let ref = reference.downloadFloats(refBuffers[i].ref(), count: o.count)
            let (got, poisoned) = downloadAsFloats(candidate, candBuffers[i], o.count)
            if o.role == .output { unwritten += poisoned }
            var diff = 0.0, norm = 0.0
            for j in 0..<o.count where ref[j].isFinite {
                if !got[j].isFinite {
                    if !(o.role == .output && isPoison(candBuffers[i], got, j)) { nonFinite += 1 }
                    continue
                }
                let d = Double(got[j]) - Double(ref[j])
                diff += d * d
                norm += Double(ref[j]) * Double(ref[j])
            }
            if ref.contains(where: { !$0.isFinite }) { nonFinite += 1 }
            let error = norm > 0 ? (diff / norm).squareRoot() : diff.squareRoot()
            if error >= worst { worst = error; worstName = o.name }
        }
        return Result(op: op.name, storage: storage, error: worst, unwritten: unwritten, nonFinite: nonFinite,
                      worstOutput: worstName)
    }

    private func type(of o: OpCase.Operand, _ storage: Storage) -> ElementType {
        switch o.precision {
        case .int: return .i32
        case .f32: return .f32
        case .storage: return storage == .bf16 ? .bf16 : .f32
        }
    }

    /// A buffer holding the operand's starting contents: values, ints, or poison for outputs.
    private func makeOperand(_ backend: any Backend, _ o: OpCase.Operand, _ values: [Float],
                             type: ElementType) throws -> any DeviceBuffer {
        let buffer = try backend.makeBuffer(type, count: o.count)
        if case .int(let ints) = o.precision {
            backend.upload(ints, to: buffer.ref())
        } else if o.role == .output {
            let poison = [UInt8](repeating: 0xFF, count: o.count * type.byteSize)
            poison.withUnsafeBytes { backend.upload($0, to: buffer.ref()) }
        } else if type == .bf16 {
            values.map(BFloat16Conversion.fromFloat).withUnsafeBytes { backend.upload($0, to: buffer.ref()) }
        } else {
            backend.upload(values, to: buffer.ref())
        }
        return buffer
    }

    /// The buffer's elements as f32, and how many still hold the poison pattern.
    private func downloadAsFloats(_ backend: any Backend, _ buffer: any DeviceBuffer, _ count: Int) -> ([Float], Int) {
        if buffer.elementType == .bf16 {
            var raw = [UInt16](repeating: 0, count: count)
            raw.withUnsafeMutableBytes { backend.download(buffer.ref(), into: $0) }
            return (raw.map(BFloat16Conversion.toFloat), raw.filter { $0 == 0xFFFF }.count)
        }
        let values = backend.downloadFloats(buffer.ref(), count: count)
        return (values, values.filter { $0.bitPattern == 0xFFFF_FFFF }.count)
    }

    private func isPoison(_ buffer: any DeviceBuffer, _ values: [Float], _ j: Int) -> Bool {
        buffer.elementType == .bf16 ? values[j].bitPattern == 0xFFFF_0000 : values[j].bitPattern == 0xFFFF_FFFF
    }

    /// Column titles of the result table.
    public static var tableHeader: String {
        pad("op", 30) + pad("storage", 9) + pad("error", 11) + pad("bound", 9) + pad("unwritten", 11) + "result"
    }

    /// One line of the result table.
    public static func tableLine(_ r: Result) -> String {
        let note = r.passed ? "ok" : "FAIL" + (r.worstOutput.isEmpty ? "" : " (\(r.worstOutput))")
            + (r.nonFinite > 0 ? " non-finite \(r.nonFinite)" : "")
        return pad(r.op, 30) + pad(r.storage.rawValue, 9) + pad(Format.sci(r.error, 2), 11)
            + pad(Format.sci(r.storage.bound, 0), 9) + pad(String(r.unwritten), 11) + note
    }

    private static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }
}

extension OpCase.Operand {
    var isInt: Bool {
        if case .int = precision { return true }
        return false
    }
}
