import Support
import XCTest

final class FixedDecimalTests: XCTestCase {
    func testLikePrintf() {
        XCTAssertEqual(fixedDecimal(12.3, digits: 2), "12.30")
        XCTAssertEqual(fixedDecimal(0.0049, digits: 2), "0.00")
        XCTAssertEqual(fixedDecimal(-1.005, digits: 1), "-1.0")
        XCTAssertEqual(fixedDecimal(-0.0001, digits: 2), "0.00")
        XCTAssertEqual(fixedDecimal(2.5, digits: 0), "3")
        XCTAssertEqual(fixedDecimal(123456.789, digits: 3), "123456.789")
        XCTAssertEqual(fixedDecimal(.infinity, digits: 2), "inf")
    }
}
