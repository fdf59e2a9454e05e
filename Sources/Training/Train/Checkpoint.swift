#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Datasets
import ModelFormats
import Support

/// What a checkpoint records besides tensors (trainer_state.json).
public struct CheckpointState: Sendable {
    public static let format = "slideformer-trainer-1"
    /// Optimizer steps completed.
    public var step: Int
    /// Training seconds so far (all processes of the run).
    public var elapsedSeconds: Double
    /// Settings the resumed run must repeat: flag → value (`TrainOptions.resumeSettings`).
    public var settings: [(flag: String, value: String)]
    /// Where the data loader stands: the next micro-batch is the one after this step's.
    public var data: DataLoaderState

    var json: JSON {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = (try? encoder.encode(self.data)).flatMap { try? JSON.parse($0) } ?? .null
        return .object(JSONObject([
            ("format", .string(Self.format)),
            ("step", .int(step)),
            ("elapsed_s", .double(elapsedSeconds)),
            ("settings", .object(JSONObject(settings.map { ($0.flag, .string($0.value)) }))),
            ("data_loader", data),
        ]))
    }

    init(step: Int, elapsedSeconds: Double, settings: [(flag: String, value: String)], data: DataLoaderState) {
        self.step = step
        self.elapsedSeconds = elapsedSeconds
        self.settings = settings
        self.data = data
    }

    init(json: JSON, file: String) throws {
        guard json["format"]?.string == Self.format else {
            throw InputError(file: file, location: "key format", "expected \"\(Self.format)\": not a trainer state file")
        }
        guard let step = json["step"]?.int, step >= 0 else { throw InputError(file: file, location: "key step", "missing or negative") }
        guard let elapsed = json["elapsed_s"]?.double else { throw InputError(file: file, location: "key elapsed_s", "missing") }
        guard let settings = json["settings"]?.object else { throw InputError(file: file, location: "key settings", "missing") }
        var pairs: [(flag: String, value: String)] = []
        for (flag, value) in settings.pairs {
            guard let text = value.string else { throw InputError(file: file, location: "key settings.\(flag)", "expected a string") }
            pairs.append((flag, text))
        }
        guard let loader = json["data_loader"] else { throw InputError(file: file, location: "key data_loader", "missing") }
        do {
            data = try JSONDecoder().decode(DataLoaderState.self, from: Data(loader.serialized().utf8))
        } catch {
            throw InputError(file: file, location: "key data_loader", "not a data loader state: \(error)")
        }
        self.step = step
        elapsedSeconds = elapsed
        self.settings = pairs
    }
}

/// Resumable checkpoints: `<output>/checkpoints/step-NNNNNN/` holding
/// - config.json + model.safetensors: the fp32 master weights (Hugging Face names),
/// - optimizer.safetensors: AdamW m, v and step of every parameter buffer,
/// - trainer_state.json: step, elapsed time, the settings to repeat, the data loader position.
/// Each folder is written under a temporary name, fsynced and renamed, so a crash never leaves
/// a half-written checkpoint; only the newest `keep` are kept.
public enum Checkpoint {
    public static let folderName = "checkpoints"
    public static let stateFile = "trainer_state.json"
    public static let optimizerFile = "optimizer.safetensors"
    public static let keep = 2

    /// "step-000012"
    public static func name(step: Int) -> String {
        let s = String(step)
        return "step-" + String(repeating: "0", count: max(0, 6 - s.count)) + s
    }

    /// Writes the checkpoint of `state` into `<output>/checkpoints/` and removes all but the
    /// newest `keep`. Returns its path.
    @discardableResult
    public static func save(_ state: CheckpointState, host: HostTrainingState, hyperparameters: AdamWHyperparameters,
                            outputDirectory: String) throws -> String {
        let parent = outputDirectory + "/" + folderName
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let path = parent + "/" + name(step: state.step)
        try AtomicOutput.writeDirectory(at: path) { tmp in
            try host.masters.write(into: tmp, dtype: .f32)
            try OptimizerCheckpoint.save(host.namedMoments, hyperparameters: hyperparameters, to: tmp + "/" + optimizerFile)
            try AtomicOutput.write(state.json.serialized(.pretty) + "\n", to: tmp + "/" + stateFile)
        }
        for (_, old) in try list(parent).dropLast(keep) { try FileManager.default.removeItem(atPath: old) }
        return path
    }

    /// The checkpoint folders under `parent`, oldest first, as (step, path).
    static func list(_ parent: String) throws -> [(Int, String)] {
        guard FileManager.default.fileExists(atPath: parent) else { return [] }
        var found: [(Int, String)] = []
        for entry in try FileManager.default.contentsOfDirectory(atPath: parent) where entry.hasPrefix("step-") {
            // Temporary folders of an interrupted save ("step-000012.tmp-123") are not checkpoints.
            guard let step = Int(entry.dropFirst(5)),
                  FileManager.default.fileExists(atPath: parent + "/" + entry + "/" + stateFile) else { continue }
            found.append((step, parent + "/" + entry))
        }
        return found.sorted { $0.0 < $1.0 }
    }

    /// The checkpoint folder meant by `--resume path`: a checkpoint folder itself, or an output
    /// folder (its newest checkpoint).
    public static func locate(_ path: String) throws -> String {
        if FileManager.default.fileExists(atPath: path + "/" + stateFile) { return path }
        guard let newest = try list(path + "/" + folderName).last else {
            throw InputError(file: path, "no checkpoint here: expected a checkpoint folder (with \(stateFile)) "
                             + "or an output folder with \(folderName)/step-NNNNNN/")
        }
        return newest.1
    }

    public static func readState(_ checkpoint: String) throws -> CheckpointState {
        let file = checkpoint + "/" + stateFile
        return try CheckpointState(json: readJSONFile(file), file: file)
    }

    /// Refuses to resume when a setting differs from the checkpoint's.
    static func checkSettings(_ saved: CheckpointState, current: [(flag: String, value: String)], checkpoint: String) throws {
        let recorded = Dictionary(saved.settings.map { ($0.flag, $0.value) }, uniquingKeysWith: { a, _ in a })
        for (flag, value) in current where recorded[flag] != value {
            throw UsageError("cannot resume from \(checkpoint): \(flag) was \(recorded[flag] ?? "not recorded") "
                             + "when it was saved, now \(value); resume with the same settings")
        }
    }

    /// Restores the AdamW moments and step counts of every buffer.
    static func loadOptimizer(_ checkpoint: String, into host: HostTrainingState) throws {
        try OptimizerCheckpoint.load(host.namedMoments, from: checkpoint + "/" + optimizerFile)
    }
}
