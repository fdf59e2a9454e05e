import ArgumentParser

@main
struct SlideFormerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slideformer",
        abstract: "Full-parameter fine-tuning of Hugging Face decoder-only LLMs on one GPU.",
        subcommands: [BenchCommand.self, DoctorCommand.self, SelftestCommand.self]
    )
}
