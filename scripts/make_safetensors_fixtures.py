#!/usr/bin/env python3
"""Writes the safetensors test fixtures under Tests/Fixtures/safetensors with the Python
`safetensors` library (and transformers for the sharded model), plus the values the Swift
tests expect, read back through torch. Run from the repository root:

    python3 scripts/make_safetensors_fixtures.py
"""
import json
import os
import shutil

import torch
from safetensors.torch import save_file

OUT = "Tests/Fixtures/safetensors"


def floats(t):
    """fp32 values as Python floats (exact), for JSON."""
    return [float(v) for v in t.float().flatten().tolist()]


def mixed_dtypes():
    """One file holding BF16, F16 and F32 tensors with known values, incl. inf and subnormals."""
    base = torch.tensor([0.0, 1.0, -2.5, 3.14159265, 1e-3, -65504.0, 1e-7, 6e-8,
                         float("inf"), float("-inf"), 3.0e38, -0.0])
    tensors = {
        "bf16_vec": base.to(torch.bfloat16),
        "f16_vec": base.to(torch.float16),
        "f32_vec": base.clone(),
        "f32_matrix": torch.arange(6, dtype=torch.float32).reshape(2, 3) * 0.5 - 1,
        "bf16_scalar": torch.tensor(7.0).to(torch.bfloat16),
    }
    save_file(tensors, f"{OUT}/mixed.safetensors", metadata={"format": "pt"})
    expected = {name: {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape), "values": floats(t)}
                for name, t in tensors.items()}
    with open(f"{OUT}/mixed.expected.json", "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


def writer_reference():
    """The Python library's exact bytes for tensors the Swift writer test also produces:
    f32 values i*0.5, bf16 values bf16(i*0.1 - 3) (torch rounding), f16 bit patterns i*37."""
    def f32(n, shape):
        return (torch.arange(n, dtype=torch.float32) * 0.5).reshape(shape)

    def bf16(n, shape):
        return (torch.arange(n, dtype=torch.float32) * 0.1 - 3).to(torch.bfloat16).reshape(shape)

    def f16(n, shape):
        return (torch.arange(n, dtype=torch.int32) * 37).to(torch.int16).view(torch.float16).reshape(shape)

    tensors = {
        "model.layers.0.mlp.up_proj.weight": bf16(12, (3, 4)),
        "model.norm.weight": bf16(5, (5,)),
        "a.bias": f32(3, (3,)),
        "lm_head.weight": f32(8, (2, 4)),
        "half": f16(7, (7,)),
        "empty": f32(0, (0, 4)),
    }
    save_file(tensors, f"{OUT}/writer_reference.safetensors", metadata={"format": "pt"})


def sharded_model():
    """A tiny Llama saved by transformers in 3 shards (bf16), with the values the test expects."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=48, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                         tie_word_embeddings=False)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    path = f"{OUT}/sharded"
    shutil.rmtree(path, ignore_errors=True)
    model.save_pretrained(path, max_shard_size="4KB")
    for extra in ("generation_config.json",):
        if os.path.exists(f"{path}/{extra}"):
            os.remove(f"{path}/{extra}")
    expected = {name: {"shape": list(t.shape), "first": floats(t)[:4], "sum": float(t.double().sum())}
                for name, t in model.state_dict().items()}
    with open(f"{OUT}/sharded.expected.json", "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    mixed_dtypes()
    writer_reference()
    sharded_model()
