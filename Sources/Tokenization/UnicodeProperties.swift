/// The character properties that tokenizer patterns test, with ASCII answered from tables.
enum UnicodeProperties {
    /// Bit for each general category, indexed by `categoryIndex`.
    static func categoryBit(_ category: Unicode.GeneralCategory) -> UInt32 {
        1 << UInt32(categoryIndex(category))
    }

    static func categoryIndex(_ category: Unicode.GeneralCategory) -> Int {
        switch category {
        case .uppercaseLetter: return 0
        case .lowercaseLetter: return 1
        case .titlecaseLetter: return 2
        case .modifierLetter: return 3
        case .otherLetter: return 4
        case .nonspacingMark: return 5
        case .spacingMark: return 6
        case .enclosingMark: return 7
        case .decimalNumber: return 8
        case .letterNumber: return 9
        case .otherNumber: return 10
        case .connectorPunctuation: return 11
        case .dashPunctuation: return 12
        case .openPunctuation: return 13
        case .closePunctuation: return 14
        case .initialPunctuation: return 15
        case .finalPunctuation: return 16
        case .otherPunctuation: return 17
        case .mathSymbol: return 18
        case .currencySymbol: return 19
        case .modifierSymbol: return 20
        case .otherSymbol: return 21
        case .spaceSeparator: return 22
        case .lineSeparator: return 23
        case .paragraphSeparator: return 24
        case .control: return 25
        case .format: return 26
        case .surrogate: return 27
        case .privateUse: return 28
        case .unassigned: return 29
        @unknown default: return 29
        }
    }

    /// Masks of the one-letter groups (\p{L}, \p{N}, ...), by the group letter.
    static let groupMasks: [Character: UInt32] = [
        "L": 0b11111,
        "M": 0b111 << 5,
        "N": 0b111 << 8,
        "P": 0b1111111 << 11,
        "S": 0b1111 << 18,
        "Z": 0b111 << 22,
        "C": 0b11111 << 25,
    ]

    /// Masks of the two-letter categories (\p{Lu}, \p{Nd}, ...).
    static let categoryMasks: [String: UInt32] = {
        let names = ["Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps", "Pe",
                     "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"]
        var masks: [String: UInt32] = [:]
        for (i, name) in names.enumerated() { masks[name] = 1 << UInt32(i) }
        masks["L&"] = 0b111
        masks["LC"] = 0b111
        return masks
    }()

    static func categoryMask(of scalar: Unicode.Scalar) -> UInt32 {
        categoryBit(scalar.properties.generalCategory)
    }

    static let numberMask = groupMasks["N"]!

    /// Unicode White_Space (the set that Oniguruma's and Rust regex's `\s` match).
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x80 { return v == 0x20 || (v >= 0x09 && v <= 0x0D) }
        return scalar.properties.isWhitespace
    }

    /// Regex `\w` with Unicode semantics: Alphabetic, marks, decimal digits, connector punctuation, joiners.
    static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x80 {
            return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x5F
        }
        let p = scalar.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        let wordCategories = groupMasks["M"]! | categoryMasks["Nd"]! | categoryMasks["Pc"]!
        return categoryBit(p.generalCategory) & wordCategories != 0
    }

    /// Rust `char::is_numeric`: general categories Nd, Nl, No.
    static func isNumeric(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x80 { return v >= 0x30 && v <= 0x39 }
        return categoryMask(of: scalar) & numberMask != 0
    }
}
