#!/usr/bin/env python3
"""Checks that folders saved by our Swift code load in transformers with the right weights.

Builds tiny random fp32 models of each family with transformers, has the Swift test
ModelWeightsTests.testRoundTripThroughTransformers load and re-save them (bf16 and sharded
fp32), then loads every saved folder with AutoModelForCausalLM.from_pretrained and compares:
fp32 must be bit-identical, bf16 must equal torch's own fp32→bf16 rounding, and the logits of
the fp32 copy must equal the original's. Not run in CI (needs torch). From the repository root:

    python3 scripts/check_safetensors_roundtrip.py
"""
import os
import subprocess
import sys
import tempfile

import torch
from transformers import (AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, MistralConfig,
                          MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

TINY = dict(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128)

MODELS = {
    "llama3-tied": (LlamaForCausalLM, LlamaConfig(**TINY, tie_word_embeddings=True, attention_bias=True, mlp_bias=True,
                                                  rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0,
                                                                   "factor": 8.0, "low_freq_factor": 1.0,
                                                                   "high_freq_factor": 4.0,
                                                                   "original_max_position_embeddings": 64})),
    "qwen2": (Qwen2ForCausalLM, Qwen2Config(**TINY, tie_word_embeddings=True)),
    "qwen3": (Qwen3ForCausalLM, Qwen3Config(**TINY, head_dim=16)),
    "mistral": (MistralForCausalLM, MistralConfig(**TINY, sliding_window=64)),
}


def main():
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        src, out = f"{tmp}/in", f"{tmp}/out"
        originals = {}
        for name, (cls, config) in MODELS.items():
            model = cls(config).eval()
            with torch.no_grad():  # non-trivial norms and biases so every tensor is tested
                for n, p in model.named_parameters():
                    if p.dim() == 1:
                        p.copy_(torch.randn_like(p) * 0.1 + (1.0 if "norm" in n else 0.0))
            model.save_pretrained(f"{src}/{name}")
            originals[name] = model
        env = dict(os.environ, SLIDEFORMER_ROUNDTRIP_IN=src, SLIDEFORMER_ROUNDTRIP_OUT=out)
        subprocess.run(["swift", "test", "--filter", "ModelWeightsTests.testRoundTripThroughTransformers"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        failures = 0
        tokens = torch.randint(0, TINY["vocab_size"], (2, 40))
        for name, original in originals.items():
            ref = original.state_dict()
            for variant in ("bf16", "f32"):
                folder = f"{out}/{name}-{variant}"
                loaded = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
                state = loaded.state_dict()
                bad = [k for k in ref if k not in state]
                for k, v in ref.items():
                    want = v if variant == "f32" else v.to(torch.bfloat16).float()
                    if k in state and not torch.equal(state[k], want):
                        bad.append(k)
                tied = loaded.lm_head.weight.data_ptr() == loaded.model.embed_tokens.weight.data_ptr()
                if tied != original.config.tie_word_embeddings:
                    bad.append("tying")
                with torch.no_grad():
                    same_logits = torch.equal(loaded(tokens).logits, original(tokens).logits) if variant == "f32" else True
                files = sorted(os.listdir(folder))
                ok = not bad and same_logits
                failures += not ok
                print(f"{name:12s} {variant:5s} {'OK ' if ok else 'BAD'} tensors={len(ref)} mismatched={bad} "
                      f"logits_equal={same_logits} files={files}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
