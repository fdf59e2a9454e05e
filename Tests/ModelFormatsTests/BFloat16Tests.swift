import XCTest
@testable import ModelFormats

final class BFloat16Tests: XCTestCase {
    func testRoundToNearestEven() {
        // 1 + 2^-8 is halfway between bf16 1.0 and 1 + 2^-7: ties to even (1.0).
        XCTAssertEqual(BFloat16.fromFloat(1 + 0x1p-8), 0x3F80)
        // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd mantissa) and 1 + 2^-6: rounds up to even.
        XCTAssertEqual(BFloat16.fromFloat(1 + 3 * 0x1p-8), 0x3F82)
        XCTAssertEqual(BFloat16.fromFloat(1 + 0x1p-8 + 0x1p-20), 0x3F81)
        XCTAssertEqual(BFloat16.fromFloat(-2.0), 0xC000)
        XCTAssertEqual(BFloat16.fromFloat(.infinity), 0x7F80)
        XCTAssertEqual(BFloat16.fromFloat(.greatestFiniteMagnitude), 0x7F80)  // overflows to inf, as torch
        XCTAssertEqual(BFloat16.toFloat(0x3F80), 1.0)
    }

    func testNaNStaysNaN() {
        for bits: UInt32 in [0x7FC0_0000, 0x7F80_0001, 0xFF80_0001, 0x7FFF_FFFF] {
            let b = BFloat16.fromFloat(Float(bitPattern: bits))
            XCTAssertTrue(BFloat16.toFloat(b).isNaN, String(bits, radix: 16))
            XCTAssertEqual(b & 0x8000, UInt16(bits >> 16) & 0x8000)
        }
    }

    func testBufferConversionRoundTrips() {
        let src: [Float] = (0..<1000).map { Float($0) * 0.37 - 100 }
        var bf = [UInt16](repeating: 0, count: src.count)
        var back = [Float](repeating: 0, count: src.count)
        src.withUnsafeBufferPointer { s in bf.withUnsafeMutableBufferPointer { BFloat16.convert(s, to: $0) } }
        bf.withUnsafeBufferPointer { s in back.withUnsafeMutableBufferPointer { BFloat16.convert(s, to: $0) } }
        for i in src.indices {
            XCTAssertEqual(bf[i], BFloat16.fromFloat(src[i]))
            XCTAssertLessThanOrEqual(abs(back[i] - src[i]), abs(src[i]) * 0x1p-8)
        }
    }

    func testHalfToFloat() {
        XCTAssertEqual(Float16Bits.toFloat(0x3C00), 1.0)
        XCTAssertEqual(Float16Bits.toFloat(0xC000), -2.0)
        XCTAssertEqual(Float16Bits.toFloat(0x7BFF), 65504.0)
        XCTAssertEqual(Float16Bits.toFloat(0x0001), 0x1p-24)     // smallest subnormal
        XCTAssertEqual(Float16Bits.toFloat(0x03FF), 1023 * 0x1p-24)
        XCTAssertEqual(Float16Bits.toFloat(0x7C00), .infinity)
        XCTAssertEqual(Float16Bits.toFloat(0xFC00), -.infinity)
        XCTAssertTrue(Float16Bits.toFloat(0x7E00).isNaN)
        XCTAssertEqual(Float16Bits.toFloat(0x8000).bitPattern, (-0.0 as Float).bitPattern)
    }
}
