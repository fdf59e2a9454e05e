/// Python `str` methods that templates call, on code points (as Python indexes strings).
enum PythonString {
    /// `strip()` / `lstrip()` / `rstrip()`; `chars` nil means whitespace.
    static func strip(_ s: String, chars: String?, leading: Bool, trailing: Bool) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        let drop: (Unicode.Scalar) -> Bool = { u in set?.contains(u) ?? isPythonSpace(u) }
        var scalars = Substring(s).unicodeScalars[...]
        if leading { while let f = scalars.first, drop(f) { scalars.removeFirst() } }
        if trailing { while let l = scalars.last, drop(l) { scalars.removeLast() } }
        return String(String.UnicodeScalarView(scalars))
    }

    /// `split(sep, maxsplit)`: with no separator, splits on runs of whitespace and drops empty parts.
    static func split(_ s: String, separator: String?, maxSplit: Int) -> [String] {
        let text = Array(s.unicodeScalars)
        var parts: [String] = []
        func piece(_ r: Range<Int>) -> String { String(String.UnicodeScalarView(text[r])) }
        guard let separator else {
            var i = 0
            while i < text.count {
                while i < text.count, isPythonSpace(text[i]) { i += 1 }
                guard i < text.count else { break }
                if maxSplit >= 0 && parts.count == maxSplit {
                    var end = text.count
                    while end > i, isPythonSpace(text[end - 1]) { end -= 1 }
                    parts.append(piece(i..<end))
                    break
                }
                let start = i
                while i < text.count, !isPythonSpace(text[i]) { i += 1 }
                parts.append(piece(start..<i))
            }
            return parts
        }
        let sep = Array(separator.unicodeScalars)
        var start = 0
        var i = 0
        while i + sep.count <= text.count, maxSplit < 0 || parts.count < maxSplit {
            if text[i..<i + sep.count].elementsEqual(sep) {
                parts.append(piece(start..<i))
                i += sep.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(piece(start..<text.count))
        return parts
    }

    /// `replace(old, new, count)`; an empty `old` inserts `new` between every code point.
    static func replace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
        let text = Array(s.unicodeScalars), o = Array(old.unicodeScalars)
        var out = String.UnicodeScalarView()
        var done = 0
        var i = 0
        if o.isEmpty {
            for u in text {
                if count < 0 || done < count { out.append(contentsOf: new.unicodeScalars); done += 1 }
                out.append(u)
            }
            if count < 0 || done < count { out.append(contentsOf: new.unicodeScalars) }
            return String(out)
        }
        while i < text.count {
            if (count < 0 || done < count) && i + o.count <= text.count && text[i..<i + o.count].elementsEqual(o) {
                out.append(contentsOf: new.unicodeScalars)
                i += o.count
                done += 1
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return String(out)
    }

    /// `find(needle)`: code-point index of the first occurrence, or -1.
    static func find(_ s: String, _ needle: String) -> Int {
        let text = Array(s.unicodeScalars), n = Array(needle.unicodeScalars)
        guard n.count <= text.count else { return -1 }
        for i in 0...(text.count - n.count) where text[i..<i + n.count].elementsEqual(n) { return i }
        return -1
    }

    /// `count(needle)`: non-overlapping occurrences.
    static func count(_ s: String, _ needle: String) -> Int {
        let text = Array(s.unicodeScalars), n = Array(needle.unicodeScalars)
        if n.isEmpty { return text.count + 1 }
        var found = 0
        var i = 0
        while i + n.count <= text.count {
            if text[i..<i + n.count].elementsEqual(n) { found += 1; i += n.count } else { i += 1 }
        }
        return found
    }

    /// `title()`: a cased letter after a non-cased one is upper-cased, the others lower-cased.
    static func title(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for u in s.unicodeScalars {
            let p = u.properties
            out += previousCased ? String(u).lowercased() : String(u).uppercased()
            previousCased = p.isCased
        }
        return out
    }

    /// `capitalize()`: first code point upper-cased, the rest lower-cased.
    static func capitalize(_ s: String) -> String {
        guard let first = s.unicodeScalars.first else { return s }
        let rest = String(String.UnicodeScalarView(s.unicodeScalars.dropFirst()))
        return String(first).uppercased() + rest.lowercased()
    }
}
