/// fp32 ↔ bf16 (raw 16-bit) conversions: bf16 is the top half of an fp32 bit pattern.
enum BFloat16Conversion {
    /// Round to nearest even; NaN stays a (quiet) NaN.
    @inline(__always)
    static func fromFloat(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    @inline(__always)
    static func toFloat(_ x: UInt16) -> Float { Float(bitPattern: UInt32(x) << 16) }
}
