import Support

/// Typed metadata lookups whose errors name the file and key.
struct GGUFKeys {
    let file: GGUFFile

    func string(_ key: String) throws -> String {
        guard let value = file.metadata[key] else { throw missing(key) }
        guard let s = value.string else { throw wrongType(key, "a string") }
        return s
    }

    func optionalInt(_ key: String) throws -> Int? {
        guard let value = file.metadata[key] else { return nil }
        guard let i = value.int else { throw wrongType(key, "an integer") }
        return i
    }

    func optionalTokenID(_ key: String, vocabularySize: Int) throws -> Int? {
        guard let id = try optionalInt(key) else { return nil }
        guard id >= 0 && id < vocabularySize else {
            throw InputError(file: file.path, location: "key \(key)", "token id \(id) outside the vocabulary of \(vocabularySize)")
        }
        return id
    }

    func optionalBool(_ key: String) throws -> Bool? {
        guard let value = file.metadata[key] else { return nil }
        guard let b = value.bool else { throw wrongType(key, "a bool") }
        return b
    }

    func optionalPositive(_ key: String) throws -> Int? {
        guard let i = try optionalInt(key) else { return nil }
        guard i > 0 else { throw InputError(file: file.path, location: "key \(key)", "must be positive, got \(i)") }
        return i
    }

    func positive(_ key: String) throws -> Int {
        guard let i = try optionalPositive(key) else { throw missing(key) }
        return i
    }

    func optionalPositiveDouble(_ key: String) throws -> Double? {
        guard let value = file.metadata[key] else { return nil }
        guard let d = value.double else { throw wrongType(key, "a number") }
        guard d > 0, d.isFinite else { throw InputError(file: file.path, location: "key \(key)", "must be positive, got \(d)") }
        return d
    }

    func positiveDouble(_ key: String) throws -> Double {
        guard let d = try optionalPositiveDouble(key) else { throw missing(key) }
        return d
    }

    func missing(_ key: String) -> InputError {
        InputError(file: file.path, location: "key \(key)", "required key is missing")
    }

    func wrongType(_ key: String, _ expected: String) -> InputError {
        InputError(file: file.path, location: "key \(key)", "expected \(expected), got \(file.metadata[key]?.kind ?? "nothing")")
    }
}
