import Support

extension StepTelemetry {
    /// Keys with units: `step_ms`, `gpu_busy_fraction`, `compute_ms`, `h2d_ms`, `d2h_ms`,
    /// `adamw_ms`, `h2d_bytes`, `d2h_bytes`, `h2d_gb_per_s`, `d2h_gb_per_s`,
    /// `exposed_h2d_ms`, `exposed_d2h_ms`, `exposed_adamw_ms`, `exposed_other_ms`.
    public var json: JSON {
        .object(JSONObject([
            ("step", .int(step)), ("step_ms", .double(stepMilliseconds)), ("gpu_busy_fraction", .double(gpuBusyFraction)),
            ("compute_ms", .double(computeMilliseconds)), ("h2d_ms", .double(hostToDeviceMilliseconds)),
            ("d2h_ms", .double(deviceToHostMilliseconds)), ("adamw_ms", .double(optimizerMilliseconds)),
            ("h2d_bytes", .int(hostToDeviceBytes)), ("d2h_bytes", .int(deviceToHostBytes)),
            ("h2d_gb_per_s", .double(hostToDeviceGBps)), ("d2h_gb_per_s", .double(deviceToHostGBps)),
            ("exposed_h2d_ms", .double(exposedHostToDeviceMilliseconds)),
            ("exposed_d2h_ms", .double(exposedDeviceToHostMilliseconds)),
            ("exposed_adamw_ms", .double(exposedOptimizerMilliseconds)),
            ("exposed_other_ms", .double(exposedOtherMilliseconds)),
        ]))
    }
}

extension StepBounds {
    /// Keys with units; bounds not measured are null.
    public var json: JSON {
        func optional(_ x: Double?) -> JSON { x.map { .double($0) } ?? .null }
        return .object(JSONObject([
            ("compute_only_ms", optional(computeOnlyMilliseconds)), ("adamw_ms", .double(optimizerMilliseconds)),
            ("pcie_ms", optional(transferMilliseconds)), ("max_ms", .double(maxMilliseconds)),
            ("host_memory_ms", .double(hostMemoryMilliseconds)),
            ("adamw_bytes", .int(optimizerBytes)), ("memcpy_gb_per_s", .double(memcpyBytesPerSecond / 1e9)),
            ("h2d_bytes", .int(hostToDeviceBytes)), ("d2h_bytes", .int(deviceToHostBytes)),
            ("pinned_h2d_gb_per_s", optional(pinnedHostToDeviceBytesPerSecond.map { $0 / 1e9 })),
            ("pinned_d2h_gb_per_s", optional(pinnedDeviceToHostBytesPerSecond.map { $0 / 1e9 })),
        ]))
    }
}

extension SlidingWindowBenchmark.Result {
    /// The whole result: shape, throughput, mean telemetry, bounds, the step / bound ratio and the
    /// per-op profile when one was asked for.
    public var json: JSON {
        .object(JSONObject([
            ("parameters", .int(parameters)), ("host_adamw_parameters", .int(hostOptimizerParameters)),
            ("tokens_per_step", .int(tokensPerStep)), ("window", .int(window)),
            ("checkpoint_dtype", .string(plan.checkpointType.rawValue)),
            ("ms_per_step", .double(secondsPerStep * 1e3)), ("tokens_per_s", .double(tokensPerSecond)),
            ("tflops_6n", .double(tflops[0].value)), ("tflops_6n_attn", .double(tflops[1].value)),
            ("tflops_megatron", .double(tflops[2].value)), ("last_loss", .double(lastLoss)),
            ("telemetry", telemetry.json), ("bounds", bounds.json),
            ("compute_only_note", computeOnlyNote.map { .string($0) } ?? .null),
            ("step_over_max_bound", .double(ratio)),
            ("gpu_pool_peak_bytes", peakPoolBytes.map { .int($0) } ?? .null),
            ("host_rss_peak_bytes", peakResidentBytes.map { .int($0) } ?? .null),
            ("plan_gpu_peak_bytes", .int(plan.gpuPeakBytes)), ("plan_host_peak_bytes", .int(plan.hostPeakBytes)),
            ("profile", profile.map { ops in .array(ops.map { o in
                .object(JSONObject([("op", .string(o.op)), ("ms", .double(o.milliseconds)), ("calls", .int(o.calls))]))
            }) } ?? .null),
        ]))
    }
}
