import Glibc
import XCTest
@testable import Training

/// The host copy of device-updated moments is given back to the system page by page and can
/// be written again afterwards (a checkpoint's download).
final class AdamWMomentsReleaseTests: XCTestCase {
    func testReleasedPagesReadZeroAndTakeWritesAgain() {
        let m = AdamWMoments(count: 300_000)
        for i in 0..<m.count { m.expAvg[i] = 1; m.expAvgSq[i] = 2 }
        m.releasePages()
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        for (p, value) in [(m.expAvg, Float(1)), (m.expAvgSq, Float(2))] {
            let base = Int(bitPattern: p)
            let first = ((base + page - 1) / page * page - base) / 4
            let last = ((base + m.count * 4) / page * page - base) / 4
            XCTAssertGreaterThan(last - first, 250_000, "most of the buffer is whole pages")
            XCTAssertTrue((first..<last).allSatisfy { p[$0] == 0 }, "released pages read zero")
            XCTAssertTrue((0..<first).allSatisfy { p[$0] == value }, "the partial first page is kept")
            XCTAssertTrue((last..<m.count).allSatisfy { p[$0] == value }, "the partial last page is kept")
        }
        for i in 0..<m.count { m.expAvg[i] = 3 }
        XCTAssertTrue((0..<m.count).allSatisfy { m.expAvg[$0] == 3 })
    }
}
