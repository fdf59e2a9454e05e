import Support

/// The plan as `slideformer plan` prints it: a table, or one JSON object.
extension SlidingWindowPlan {
    /// One line per item under GPU, pinned host and pageable host, the totals and the verdict.
    public var description: String {
        let c = config
        var lines = ["sliding-window plan: \(c.numLayers) layers, \(batchSize)x\(seqLen) tokens per step"]
        let width = (gpuItems + pinnedItems + pageableItems).map(\.name.count).max() ?? 0
        func section(_ title: String, _ items: [Item], total: Int, budget: Int?) {
            lines.append(title + ": " + Format.bytes(total) + (budget.map { " of " + Format.bytes($0) } ?? ""))
            for item in items {
                lines.append("  " + item.name + String(repeating: " ", count: width - item.name.count) + "  "
                             + Format.bytes(item.bytes))
            }
        }
        section("GPU", gpuItems, total: gpuPeakBytes, budget: gpuBudget)
        section("pinned host", pinnedItems, total: pinnedHostBytes, budget: nil)
        section("pageable host", pageableItems, total: pageableHostBytes, budget: nil)
        lines.append("host total: " + Format.bytes(hostPeakBytes) + (hostBudget.map { " of " + Format.bytes($0) } ?? ""))
        if checkpointSaveBytes > 0 {
            lines.append("while a checkpoint is saved: + " + Format.bytes(checkpointSaveBytes)
                         + " (the GPU-updated moments, brought back to the host to be written)")
        }
        let streamed = c.numLayers - residentLayers
        if residentLayers > 0 { lines.append("resident: layers 0..<\(residentLayers) with their AdamW state on the GPU") }
        lines.append("embedding, final norm, LM head: " + modelLevel.planDescription
                     + (modelLevel == .streamed ? " (\(vocabChunkRows) rows per chunk)" : ""))
        lines.append("activation checkpoints: \(checkpointType.rawValue)"
                     + (checkpointType == .f32 ? "" : " (the recompute reads the layers' inputs rounded to bf16)"))
        lines.append(window == streamed ? "window: all \(window) streamed layers stay on the GPU (one H2D per layer and step)"
                                        : "window: \(window) of \(streamed) streamed layers on the GPU at once")
        if keptAttentionLayers > 0 {
            lines.append("attention kept for the backward: \(keptAttentionLayers) of \(c.numLayers) layers (not recomputed)")
        }
        if gpuBudget == nil { lines.append("GPU memory not given: not checked") }
        if let b = maxBatchSize { lines.append("largest batch that fits: \(b)x\(seqLen)") }
        lines.append(fits ? "fits" : "does NOT fit: " + problems.joined(separator: "; "))
        return lines.joined(separator: "\n")
    }

    /// Byte counts and decisions as one JSON object.
    public var json: JSON {
        func items(_ list: [Item]) -> JSON {
            .array(list.map { .object(JSONObject([("name", .string($0.name)), ("bytes", .int($0.bytes))])) })
        }
        func optional(_ x: Int?) -> JSON { x.map { .int($0) } ?? .null }
        return .object(JSONObject([
            ("layers", .int(config.numLayers)),
            ("batch_size", .int(batchSize)),
            ("seq_len", .int(seqLen)),
            ("mlp_chunk_tokens", .int(mlpChunkTokens)),
            ("window", .int(window)),
            ("resident_layers", .int(residentLayers)),
            ("model_level_on", .string(modelLevel.rawValue)),
            ("vocab_chunk_rows", .int(vocabChunkRows)),
            ("checkpoint_dtype", .string(checkpointType.rawValue)),
            ("fits", .bool(fits)),
            ("gpu_peak_bytes", .int(gpuPeakBytes)),
            ("host_peak_bytes", .int(hostPeakBytes)),
            ("pinned_host_bytes", .int(pinnedHostBytes)),
            ("pageable_host_bytes", .int(pageableHostBytes)),
            ("checkpoint_save_host_bytes", .int(checkpointSaveBytes)),
            ("gpu_budget_bytes", optional(gpuBudget)),
            ("host_budget_bytes", optional(hostBudget)),
            ("max_batch_size", optional(maxBatchSize)),
            ("gradient_landing_buffers", .int(gradientLandingBuffers)),
            ("deferred_gradients", .int(deferredGradients)),
            ("kept_attention_layers", .int(keptAttentionLayers)),
            ("problems", .array(problems.map { .string($0) })),
            ("gpu", items(gpuItems)),
            ("pinned_host", items(pinnedItems)),
            ("pageable_host", items(pageableItems)),
        ]))
    }
}
