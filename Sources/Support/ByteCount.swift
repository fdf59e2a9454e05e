/// A memory size given on the command line: "24GiB", "80GB", "512 MiB", "1.5TiB" or a plain
/// number of bytes. Binary units (KiB, MiB, GiB, TiB) are powers of 1024, decimal units
/// (KB, MB, GB, TB) powers of 1000; a lone "K", "M", "G" or "T" is binary, as `free -h` prints.
public enum ByteCount {
    /// The number of bytes `text` names; throws `UsageError` naming `option` when it names none.
    public static func parse(_ text: String, option: String) throws -> Int {
        let trimmed = text.filter { $0 != " " && $0 != "_" }
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(digits.count).lowercased()
        let multipliers: [String: Double] = [
            "": 1, "b": 1,
            "k": 0x1p10, "kib": 0x1p10, "kb": 1e3,
            "m": 0x1p20, "mib": 0x1p20, "mb": 1e6,
            "g": 0x1p30, "gib": 0x1p30, "gb": 1e9,
            "t": 0x1p40, "tib": 0x1p40, "tb": 1e12,
        ]
        guard let value = Double(digits), value.isFinite, let multiplier = multipliers[unit] else {
            throw UsageError("\(option): '\(text)' is not a memory size (examples: 24GiB, 80GB, 512MiB, 1000000)")
        }
        let bytes = value * multiplier
        guard bytes >= 0, bytes < 0x1p62 else { throw UsageError("\(option): '\(text)' is out of range") }
        return Int(bytes.rounded())
    }
}
