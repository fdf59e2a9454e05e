import XCTest
@testable import Support

final class FormatTests: XCTestCase {
    func testFixed() {
        XCTAssertEqual(Format.fixed(3.14159, 2), "3.14")
        XCTAssertEqual(Format.fixed(2.5, 0), "3")
        XCTAssertEqual(Format.fixed(-0.0049, 2), "0.00")
        XCTAssertEqual(Format.fixed(-1.005, 1), "-1.0")
        XCTAssertEqual(Format.fixed(0.05, 3), "0.050")
        XCTAssertEqual(Format.fixed(12345.678, 1), "12345.7")
    }

    func testScientific() {
        XCTAssertEqual(Format.sci(0.0002, 2), "2.00e-04")
        XCTAssertEqual(Format.sci(3e-5, 1), "3.0e-05")
        XCTAssertEqual(Format.sci(9.999e-5, 2), "1.00e-04")
        XCTAssertEqual(Format.sci(123456, 3), "1.235e+05")
        XCTAssertEqual(Format.sci(1, 2), "1.00e+00")
    }

    func testNamed() {
        XCTAssertEqual(Format.named([("6N", 357.94), ("Megatron", 311.25)]), "6N 357.9, Megatron 311.3")
        XCTAssertEqual(Format.named([]), "")
    }

    func testGroupedBytesDuration() {
        XCTAssertEqual(Format.grouped(1234567), "1,234,567")
        XCTAssertEqual(Format.grouped(-999), "-999")
        XCTAssertEqual(Format.bytes(1536), "1.50 KiB")
        XCTAssertEqual(Format.bytes(3 * 1024 * 1024 * 1024), "3.00 GiB")
        XCTAssertEqual(Format.duration(3725), "1:02:05")
        XCTAssertEqual(Format.duration(65), "1:05")
    }
}
