#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory map of a whole file. Large checkpoints are read through this so that
/// only the pages actually touched are brought in, and nothing is copied twice.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw InputError(file: path, "cannot open: \(errnoText())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw InputError(file: path, "cannot stat: \(errnoText())") }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw InputError(file: path, "is a folder, expected a file") }
        let size = Int(st.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw InputError(file: path, "cannot map: \(errnoText())")
        }
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}

/// Reads a whole (small) file, naming it in the error.
public func readFileBytes(_ path: String) throws -> [UInt8] {
    let m = try MappedFile(path: path)
    return Array(m.bytes)
}

/// Reads and parses a JSON file, naming it in the error.
public func readJSONFile(_ path: String) throws -> JSON {
    let m = try MappedFile(path: path)
    do {
        return try JSON.parse(m.bytes)
    } catch let e as JSONParseError {
        throw InputError(file: path, e.description)
    }
}
