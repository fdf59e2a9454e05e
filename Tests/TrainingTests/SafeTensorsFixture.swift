import ModelFormats
import XCTest

extension SafeTensorsFile {
    /// Tensor `name` widened to fp32 (F32, BF16 or F16 on disk).
    func floats(_ name: String) throws -> [Float] {
        let info = try XCTUnwrap(self.info(name), "\(path): no tensor \(name)")
        var out = [Float](repeating: 0, count: info.elementCount)
        try out.withUnsafeMutableBufferPointer { try readFloat32(info, into: $0) }
        return out
    }
}

/// max |a - b| / max |b|: the error of `a` relative to the scale of the reference `b`.
func normalizedError(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    var diff = 0.0, scale = 0.0
    for i in 0..<a.count {
        diff = max(diff, abs(Double(a[i]) - Double(b[i])))
        scale = max(scale, abs(Double(b[i])))
    }
    return scale > 0 ? diff / scale : diff
}
