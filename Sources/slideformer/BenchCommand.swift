import ArgumentParser

/// `slideformer bench <what>`: measured throughput of one part of the system.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: measure one part of the system and print its throughput.",
        subcommands: [BenchGEMMCommand.self, BenchAdamWCommand.self, BenchCUDACommand.self, BenchTrainCommand.self]
    )
}
