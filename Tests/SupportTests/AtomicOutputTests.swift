import XCTest
@testable import Support
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

final class AtomicOutputTests: XCTestCase {
    func testFailedDirectoryWriteLeavesNothingBehind() throws {
        let base = FileManager.default.temporaryDirectory.path + "/atomic-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: base) }
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let target = base + "/out"
        XCTAssertThrowsError(try AtomicOutput.writeDirectory(at: target) { dir in
            try AtomicOutput.write("partial", to: dir + "/a.txt")
            throw UsageError("fail midway")
        })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: base), [])
    }

    func testDirectoryReplacesOldOneOnlyWhenComplete() throws {
        let base = FileManager.default.temporaryDirectory.path + "/atomic-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let target = base + "/out"
        try AtomicOutput.writeDirectory(at: target) { try AtomicOutput.write("one", to: $0 + "/a.txt") }
        XCTAssertThrowsError(try AtomicOutput.writeDirectory(at: target) { _ in throw UsageError("no") })
        XCTAssertEqual(String(decoding: try readFileBytes(target + "/a.txt"), as: UTF8.self), "one")
        try AtomicOutput.writeDirectory(at: target) { try AtomicOutput.write("two", to: $0 + "/a.txt") }
        XCTAssertEqual(String(decoding: try readFileBytes(target + "/a.txt"), as: UTF8.self), "two")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: base), ["out"])
    }
}
