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

extension AtomicOutput {
    /// Like `write(_:to:)` for content too large for one buffer: `produce` receives a sink
    /// and hands it the file's bytes piece by piece. Temporary name, fsync, rename; if
    /// `produce` or a write throws, nothing appears at `path`.
    public static func writeStreaming(to path: String, _ produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let tmp = temporaryName(for: path)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw UsageError("cannot create \(tmp): \(errnoText())") }
        var open = true  // writeAll closes the descriptor itself when it fails
        var ok = false
        defer {
            if open { close(fd) }
            if !ok { unlink(tmp) }
        }
        try produce { piece in
            do {
                try writeAll(fd: fd, piece, path: tmp)
            } catch {
                open = false
                throw error
            }
        }
        guard fsync(fd) == 0 else { throw UsageError("fsync \(tmp): \(errnoText())") }
        open = false
        close(fd)
        guard rename(tmp, path) == 0 else { throw UsageError("rename \(tmp) -> \(path): \(errnoText())") }
        syncDirectory(of: path)
        ok = true
    }
}
