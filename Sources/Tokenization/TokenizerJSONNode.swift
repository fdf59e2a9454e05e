import Support

/// One value of a tokenizer.json file together with where it sits ("pre_tokenizer.pretokenizers[1].type"),
/// so that every complaint about it names the file and the key.
struct TokenizerJSONNode {
    let value: JSON
    let file: String
    let keyPath: String

    init(root: JSON, file: String) {
        self.value = root
        self.file = file
        self.keyPath = ""
    }

    private init(value: JSON, file: String, keyPath: String) {
        self.value = value
        self.file = file
        self.keyPath = keyPath
    }

    func error(_ message: String) -> InputError {
        InputError(file: file, location: keyPath.isEmpty ? "" : "key \(keyPath)", message)
    }

    /// The member `key`, or nil when it is absent or null.
    func optional(_ key: String) throws -> TokenizerJSONNode? {
        guard case .object(let members) = value else { throw error("expected an object") }
        guard let child = members[key], !child.isNull else { return nil }
        return TokenizerJSONNode(value: child, file: file, keyPath: keyPath.isEmpty ? key : keyPath + "." + key)
    }

    func required(_ key: String) throws -> TokenizerJSONNode {
        guard let child = try optional(key) else {
            let place = keyPath.isEmpty ? "" : " in \(keyPath)"
            throw InputError(file: file, location: "key \(key)", "missing\(place)")
        }
        return child
    }

    func string() throws -> String {
        guard let s = value.string else { throw error("expected a string") }
        return s
    }

    func int() throws -> Int {
        guard let i = value.int else { throw error("expected an integer") }
        return i
    }

    func bool() throws -> Bool {
        guard let b = value.bool else { throw error("expected true or false") }
        return b
    }

    /// A token id: an integer that fits the id type.
    func tokenId() throws -> Int32 {
        let i = try int()
        guard i >= 0, i <= Int(Int32.max) else { throw error("token id \(i) out of range") }
        return Int32(i)
    }

    func array() throws -> [TokenizerJSONNode] {
        guard case .array(let items) = value else { throw error("expected an array") }
        return items.enumerated().map { TokenizerJSONNode(value: $1, file: file, keyPath: "\(keyPath)[\($0)]") }
    }

    /// The members of an object, in file order.
    func members() throws -> [(key: String, node: TokenizerJSONNode)] {
        guard case .object(let object) = value else { throw error("expected an object") }
        return object.pairs.map { pair in
            (pair.key, TokenizerJSONNode(value: pair.value, file: file, keyPath: keyPath + "." + pair.key))
        }
    }

    /// Optional flag with a default, as Hugging Face's serde defaults do.
    func flag(_ key: String, default defaultValue: Bool) throws -> Bool {
        try optional(key)?.bool() ?? defaultValue
    }

    /// The `type` member, for components chosen by type.
    func typeName() throws -> String { try required("type").string() }

    /// The error for a component or option this implementation does not support.
    func unsupported(_ what: String) -> InputError {
        error("unsupported \(what)")
    }
}
