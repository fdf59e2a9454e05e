/// A set of scalars as a bracket expression or escape describes it (`[^\r\n\p{L}\p{N}]`, `\s`, `.`).
/// ASCII membership is precomputed into a bitmap; other scalars are tested item by item.
struct RegexCharacterClass: Sendable {
    enum Item: Sendable {
        case range(UInt32, UInt32)
        /// Bits of `UnicodeProperties.categoryIndex`.
        case categories(UInt32, negated: Bool)
        case whitespace(negated: Bool)
        case word(negated: Bool)
        case nested(RegexCharacterClass)
    }

    private(set) var items: [Item]
    let negated: Bool
    /// Compare ASCII letters (and the two non-ASCII scalars that fold to them) without case.
    let caseInsensitive: Bool
    private var asciiLow: UInt64 = 0
    private var asciiHigh: UInt64 = 0

    init(items: [Item], negated: Bool, caseInsensitive: Bool = false) {
        self.items = items
        self.negated = negated
        self.caseInsensitive = caseInsensitive
        for v in UInt32(0)..<128 where containsSlow(Unicode.Scalar(v)!) {
            if v < 64 { asciiLow |= 1 << UInt64(v) } else { asciiHigh |= 1 << UInt64(v - 64) }
        }
    }

    static func single(_ item: Item) -> RegexCharacterClass { RegexCharacterClass(items: [item], negated: false) }

    @inline(__always)
    func contains(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 64 { return asciiLow >> UInt64(v) & 1 != 0 }
        if v < 128 { return asciiHigh >> UInt64(v - 64) & 1 != 0 }
        return containsSlow(scalar)
    }

    private func containsSlow(_ scalar: Unicode.Scalar) -> Bool {
        if caseInsensitive {
            for variant in CaseFolding.variants(of: scalar) where itemsContain(variant) { return !negated }
            return negated
        }
        return itemsContain(scalar) != negated
    }

    private func itemsContain(_ scalar: Unicode.Scalar) -> Bool {
        for item in items {
            switch item {
            case .range(let lo, let hi):
                if scalar.value >= lo && scalar.value <= hi { return true }
            case .categories(let mask, let negated):
                if (UnicodeProperties.categoryMask(of: scalar) & mask != 0) != negated { return true }
            case .whitespace(let negated):
                if UnicodeProperties.isWhitespace(scalar) != negated { return true }
            case .word(let negated):
                if UnicodeProperties.isWordCharacter(scalar) != negated { return true }
            case .nested(let inner):
                if inner.contains(scalar) { return true }
            }
        }
        return false
    }
}

/// Simple case folding as far as ASCII letters go: the scalars that match each other under `(?i)`.
enum CaseFolding {
    /// `scalar` itself first, then the scalars equal to it without case.
    static func variants(of scalar: Unicode.Scalar) -> [Unicode.Scalar] {
        let v = scalar.value
        var out = [scalar]
        switch v {
        case 0x41...0x5A: out.append(Unicode.Scalar(v + 0x20)!)
        case 0x61...0x7A: out.append(Unicode.Scalar(v - 0x20)!)
        case 0x17F: out += ["s", "S"]  // LATIN SMALL LETTER LONG S folds to s
        case 0x212A: out += ["k", "K"]  // KELVIN SIGN folds to k
        default:
            let p = scalar.properties
            for mapped in [p.lowercaseMapping, p.uppercaseMapping] {
                let scalars = mapped.unicodeScalars
                if scalars.count == 1, let m = scalars.first, m != scalar, !out.contains(m) { out.append(m) }
            }
        }
        if v == 0x73 || v == 0x53 { out.append("\u{17F}") }
        if v == 0x6B || v == 0x4B { out.append("\u{212A}") }
        return out
    }
}
