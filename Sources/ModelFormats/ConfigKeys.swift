import Support

/// Typed reads of config.json keys. A key that is absent or null reads as nil; a value of the
/// wrong type or range is an InputError naming the file and the key.
struct ConfigKeys {
    let object: JSONObject
    let file: String
    /// Prefix for keys of a nested object ("rope_parameters.").
    var path = ""

    func error(_ key: String, _ message: String) -> InputError {
        InputError(file: file, location: "key \(path)\(key)", message)
    }

    func value(_ key: String) -> JSON? {
        guard let v = object[key], !v.isNull else { return nil }
        return v
    }

    func int(_ key: String) throws -> Int? {
        guard let v = value(key) else { return nil }
        guard let i = v.int else { throw error(key, "expected an integer, found \(v.serialized())") }
        return i
    }

    func positiveInt(_ key: String, default fallback: Int? = nil) throws -> Int {
        guard let i = try int(key) ?? fallback else { throw error(key, "missing") }
        guard i > 0 else { throw error(key, "must be positive, found \(i)") }
        return i
    }

    func double(_ key: String) throws -> Double? {
        guard let v = value(key) else { return nil }
        guard let d = v.double, d.isFinite else { throw error(key, "expected a finite number, found \(v.serialized())") }
        return d
    }

    func positiveDouble(_ key: String, default fallback: Double? = nil) throws -> Double {
        guard let d = try double(key) ?? fallback else { throw error(key, "missing") }
        guard d > 0 else { throw error(key, "must be positive, found \(d)") }
        return d
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = value(key) else { return nil }
        guard let b = v.bool else { throw error(key, "expected true or false, found \(v.serialized())") }
        return b
    }

    func string(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v.string else { throw error(key, "expected a string, found \(v.serialized())") }
        return s
    }

    /// A nested object, read with the same rules.
    func nested(_ key: String) throws -> ConfigKeys? {
        guard let v = value(key) else { return nil }
        guard let o = v.object else { throw error(key, "expected an object, found \(v.serialized())") }
        return ConfigKeys(object: o, file: file, path: path + key + ".")
    }
}
