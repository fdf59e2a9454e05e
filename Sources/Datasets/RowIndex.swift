#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Support

/// The rows of a dataset file, found by one scan and read back by byte offset, so that a
/// multi-GB file is never loaded whole: only the row start offsets are kept (8 bytes a row),
/// and each row's bytes are read through the memory map when it is needed.
///
/// Two layouts, told apart by the first non-space byte:
/// - JSONL: one JSON object per line; lines holding only white space are skipped.
/// - JSON array: a top-level `[...]` whose elements are the rows.
final class RowIndex {
    enum Layout { case jsonLines, jsonArray }

    let path: String
    let layout: Layout
    private let file: MappedFile
    /// Byte offset where each row starts.
    private let starts: [Int]
    /// JSON array only: offset of the closing `]`, which bounds the last element.
    private let arrayEnd: Int

    var count: Int { starts.count }

    init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        let bytes = file.bytes.bindMemory(to: UInt8.self)
        var first = RowIndex.utf8BOMLength(bytes)
        while first < bytes.count, RowIndex.isSpace(bytes[first]) { first += 1 }
        if first < bytes.count, bytes[first] == UInt8(ascii: "[") {
            layout = .jsonArray
            (starts, arrayEnd) = try RowIndex.scanArray(bytes, open: first, path: path)
        } else {
            layout = .jsonLines
            starts = RowIndex.scanLines(bytes, from: first)
            arrayEnd = bytes.count
        }
    }

    /// The bytes of one row's JSON value (a view into the map, valid while the index lives).
    func rowBytes(_ row: Int) -> UnsafeRawBufferPointer {
        let bytes = file.bytes.bindMemory(to: UInt8.self)
        let start = starts[row]
        var end: Int
        switch layout {
        case .jsonLines:
            end = start
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
        case .jsonArray:
            // Up to the next element's start (or the `]`), less the separating comma and spaces.
            end = row + 1 < starts.count ? starts[row + 1] : arrayEnd
            while end > start, RowIndex.isSpace(bytes[end - 1]) { end -= 1 }
            if end > start, bytes[end - 1] == UInt8(ascii: ",") { end -= 1 }
        }
        return UnsafeRawBufferPointer(rebasing: file.bytes[start..<end])
    }

    /// Where a row is, for error messages: "line N" (JSONL) or "element E (line N)" (array).
    /// Counting newlines is a scan of the file up to the row, done only when reporting an error.
    func location(of row: Int) -> String {
        let bytes = file.bytes.bindMemory(to: UInt8.self)
        var line = 1
        for i in 0..<starts[row] where bytes[i] == 0x0A { line += 1 }
        switch layout {
        case .jsonLines: return "line \(line)"
        case .jsonArray: return "element \(row + 1) (line \(line))"
        }
    }

    private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }

    private static func utf8BOMLength(_ b: UnsafeBufferPointer<UInt8>) -> Int {
        b.count >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF ? 3 : 0
    }

    private static func scanLines(_ bytes: UnsafeBufferPointer<UInt8>, from first: Int) -> [Int] {
        var starts: [Int] = []
        var lineStart = first
        while lineStart < bytes.count {
            var end = lineStart
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            var c = lineStart
            while c < end, isSpace(bytes[c]) { c += 1 }
            if c < end { starts.append(c) }
            lineStart = end + 1
        }
        return starts
    }

    /// Walks the array's structure (strings, nesting) without building values; the elements
    /// themselves are parsed, and their errors reported, when each row is read.
    private static func scanArray(
        _ bytes: UnsafeBufferPointer<UInt8>, open: Int, path: String
    ) throws -> (starts: [Int], end: Int) {
        var starts: [Int] = []
        var depth = 0
        var inString = false
        var escaped = false
        var expectingElement = false
        var i = open
        while i < bytes.count {
            let c = bytes[i]
            if inString {
                if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inString = false }
                i += 1
                continue
            }
            if expectingElement, !isSpace(c), !(depth == 1 && c == UInt8(ascii: "]")) {
                starts.append(i)
                expectingElement = false
            }
            switch c {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth == 1 { expectingElement = true }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
                if depth == 0 {
                    var rest = i + 1
                    while rest < bytes.count, isSpace(bytes[rest]) { rest += 1 }
                    guard rest == bytes.count else {
                        throw InputError(file: path, "unexpected data after the top-level JSON array at byte \(rest)")
                    }
                    return (starts, i)
                }
            case UInt8(ascii: ","):
                if depth == 1 { expectingElement = true }
            default: break
            }
            i += 1
        }
        throw InputError(file: path, "the top-level JSON array is not closed (file truncated?)")
    }
}
