// swift-tools-version:6.0
import PackageDescription

// Float.squareRoot() is imported through a C shim that clang compiles with math-errno on
// Linux, which keeps LLVM from vectorizing loops that use it: -fno-math-errno fixes that.
let fastMath: [SwiftSetting] = [.swiftLanguageMode(.v5), .unsafeFlags(["-Xcc", "-fno-math-errno"])]
let swift5: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "SlideFormer",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "slideformer", targets: ["slideformer"]),
        .library(name: "SlideFormer", targets: ["Training"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // JSON, errors that name their file, atomic output folders, timing: used by every layer.
        .target(name: "Support", swiftSettings: swift5),
        // Hugging Face config.json, safetensors, GGUF import, per-layer flat parameter layout.
        .target(name: "ModelFormats", dependencies: ["Support"], swiftSettings: swift5),
        // tokenizer.json byte-level BPE and Jinja chat templates.
        .target(name: "Tokenization", dependencies: ["Support"], swiftSettings: swift5),
        // JSONL datasets: formats, loss masks, packing, shuffling.
        .target(name: "Datasets", dependencies: ["Support", "Tokenization"], swiftSettings: swift5),
        // SIMD C kernels (GEMM micro-kernels, AdamW) compiled for AVX2/FMA/F16C.
        .target(
            name: "CKernels",
            cSettings: [.unsafeFlags(["-O3", "-mavx2", "-mfma", "-mf16c", "-fno-math-errno"])]
        ),
        // The op set one decoder layer needs (protocol) and its CPU reference implementation.
        .target(name: "Backends", dependencies: ["Support", "CKernels"], swiftSettings: fastMath),
        // Hand-written CUDA driver / NVRTC / cuBLASLt declarations and dlsym tables (no CUDA headers).
        .target(name: "CCUDA"),
        // The Backend ops on NVIDIA GPUs; every NVIDIA library is dlopen'ed at run time.
        .target(name: "CUDABackend", dependencies: ["Backends", "Support", "CCUDA"], swiftSettings: fastMath),
        // Decoder layers, optimizer, training loop, checkpoints.
        .target(
            name: "Training",
            dependencies: ["Support", "ModelFormats", "Tokenization", "Datasets", "Backends", "CUDABackend", "CKernels"],
            swiftSettings: fastMath
        ),
        .executableTarget(
            name: "slideformer",
            dependencies: [
                "Support", "ModelFormats", "Tokenization", "Datasets", "Backends", "CUDABackend", "Training",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swift5
        ),
        // Locating fixtures and fetched assets; used by the test targets only.
        .target(name: "TestSupport", dependencies: ["Support"], path: "Tests/TestSupport", swiftSettings: swift5),
        .testTarget(name: "SupportTests", dependencies: ["Support", "TestSupport"], swiftSettings: swift5),
        .testTarget(name: "ModelFormatsTests", dependencies: ["ModelFormats", "Tokenization", "TestSupport"], swiftSettings: swift5),
        .testTarget(name: "TokenizationTests", dependencies: ["Tokenization", "ModelFormats", "TestSupport"], swiftSettings: swift5),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Tokenization", "TestSupport"], swiftSettings: swift5),
        .testTarget(name: "BackendsTests", dependencies: ["Backends", "TestSupport"], swiftSettings: fastMath),
        .testTarget(name: "CUDABackendTests", dependencies: ["CUDABackend", "Backends", "TestSupport"], swiftSettings: fastMath),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "ModelFormats", "Backends", "Datasets", "Tokenization", "TestSupport"], swiftSettings: fastMath),
    ]
)
