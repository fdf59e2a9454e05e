#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ModelFormats
import Support

/// The output folder of a run:
///   config.json, model.safetensors (bf16, Hugging Face names; sharded above 5 GB),
///   tokenizer files copied from the model folder  → loadable by transformers as it is
///   metrics.csv, loss_curve.svg                    → the run's curves
///   checkpoints/step-NNNNNN/                       → resumable state (`Checkpoint`)
public enum OutputFolder {
    /// Copied from the model folder when present.
    public static let tokenizerFiles = [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja", "generation_config.json",
    ]
    public static let metricsFile = "metrics.csv"
    public static let lossCurveFile = "loss_curve.svg"

    /// Writes the model (`weights` rounded to bf16, config.json keeping the source config's
    /// other keys) and the tokenizer files of `modelDirectory` into `output`, file by file
    /// atomically.
    public static func writeModel(_ weights: ModelWeights, modelDirectory: String, output: String) throws {
        let sourceConfig = try readJSONFile(modelDirectory + "/config.json").object
        try weights.write(into: output, dtype: .bf16, sourceConfig: sourceConfig)
        for name in tokenizerFiles where FileManager.default.fileExists(atPath: modelDirectory + "/" + name) {
            try AtomicOutput.write(try readFileBytes(modelDirectory + "/" + name), to: output + "/" + name)
        }
    }

    /// Rewrites metrics.csv and loss_curve.svg from the rows so far.
    public static func writeCurves(_ metrics: MetricsLog, output: String) throws {
        try metrics.flush()
        let svg = LossPlot.svg(steps: metrics.rows.map(\.step), losses: metrics.rows.map(\.loss))
        try AtomicOutput.write(svg, to: output + "/" + lossCurveFile)
    }
}
