import Glibc
import XCTest
@testable import Training

/// Host moments take memory only where written, and the host copy of device-updated moments
/// is given back to the system and can be written again afterwards (a checkpoint's download).
final class AdamWMomentsReleaseTests: XCTestCase {
    /// The process's resident memory in bytes (/proc/self/statm's second field, in pages).
    func residentBytes() throws -> Int {
        guard let f = fopen("/proc/self/statm", "r") else { throw XCTSkip("no /proc/self/statm") }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 256)
        guard fgets(&line, 256, f) != nil else { throw XCTSkip("/proc/self/statm is empty") }
        let fields = String(cString: line).split(separator: " ").compactMap { Int($0) }
        return try XCTUnwrap(fields.dropFirst().first) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    func testMomentsTakeMemoryOnlyWhereWrittenAndUntilReleased() throws {
        let count = 16 << 20, bytes = count * 4     // 64 MiB per moment
        let before = try residentBytes()
        let m = AdamWMoments(count: count)
        var sum: Float = 0
        for i in stride(from: 0, to: count, by: 1024) { sum += m.expAvg[i] + m.expAvgSq[i] }
        XCTAssertEqual(sum, 0, "zero-filled")
        XCTAssertLessThan(try residentBytes() - before, bytes / 4, "reading zeros takes no memory")
        for i in 0..<count { m.expAvg[i] = 1; m.expAvgSq[i] = 2 }
        XCTAssertGreaterThan(try residentBytes() - before, 2 * bytes * 9 / 10, "written pages do")
        m.releasePages()
        XCTAssertLessThan(try residentBytes() - before, bytes / 4, "released pages are given back")
        XCTAssertTrue(stride(from: 0, to: count, by: 997).allSatisfy { m.expAvg[$0] == 0 && m.expAvgSq[$0] == 0 },
                      "and read zero")
        for i in 0..<count { m.expAvg[i] = 3 }
        XCTAssertTrue(stride(from: 0, to: count, by: 997).allSatisfy { m.expAvg[$0] == 3 }, "and take writes again")
    }
}
