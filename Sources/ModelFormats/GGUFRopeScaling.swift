#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Support

/// Hugging Face `rope_scaling` from a llama GGUF. llama.cpp stores linear and YaRN scaling as
/// `llama.rope.scaling.*` keys, but Llama 3.1-style scaling only as its result: a
/// `rope_freqs.weight` tensor of per-frequency divisors. The Llama 3 parameters are recovered
/// by checking those divisors against the ones every released Llama 3.x uses.
enum GGUFRopeScaling {
    /// Llama 3.1/3.2/3.3 `rope_scaling`, apart from `factor`.
    static let llama3LowFrequencyFactor = 1.0
    static let llama3HighFrequencyFactor = 4.0
    static let llama3OriginalContext = 8192

    static func huggingFace(file: GGUFFile, keys: GGUFKeys, headDim: Int, ropeTheta: Double) throws -> JSONObject? {
        let factor = try keys.optionalPositiveDouble("llama.rope.scaling.factor")
            ?? keys.optionalPositiveDouble("llama.rope.scale_linear")
        // Older files give only a linear factor (`rope.scale_linear`), no type.
        let type = file.metadata["llama.rope.scaling.type"] == nil
            ? (factor == nil ? "none" : "linear") : try keys.string("llama.rope.scaling.type")
        switch type {
        case "linear":
            guard let factor else { throw keys.missing("llama.rope.scaling.factor") }
            return factor == 1 ? nil : JSONObject([("factor", .double(factor)), ("rope_type", .string("linear"))])
        case "yarn":
            guard let factor else { throw keys.missing("llama.rope.scaling.factor") }
            let original = try keys.positive("llama.rope.scaling.original_context_length")
            return JSONObject([("factor", .double(factor)), ("original_max_position_embeddings", .int(original)),
                               ("rope_type", .string("yarn"))])
        case "none":
            guard let tensor = file.tensor(named: "rope_freqs.weight") else { return nil }
            return try llama3(file: file, tensor: tensor, headDim: headDim, ropeTheta: ropeTheta)
        default:
            throw InputError(file: file.path, location: "key llama.rope.scaling.type", "rope scaling '\(type)' is not supported")
        }
    }

    /// Llama 3 scaling whose divisors (llama.cpp convert_hf_to_gguf.py, LlamaModel) equal `rope_freqs`.
    static func llama3(file: GGUFFile, tensor: GGUFTensorInfo, headDim: Int, ropeTheta: Double) throws -> JSONObject {
        let place = "tensor \(tensor.name)"
        guard tensor.elementCount == headDim / 2 else {
            throw InputError(file: file.path, location: place, "has \(tensor.elementCount) values, expected head_dim / 2 = \(headDim / 2)")
        }
        var stored = [Float](repeating: 0, count: tensor.elementCount)
        try stored.withUnsafeMutableBufferPointer { try file.dequantize(tensor, into: $0) }
        guard let factor = stored.max().map(Double.init), factor >= 1 else {
            throw InputError(file: file.path, location: place, "divisors must be at least 1")
        }
        let expected = llama3Divisors(factor: factor, headDim: headDim, ropeTheta: ropeTheta)
        for (i, (s, e)) in zip(stored, expected).enumerated() where abs(Double(s) - e) > 1e-4 * e {
            throw InputError(file: file.path, location: place,
                             "divisor \(i) is \(s), but Llama 3 scaling with factor \(factor) gives \(e): unknown rope scaling")
        }
        return JSONObject([
            ("factor", .double(factor)),
            ("high_freq_factor", .double(llama3HighFrequencyFactor)),
            ("low_freq_factor", .double(llama3LowFrequencyFactor)),
            ("original_max_position_embeddings", .int(llama3OriginalContext)),
            ("rope_type", .string("llama3")),
        ])
    }

    /// Per-frequency divisors: 1 for short wavelengths, `factor` for long ones, a smooth blend between.
    static func llama3Divisors(factor: Double, headDim: Int, ropeTheta: Double) -> [Double] {
        let context = Double(llama3OriginalContext)
        let lowFrequencyWavelength = context / llama3LowFrequencyFactor
        let highFrequencyWavelength = context / llama3HighFrequencyFactor
        return stride(from: 0, to: headDim, by: 2).map { i in
            let frequency = 1 / pow(ropeTheta, Double(i) / Double(headDim))
            let wavelength = 2 * Double.pi / frequency
            if wavelength < highFrequencyWavelength { return 1 }
            if wavelength > lowFrequencyWavelength { return factor }
            let smooth = (context / wavelength - llama3LowFrequencyFactor) / (llama3HighFrequencyFactor - llama3LowFrequencyFactor)
            return 1 / ((1 - smooth) / factor + smooth)
        }
    }
}
