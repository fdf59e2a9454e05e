import ModelFormats

/// Host-side fp32 parameters (or gradients) in the engine's layout: one flat buffer per
/// decoder layer, plus the embedding, the final norm and the untied LM head.
public typealias HostParameters = ModelWeights
