import Backends
import ModelFormats

extension RopeFrequencyScaling {
    /// The backend's name for a config's `rope_scaling`.
    init(_ scaling: ModelConfig.RopeScaling) {
        switch scaling {
        case .none:
            self = .none
        case .linear(let factor):
            self = .linear(factor: factor)
        case .llama3(let factor, let low, let high, let original):
            self = .llama3(factor: factor, lowFreqFactor: low, highFreqFactor: high, originalMaxPositions: original)
        }
    }
}
