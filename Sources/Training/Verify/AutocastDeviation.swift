import Support

/// PyTorch's own bf16 mixed-precision error on one golden model: its results under bf16
/// autocast (fp32 weights and optimizer) against its fp32 reference, as
/// scripts/make_reference.py records them in reference.json's "bf16_autocast". Relative L2
/// errors for tensors, relative differences for scalars (the worst step for training).
struct AutocastDeviation {
    let logits: Double
    let loss: Double
    let gradients: [String: Double]
    let trainLosses: Double
    let trainGradNorms: Double
    let finalWeights: [String: Double]

    init(_ json: JSON, file: String) throws {
        func number(_ value: JSON?, _ key: String) throws -> Double {
            guard let x = value?.double, x.isFinite, x >= 0 else {
                throw InputError(file: file, location: "bf16_autocast.\(key)", "missing or not a non-negative number")
            }
            return x
        }
        func tensors(_ value: JSON?, _ key: String) throws -> [String: Double] {
            guard let object = value?.object else { throw InputError(file: file, location: "bf16_autocast.\(key)", "missing") }
            var result: [String: Double] = [:]
            for (name, x) in object.pairs { result[name] = try number(x, key + "." + name) }
            return result
        }
        guard let d = json["bf16_autocast"] else {
            throw InputError(file: file, location: "bf16_autocast",
                             "missing (bf16 bounds need it: python scripts/make_reference.py --bf16-deviation-only)")
        }
        logits = try number(d["logits"], "logits")
        loss = try number(d["loss"], "loss")
        gradients = try tensors(d["gradients"], "gradients")
        trainLosses = try number(d["train"]?["losses"], "train.losses")
        trainGradNorms = try number(d["train"]?["grad_norms"], "train.grad_norms")
        finalWeights = try tensors(d["train"]?["final"], "train.final")
    }

    /// PyTorch's deviation for tensor `name` of `table`, an error naming the file when absent.
    static func of(_ name: String, in table: [String: Double], file: String, _ key: String) throws -> Double {
        guard let x = table[name] else { throw InputError(file: file, location: "bf16_autocast.\(key).\(name)", "missing") }
        return x
    }
}
