import ArgumentParser

/// `--resident-layers auto|N`: a count of first decoder layers kept on the GPU with their
/// AdamW state, or nil for the planner's choice.
struct ResidentLayerCount: ExpressibleByArgument {
    let count: Int?

    init?(argument: String) {
        if argument == "auto" { count = nil; return }
        guard let n = Int(argument), n >= 0 else { return nil }
        count = n
    }

    init(_ count: Int?) { self.count = count }

    var defaultValueDescription: String { count.map(String.init) ?? "auto" }
}
