import XCTest
@testable import Support

final class WorkerPoolTests: XCTestCase {
    func testEveryIndexRunsExactlyOnceAcrossManyJobs() {
        let pool = WorkerPool(threads: 4)
        defer { pool.shutdown() }
        for job in 0..<200 {
            let n = 1 + job % 37
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: n)
            hits.initialize(repeating: 0, count: n)
            defer { hits.deallocate() }
            // Each index is written by exactly one thread, so no two threads touch one slot.
            pool.parallelFor(n) { i in hits[i] += 1 }
            XCTAssertEqual((0..<n).map { hits[$0] }, Array(repeating: 1, count: n), "job \(job)")
        }
    }

    func testRangesCoverTheWholeSpanWithoutOverlap() {
        let pool = WorkerPool(threads: 3)
        defer { pool.shutdown() }
        let n = 10_007
        let hits = UnsafeMutablePointer<UInt8>.allocate(capacity: n)
        hits.initialize(repeating: 0, count: n)
        defer { hits.deallocate() }
        pool.parallelRanges(n, minChunk: 100) { r in for i in r { hits[i] += 1 } }
        XCTAssertTrue((0..<n).allSatisfy { hits[$0] == 1 })
    }
}
