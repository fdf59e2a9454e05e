/// bfloat16 and IEEE half conversions over whole buffers. Values are raw 16-bit patterns
/// (`UInt16`), as stored in safetensors files and GPU buffers. The loops are branch-free so
/// the compiler vectorizes them; call the buffer forms on hot paths, never per element.
public enum BFloat16 {
    /// fp32 → bf16, round to nearest, ties to even (as torch). NaN stays NaN (quiet bit set,
    /// sign and top payload bits kept); ±inf and overflow to inf as torch.
    @inline(__always)
    public static func fromFloat(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        let rounded = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16
        let quietNaN = (bits >> 16) | 0x0040
        let isNaN = (bits & 0x7FFF_FFFF) > 0x7F80_0000
        return UInt16(truncatingIfNeeded: isNaN ? quietNaN : rounded)
    }

    /// bf16 → fp32 (exact).
    @inline(__always)
    public static func toFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// dst[i] = bf16(src[i]); the counts must match.
    public static func convert(_ src: UnsafeBufferPointer<Float>, to dst: UnsafeMutableBufferPointer<UInt16>) {
        precondition(src.count == dst.count, "bf16 conversion: \(src.count) floats into \(dst.count) slots")
        guard let s = src.baseAddress, let d = dst.baseAddress else { return }
        for i in 0..<src.count { d[i] = fromFloat(s[i]) }
    }

    /// dst[i] = float(src[i]); the counts must match.
    public static func convert(_ src: UnsafeBufferPointer<UInt16>, to dst: UnsafeMutableBufferPointer<Float>) {
        precondition(src.count == dst.count, "bf16 conversion: \(src.count) values into \(dst.count) floats")
        guard let s = src.baseAddress, let d = dst.baseAddress else { return }
        for i in 0..<src.count { d[i] = toFloat(s[i]) }
    }
}

/// IEEE 754 binary16 → fp32, for reading F16 checkpoints (no F16 output is needed).
public enum Float16Bits {
    /// Exact conversion; subnormals, ±inf and NaN (payload kept) included.
    @inline(__always)
    public static func toFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let shifted = UInt32(h & 0x7FFF) << 13           // exponent and mantissa in fp32 position
        let exponent = shifted & 0x0F80_0000
        let normal = Float(bitPattern: shifted &+ 0x3800_0000)               // rebias 15 → 127
        let infOrNaN = Float(bitPattern: shifted &+ 0x7000_0000)             // exponent 31 → 255
        // Subnormal: let the FPU normalize it: (2^-14 · 1.m) − 2^-14 = 2^-14 · 0.m.
        let subnormal = Float(bitPattern: shifted &+ 0x3880_0000) - Float(bitPattern: 0x3880_0000)
        let magnitude = exponent == 0x0F80_0000 ? infOrNaN : (exponent == 0 ? subnormal : normal)
        return Float(bitPattern: magnitude.bitPattern | sign)
    }

    /// dst[i] = float(src[i]); the counts must match.
    public static func convert(_ src: UnsafeBufferPointer<UInt16>, to dst: UnsafeMutableBufferPointer<Float>) {
        precondition(src.count == dst.count, "f16 conversion: \(src.count) values into \(dst.count) floats")
        guard let s = src.baseAddress, let d = dst.baseAddress else { return }
        for i in 0..<src.count { d[i] = toFloat(s[i]) }
    }
}
