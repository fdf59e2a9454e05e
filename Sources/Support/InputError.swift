/// An error in something the user gave us: it names the file and, where known, the place in it
/// (a line of a dataset, a tensor of a checkpoint, a key of a config), so the message alone is
/// enough to find and fix the problem.
public struct InputError: Error, CustomStringConvertible, Sendable {
    public let file: String
    /// "line 12", "tensor model.layers.0.mlp.up_proj.weight", "key rope_scaling", or "".
    public let location: String
    public let message: String

    public init(file: String, location: String = "", _ message: String) {
        self.file = file
        self.location = location
        self.message = message
    }

    public var description: String {
        location.isEmpty ? "\(file): \(message)" : "\(file): \(location): \(message)"
    }
}

/// A request the program cannot carry out (an impossible memory plan, a missing library):
/// not tied to one input file.
public struct UsageError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
