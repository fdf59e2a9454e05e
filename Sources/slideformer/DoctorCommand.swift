import ArgumentParser
import CUDABackend

/// `slideformer doctor`: can this machine run the CUDA backend, and how fast is its PCIe link?
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Find the NVIDIA driver, NVRTC and cuBLASLt; show the GPU and measure pinned copy bandwidth."
    )

    func run() throws {
        let healthy = DoctorReport.run { print($0) }
        if !healthy { throw ExitCode(1) }
    }
}
