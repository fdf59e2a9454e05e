/// The element encodings ggml defines (ggml.h `enum ggml_type`). The reader knows all of their
/// sizes so it can check every tensor's extent; only some can be converted (`GGUFQuantization`).
public struct GGUFTensorType: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public let name: String
    /// Elements per block and bytes per block: a row of n elements takes n / blockSize * blockBytes.
    public let blockSize: Int
    public let blockBytes: Int

    public var description: String { name }

    public static let f32 = GGUFTensorType(rawValue: 0, name: "F32", blockSize: 1, blockBytes: 4)
    public static let f16 = GGUFTensorType(rawValue: 1, name: "F16", blockSize: 1, blockBytes: 2)
    public static let q4_0 = GGUFTensorType(rawValue: 2, name: "Q4_0", blockSize: 32, blockBytes: 18)
    public static let q4_1 = GGUFTensorType(rawValue: 3, name: "Q4_1", blockSize: 32, blockBytes: 20)
    public static let q8_0 = GGUFTensorType(rawValue: 8, name: "Q8_0", blockSize: 32, blockBytes: 34)
    public static let bf16 = GGUFTensorType(rawValue: 30, name: "BF16", blockSize: 1, blockBytes: 2)

    /// Every type of ggml's table (gguf-py `GGML_QUANT_SIZES`); ids 4, 5, 31-33, 36-38 are retired.
    public static let all: [GGUFTensorType] = [
        .f32, .f16, .q4_0, .q4_1,
        GGUFTensorType(rawValue: 6, name: "Q5_0", blockSize: 32, blockBytes: 22),
        GGUFTensorType(rawValue: 7, name: "Q5_1", blockSize: 32, blockBytes: 24),
        .q8_0,
        GGUFTensorType(rawValue: 9, name: "Q8_1", blockSize: 32, blockBytes: 40),
        GGUFTensorType(rawValue: 10, name: "Q2_K", blockSize: 256, blockBytes: 84),
        GGUFTensorType(rawValue: 11, name: "Q3_K", blockSize: 256, blockBytes: 110),
        GGUFTensorType(rawValue: 12, name: "Q4_K", blockSize: 256, blockBytes: 144),
        GGUFTensorType(rawValue: 13, name: "Q5_K", blockSize: 256, blockBytes: 176),
        GGUFTensorType(rawValue: 14, name: "Q6_K", blockSize: 256, blockBytes: 210),
        GGUFTensorType(rawValue: 15, name: "Q8_K", blockSize: 256, blockBytes: 292),
        GGUFTensorType(rawValue: 16, name: "IQ2_XXS", blockSize: 256, blockBytes: 66),
        GGUFTensorType(rawValue: 17, name: "IQ2_XS", blockSize: 256, blockBytes: 74),
        GGUFTensorType(rawValue: 18, name: "IQ3_XXS", blockSize: 256, blockBytes: 98),
        GGUFTensorType(rawValue: 19, name: "IQ1_S", blockSize: 256, blockBytes: 50),
        GGUFTensorType(rawValue: 20, name: "IQ4_NL", blockSize: 32, blockBytes: 18),
        GGUFTensorType(rawValue: 21, name: "IQ3_S", blockSize: 256, blockBytes: 110),
        GGUFTensorType(rawValue: 22, name: "IQ2_S", blockSize: 256, blockBytes: 82),
        GGUFTensorType(rawValue: 23, name: "IQ4_XS", blockSize: 256, blockBytes: 136),
        GGUFTensorType(rawValue: 24, name: "I8", blockSize: 1, blockBytes: 1),
        GGUFTensorType(rawValue: 25, name: "I16", blockSize: 1, blockBytes: 2),
        GGUFTensorType(rawValue: 26, name: "I32", blockSize: 1, blockBytes: 4),
        GGUFTensorType(rawValue: 27, name: "I64", blockSize: 1, blockBytes: 8),
        GGUFTensorType(rawValue: 28, name: "F64", blockSize: 1, blockBytes: 8),
        GGUFTensorType(rawValue: 29, name: "IQ1_M", blockSize: 256, blockBytes: 56),
        .bf16,
        GGUFTensorType(rawValue: 34, name: "TQ1_0", blockSize: 256, blockBytes: 54),
        GGUFTensorType(rawValue: 35, name: "TQ2_0", blockSize: 256, blockBytes: 66),
        GGUFTensorType(rawValue: 39, name: "MXFP4", blockSize: 32, blockBytes: 17),
        GGUFTensorType(rawValue: 40, name: "NVFP4", blockSize: 64, blockBytes: 36),
        GGUFTensorType(rawValue: 41, name: "Q1_0", blockSize: 128, blockBytes: 18),
    ]

    /// The type with this id, or nil for an id ggml does not define.
    public static func withRawValue(_ id: UInt32) -> GGUFTensorType? {
        all.first { $0.rawValue == id }
    }
}
