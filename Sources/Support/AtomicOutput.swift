#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files and folders so that a reader sees either the old state or the complete new
/// one, never a half-written file: write to a temporary name beside the target, fsync, rename.
public enum AtomicOutput {
    /// Writes `bytes` to `path` via `path.tmp-<pid>`, fsyncs it and renames it into place.
    public static func write(_ bytes: some Collection<UInt8>, to path: String) throws {
        let tmp = temporaryName(for: path)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw UsageError("cannot create \(tmp): \(errnoText())") }
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        try writeAll(fd: fd, bytes, path: tmp)
        guard fsync(fd) == 0 else { close(fd); throw UsageError("fsync \(tmp): \(errnoText())") }
        close(fd)
        guard rename(tmp, path) == 0 else { throw UsageError("rename \(tmp) -> \(path): \(errnoText())") }
        syncDirectory(of: path)
        ok = true
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
    }

    /// Builds a folder under a temporary name, then moves it to `path` in one rename.
    /// `fill` receives the temporary folder's path. If `fill` throws, the temporary folder is
    /// removed and nothing appears at `path`. An existing folder at `path` is replaced only
    /// after the new one is complete (it is first moved aside, then deleted).
    public static func writeDirectory(at path: String, _ fill: (String) throws -> Void) throws {
        let fm = FileManager.default
        let tmp = temporaryName(for: path)
        try? fm.removeItem(atPath: tmp)
        try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        do {
            try fill(tmp)
            syncTree(tmp)
        } catch {
            try? fm.removeItem(atPath: tmp)
            throw error
        }
        var old: String? = nil
        if fm.fileExists(atPath: path) {
            old = temporaryName(for: path) + ".old"
            guard rename(path, old!) == 0 else {
                try? fm.removeItem(atPath: tmp)
                throw UsageError("cannot move aside \(path): \(errnoText())")
            }
        }
        guard rename(tmp, path) == 0 else {
            let e = errnoText()
            if let old { _ = rename(old, path) }
            try? fm.removeItem(atPath: tmp)
            throw UsageError("rename \(tmp) -> \(path): \(e)")
        }
        syncDirectory(of: path)
        if let old { try? fm.removeItem(atPath: old) }
    }

    static func temporaryName(for path: String) -> String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p + ".tmp-\(getpid())"
    }

    static func writeAll(fd: Int32, _ bytes: some Collection<UInt8>, path: String) throws {
        let result: Void? = try bytes.withContiguousStorageIfAvailable { buf in
            try writeAll(fd: fd, UnsafeRawBufferPointer(buf), path: path)
        }
        if result == nil {
            let copy = Array(bytes)
            try copy.withUnsafeBytes { try writeAll(fd: fd, $0, path: path) }
        }
    }

    public static func writeAll(fd: Int32, _ buf: UnsafeRawBufferPointer, path: String) throws {
        var off = 0
        while off < buf.count {
            let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                close(fd)
                throw UsageError("write \(path): \(errnoText())")
            }
            off += n
        }
    }

    static func syncTree(_ dir: String) {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] {
            let child = dir + "/" + name
            var isDir: Bool = false
            if fm.fileExists(atPath: child, isDirectory: &isDir), isDir {
                syncTree(child)
            } else {
                let fd = open(child, O_RDONLY)
                if fd >= 0 { fsync(fd); close(fd) }
            }
        }
        let fd = open(dir, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    static func syncDirectory(of path: String) {
        var parent = path
        while parent.count > 1 && parent.hasSuffix("/") { parent.removeLast() }
        if let slash = parent.lastIndex(of: "/") {
            parent = slash == parent.startIndex ? "/" : String(parent[..<slash])
        } else {
            parent = "."
        }
        let fd = open(parent, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}

public func errnoText() -> String { String(cString: strerror(errno)) }
