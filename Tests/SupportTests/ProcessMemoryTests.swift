import Support
import XCTest

final class ProcessMemoryTests: XCTestCase {
    /// Touching 256 MiB raises the resident peak by about that much; a restart brings the peak
    /// back near the current size once the memory is freed.
    func testPeakFollowsTouchedMemory() throws {
        guard let before = ProcessMemory.peakResidentBytes() else { throw XCTSkip("no /proc/self/status here") }
        let bytes = 256 << 20
        let p = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        for i in stride(from: 0, to: bytes, by: 4096) { p.storeBytes(of: UInt8(i & 0xff), toByteOffset: i, as: UInt8.self) }
        let during = try XCTUnwrap(ProcessMemory.peakResidentBytes())
        p.deallocate()
        XCTAssertGreaterThanOrEqual(during, before)
        XCTAssertGreaterThanOrEqual(during, bytes, "the peak counts the touched pages")
        guard ProcessMemory.resetPeakResident() else { throw XCTSkip("/proc/self/clear_refs not writable here") }
        let after = try XCTUnwrap(ProcessMemory.peakResidentBytes())
        XCTAssertLessThan(after, during - bytes / 2, "the freed 256 MiB left the restarted peak")
    }
}
