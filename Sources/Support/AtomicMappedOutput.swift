#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension AtomicOutput {
    /// Writes a file of exactly `size` bytes in place: `fill` receives a writable map of the
    /// file (under its temporary name), so large outputs need no staging copy. The space is
    /// reserved first, so a full disk is an error here rather than a fault inside `fill`.
    /// Then fsync and rename, as `write(_:to:)`.
    public static func writeMapped(to path: String, size: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        let tmp = temporaryName(for: path)
        let fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw UsageError("cannot create \(tmp): \(errnoText())") }
        var ok = false
        defer {
            close(fd)
            if !ok { unlink(tmp) }
        }
        if size > 0 {
            let rc = posix_fallocate(fd, 0, off_t(size))
            guard rc == 0 else { throw UsageError("cannot reserve \(size) bytes for \(tmp): \(String(cString: strerror(rc)))") }
            guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), p != MAP_FAILED else {
                throw UsageError("cannot map \(tmp): \(errnoText())")
            }
            defer { munmap(p, size) }
            try fill(UnsafeMutableRawBufferPointer(start: p, count: size))
            guard msync(p, size, MS_SYNC) == 0 else { throw UsageError("msync \(tmp): \(errnoText())") }
        }
        guard fsync(fd) == 0 else { throw UsageError("fsync \(tmp): \(errnoText())") }
        guard rename(tmp, path) == 0 else { throw UsageError("rename \(tmp) -> \(path): \(errnoText())") }
        syncDirectory(of: path)
        ok = true
    }
}
