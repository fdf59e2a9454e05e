import Support

/// The text field of each record of a JSON-lines file: what `slideformer tokenize` encodes.
public enum JSONLinesText {
    /// Calls `body(text, lineNumber)` for the string `field` of each line's object, in order.
    /// Blank lines are skipped; any other line that is not an object with that string field is an
    /// error naming the file and line.
    public static func forEach(in path: String, field: String, _ body: (String, Int) throws -> Void) throws {
        let file = try MappedFile(path: path)
        let bytes = file.bytes.bindMemory(to: UInt8.self)
        var lineNumber = 0
        var start = 0
        while start < bytes.count {
            lineNumber += 1
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            let line = UnsafeRawBufferPointer(rebasing: file.bytes[start..<end])
            start = end + 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let record: JSON
            do {
                record = try JSON.parse(line)
            } catch let e as JSONParseError {
                throw InputError(file: path, location: "line \(lineNumber)", e.description)
            }
            guard case .object(let members) = record else {
                throw InputError(file: path, location: "line \(lineNumber)", "expected a JSON object")
            }
            guard let text = members[field]?.string else {
                throw InputError(file: path, location: "line \(lineNumber)", "missing string field \"\(field)\"")
            }
            try body(text, lineNumber)
        }
    }
}
