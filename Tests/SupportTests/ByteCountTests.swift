import Support
import XCTest

final class ByteCountTests: XCTestCase {
    func testUnits() throws {
        XCTAssertEqual(try ByteCount.parse("24GiB", option: "--x"), 24 << 30)
        XCTAssertEqual(try ByteCount.parse("80GB", option: "--x"), 80_000_000_000)
        XCTAssertEqual(try ByteCount.parse("512 MiB", option: "--x"), 512 << 20)
        XCTAssertEqual(try ByteCount.parse("1.5TiB", option: "--x"), 3 << 39)
        XCTAssertEqual(try ByteCount.parse("64g", option: "--x"), 64 << 30)
        XCTAssertEqual(try ByteCount.parse("2kb", option: "--x"), 2000)
        XCTAssertEqual(try ByteCount.parse("123456", option: "--x"), 123_456)
        XCTAssertEqual(try ByteCount.parse("100B", option: "--x"), 100)
    }

    func testRejectsWhatIsNoSize() {
        for bad in ["", "GiB", "abc", "12XB", "-5GB", "1.2.3GB", "1e30TB"] {
            XCTAssertThrowsError(try ByteCount.parse(bad, option: "--gpu-memory"), bad) { error in
                XCTAssertTrue("\(error)".contains("--gpu-memory"), "\(bad): \(error)")
            }
        }
    }
}
