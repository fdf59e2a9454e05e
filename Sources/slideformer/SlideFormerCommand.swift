import ArgumentParser

@main
struct SlideFormerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slideformer",
        abstract: "Full-parameter fine-tuning of Hugging Face decoder-only LLMs on one GPU.",
        subcommands: [
            TrainCommand.self, LossCommand.self, DemoCommand.self, ConvertCommand.self, TokenizeCommand.self,
            DoctorCommand.self, SelftestCommand.self, BenchCommand.self, PlanCommand.self,
        ]
    )
}
