#!/usr/bin/env python3
"""Writes config.json fixtures (Tests/Fixtures/configs/<name>.json) and what transformers makes
of them (Tests/Fixtures/configs/expected.json): sizes, head_dim, defaults, RoPE, tying, and which
biases / q-k norms / sliding windows the instantiated model really has. Run from the repository
root:  python3 scripts/make_config_fixtures.py
"""
import json
import os

import torch
from transformers import (AutoConfig, AutoModelForCausalLM, LlamaConfig, MistralConfig, Qwen2Config,
                          Qwen3Config)

OUT = "Tests/Fixtures/configs"
TINY = dict(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4)


def saved(name, config):
    """config.json exactly as save_pretrained writes it."""
    path = f"{OUT}/{name}"
    os.makedirs(path, exist_ok=True)
    config.save_pretrained(path)
    os.replace(f"{path}/config.json", f"{OUT}/{name}.json")
    os.rmdir(path)


def handwritten(name, obj):
    """Older (transformers 4) layouts as found on the Hub: rope_theta and rope_scaling at top level."""
    with open(f"{OUT}/{name}.json", "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def expected_fields(path):
    """What transformers builds from the file: read from the config and a meta-device model."""
    config = AutoConfig.from_pretrained(path)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    attn = model.model.layers[0].self_attn
    mlp = model.model.layers[0].mlp
    rope = dict(config.rope_parameters)
    rope_type = rope.get("rope_type", "default")
    windows = {getattr(layer.self_attn, "sliding_window", None) for layer in model.model.layers}
    if config.model_type == "mistral":
        windows = {config.sliding_window}
    windows.discard(None)
    eos = config.eos_token_id
    return {
        "model_type": config.model_type,
        "hidden_size": config.hidden_size,
        "intermediate_size": config.intermediate_size,
        "num_hidden_layers": config.num_hidden_layers,
        "num_attention_heads": config.num_attention_heads,
        "num_key_value_heads": config.num_key_value_heads,
        "head_dim": attn.head_dim,
        "vocab_size": config.vocab_size,
        "rms_norm_eps": model.model.norm.variance_epsilon,
        "rope_theta": float(rope["rope_theta"]),
        "rope_type": rope_type,
        "rope_factor": rope.get("factor"),
        "low_freq_factor": rope.get("low_freq_factor"),
        "high_freq_factor": rope.get("high_freq_factor"),
        "original_max_position_embeddings": rope.get("original_max_position_embeddings") if rope_type == "llama3" else None,
        "max_position_embeddings": config.max_position_embeddings,
        "tie_word_embeddings": model.lm_head.weight is model.model.embed_tokens.weight
        or bool(config.tie_word_embeddings),
        "qkv_bias": attn.q_proj.bias is not None,
        "o_bias": attn.o_proj.bias is not None,
        "mlp_bias": mlp.gate_proj.bias is not None,
        "qk_norm": hasattr(attn, "q_norm"),
        "sliding_window": min(windows) if windows else None,
        "bos_token_id": config.bos_token_id,
        "eos_token_ids": [] if eos is None else (list(eos) if isinstance(eos, (list, tuple)) else [eos]),
        "padding_idx": model.model.embed_tokens.padding_idx,
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    saved("llama3_scaled", LlamaConfig(**TINY, num_key_value_heads=2, tie_word_embeddings=True,
                                       max_position_embeddings=256, bos_token_id=1, eos_token_id=[2, 3],
                                       rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                                                        "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                        "original_max_position_embeddings": 128}))
    saved("llama_bias", LlamaConfig(**TINY, attention_bias=True, mlp_bias=True, head_dim=16, pad_token_id=0,
                                    rope_parameters={"rope_type": "linear", "rope_theta": 10000.0, "factor": 2.0}))
    saved("qwen2", Qwen2Config(**TINY, num_key_value_heads=2))
    saved("qwen3", Qwen3Config(**TINY, num_key_value_heads=2, head_dim=16, attention_bias=True))
    saved("mistral", MistralConfig(**TINY, num_key_value_heads=2))
    saved("mistral_no_window", MistralConfig(**TINY, num_key_value_heads=1, sliding_window=None, head_dim=12))
    handwritten("qwen2_legacy", {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 32, "intermediate_size": 48,
        "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 64,
        "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "rope_scaling": None, "max_position_embeddings": 512,
        "tie_word_embeddings": True, "use_sliding_window": True, "sliding_window": 128, "max_window_layers": 1,
        "hidden_act": "silu", "torch_dtype": "bfloat16", "bos_token_id": 151643, "eos_token_id": 151645})
    handwritten("llama_legacy_minimal", {
        "model_type": "llama", "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 1,
        "num_attention_heads": 4, "vocab_size": 64, "rope_theta": 100000.0,
        "rope_scaling": {"type": "linear", "factor": 4.0}})
    handwritten("qwen3_defaults", {
        "model_type": "qwen3", "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 1,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 64, "pad_token_id": -1})
    names = sorted(n[:-5] for n in os.listdir(OUT) if n.endswith(".json") and n != "expected.json")
    expected = {n: expected_fields(f"{OUT}/{n}.json") for n in names}
    with open(f"{OUT}/expected.json", "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
