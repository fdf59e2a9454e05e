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

final class WorkerPoolStressTests: XCTestCase {
    // Many short jobs back to back: a worker must never keep the caller's closure alive after
    // the job completes (withoutActuallyEscaping traps if it does).
    func testShortJobsBackToBackDoNotEscapeTheClosure() {
        let pool = WorkerPool(threads: 4)
        defer { pool.shutdown() }
        var total = 0
        for _ in 0..<5000 {
            let sums = UnsafeMutablePointer<Int>.allocate(capacity: 8)
            sums.initialize(repeating: 0, count: 8)
            pool.parallelFor(8) { i in sums[i] = i }
            total += (0..<8).reduce(0) { $0 + sums[$1] }
            sums.deallocate()
        }
        XCTAssertEqual(total, 5000 * 28)
    }
}
