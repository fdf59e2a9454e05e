#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ModelFormats
import Support
import TestSupport
import XCTest

/// One model of Tests/Fixtures/golden/<name>/ (written by scripts/make_reference.py, see
/// docs/golden-reference.md): the Hugging Face folder (config.json + model.safetensors) and
/// the PyTorch reference states (reference.safetensors, all F32; reference.json). A missing
/// fixture is an error, never a skip: they are committed.
struct GoldenReference {
    static let modelNames = ["llama_tied_rope3", "llama_untied_bias", "qwen2", "qwen3", "llama_tied_bias_hd16", "mistral"]

    let name: String
    let weights: ModelWeights
    let json: JSON
    private let reference: SafeTensorsFile

    init(_ name: String) throws {
        self.name = name
        let directory = TestPaths.fixture("golden/" + name)
        weights = try ModelWeights.load(directory: directory)
        json = try readJSONFile(directory + "/reference.json")
        reference = try SafeTensorsFile(path: directory + "/reference.safetensors")
    }

    func shape(_ tensor: String) throws -> [Int] {
        try XCTUnwrap(reference.info(tensor), "\(name): no tensor \(tensor)").shape
    }

    func floats(_ tensor: String) throws -> [Float] { try reference.floats(tensor) }

    /// Token ids / labels (exact integers stored as F32).
    func tokens(_ tensor: String) throws -> [Int32] { try floats(tensor).map { Int32($0) } }

    /// A list of numbers of reference.json's "train" object, at full double precision.
    func trainDoubles(_ key: String) throws -> [Double] {
        try XCTUnwrap(json["train"]?[key]?.array, "\(name): reference.json has no train.\(key)").map {
            try XCTUnwrap($0.double)
        }
    }
}

/// ‖a − b‖₂ / ‖b‖₂: the error of `a` relative to the size of the reference `b`.
func relativeL2Error<A: Collection, B: Collection>(_ a: A, _ b: B) -> Double
where A.Element == Float, B.Element == Float {
    precondition(a.count == b.count, "compared tensors differ in size")
    var diff = 0.0, norm = 0.0
    for (x, y) in zip(a, b) {
        diff += (Double(x) - Double(y)) * (Double(x) - Double(y))
        norm += Double(y) * Double(y)
    }
    return norm > 0 ? (diff / norm).squareRoot() : diff.squareRoot()
}

/// Target tokens of HF labels (B,T): positions 1..<T of each row not ignored.
func targetCount(labels: [Int32], seqLen: Int) -> Int {
    labels.indices.filter { $0 % seqLen != 0 && labels[$0] != -100 }.count
}
