import Support

/// Decoding of the GGUF tensor encodings the converter accepts, with ggml's formulas
/// (ggml-quants.c `dequantize_row_*`). Quantized types come in blocks of 32 elements that
/// share an fp16 scale `d` (and for Q4_1 an fp16 minimum `m`):
///   Q8_0: d, 32 × int8 q                 → d·q
///   Q4_0: d, 16 bytes of two 4-bit q     → d·(q − 8)
///   Q4_1: d, m, 16 bytes of two 4-bit q  → d·q + m
/// In the 4-bit types byte j holds element j in its low nibble and element j + 16 in its high one.
public enum GGUFQuantization {
    public static let supportedTypes: [GGUFTensorType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1]

    public static func isSupported(_ type: GGUFTensorType) -> Bool { supportedTypes.contains(type) }

    /// Decodes `destination.count` elements of `type` from `source`, which must hold exactly
    /// their encoding (count / blockSize blocks). Returns false for a type it cannot decode.
    public static func dequantize(_ source: UnsafeRawBufferPointer, type: GGUFTensorType,
                                  into destination: UnsafeMutableBufferPointer<Float>) -> Bool {
        precondition(destination.count % type.blockSize == 0
                     && source.count == destination.count / type.blockSize * type.blockBytes)
        let blocks = destination.count / type.blockSize
        switch type {
        case .f32:
            for i in 0..<blocks { destination[i] = Float(bitPattern: load(UInt32.self, source, 4 * i)) }
        case .f16:
            for i in 0..<blocks { destination[i] = Float16Bits.toFloat(load(UInt16.self, source, 2 * i)) }
        case .bf16:
            for i in 0..<blocks { destination[i] = BFloat16.toFloat(load(UInt16.self, source, 2 * i)) }
        case .q8_0:
            for b in 0..<blocks {
                let base = b * 34
                let d = Float16Bits.toFloat(load(UInt16.self, source, base))
                for j in 0..<32 {
                    destination[b * 32 + j] = d * Float(Int8(bitPattern: source[base + 2 + j]))
                }
            }
        case .q4_0:
            for b in 0..<blocks {
                let base = b * 18
                let d = Float16Bits.toFloat(load(UInt16.self, source, base))
                for j in 0..<16 {
                    let byte = source[base + 2 + j]
                    destination[b * 32 + j] = d * Float(Int(byte & 0x0F) - 8)
                    destination[b * 32 + j + 16] = d * Float(Int(byte >> 4) - 8)
                }
            }
        case .q4_1:
            for b in 0..<blocks {
                let base = b * 20
                let d = Float16Bits.toFloat(load(UInt16.self, source, base))
                let m = Float16Bits.toFloat(load(UInt16.self, source, base + 2))
                for j in 0..<16 {
                    let byte = source[base + 4 + j]
                    destination[b * 32 + j] = d * Float(byte & 0x0F) + m
                    destination[b * 32 + j + 16] = d * Float(byte >> 4) + m
                }
            }
        default:
            return false
        }
        return true
    }

    @inline(__always)
    private static func load<T: FixedWidthInteger>(_: T.Type, _ source: UnsafeRawBufferPointer, _ offset: Int) -> T {
        T(littleEndian: source.loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension GGUFFile {
    /// The tensor's values as float32, or an InputError naming the tensor for a type that
    /// cannot be decoded.
    public func dequantize(_ tensor: GGUFTensorInfo, into destination: UnsafeMutableBufferPointer<Float>) throws {
        precondition(destination.count == tensor.elementCount)
        guard GGUFQuantization.dequantize(data(of: tensor), type: tensor.type, into: destination) else {
            let supported = GGUFQuantization.supportedTypes.map(\.name).joined(separator: ", ")
            throw InputError(file: path, location: "tensor \(tensor.name)",
                             "tensor type \(tensor.type) cannot be converted (supported: \(supported))")
        }
    }
}
