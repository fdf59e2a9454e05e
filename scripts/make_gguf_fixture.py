#!/usr/bin/env python3
"""Writes Tests/Fixtures/gguf/dequant.gguf: for each tensor type the converter decodes
(F32, F16, BF16, Q8_0, Q4_0, Q4_1), `values.<TYPE>` holds seeded random floats encoded with
gguf-py's quantizer and `expected.<TYPE>` (F32) holds gguf-py's dequantization of those exact
bytes, the oracle the Swift decoder must match bit for bit. It also carries one metadata key of
every GGUF value type (the `fixture.*` keys) for the reader test, and `rope_freqs.llama3`: the
per-frequency divisors of Llama 3.2's rope scaling (factor 32, head_dim 128, theta 500000) as
transformers computes them, which is what llama.cpp stores as `rope_freqs.weight`.

Usage: scripts/make_gguf_fixture.py   (needs numpy, gguf, torch and transformers)
"""
import os

import numpy as np
import gguf
import torch
from transformers import LlamaConfig
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
from gguf import GGMLQuantizationType as T

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests/Fixtures/gguf/dequant.gguf")

rng = np.random.default_rng(1234)
writer = gguf.GGUFWriter(OUT, arch="fixture")
writer.add_uint8("fixture.u8", 200)
writer.add_int8("fixture.i8", -100)
writer.add_uint16("fixture.u16", 60000)
writer.add_int16("fixture.i16", -30000)
writer.add_uint32("fixture.u32", 4_000_000_000)
writer.add_int32("fixture.i32", -2_000_000_000)
writer.add_float32("fixture.f32", 1e-5)
writer.add_uint64("fixture.u64", 2**63 + 5)
writer.add_int64("fixture.i64", -(2**62))
writer.add_float64("fixture.f64", 0.1)
writer.add_bool("fixture.bool", True)
writer.add_string("fixture.string", "héllo ✓")
writer.add_array("fixture.strings", ["a", "", "ü b"])
writer.add_array("fixture.ints", [3, -1, 7])

for qtype in (T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1):
    values = rng.standard_normal((2, 64)).astype(np.float32) * np.float32(0.05)
    values[0, :32] = 0.0       # an all-zero block (scale 0)
    values[1, 5] = 3.0         # an outlier that sets its block's scale
    if qtype == T.F32:
        encoded = values
    elif qtype == T.F16:
        encoded = values.astype(np.float16)
    else:
        encoded = gguf.quants.quantize(values, qtype)
    expected = gguf.quants.dequantize(encoded, qtype).astype(np.float32).reshape(values.shape)
    writer.add_tensor(f"values.{qtype.name}", encoded, raw_dtype=qtype)
    writer.add_tensor(f"expected.{qtype.name}", expected)

config = LlamaConfig(hidden_size=4096, num_attention_heads=32, head_dim=128, rope_theta=500000.0,
                     max_position_embeddings=131072,
                     rope_scaling={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                   "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})
scaled, _ = ROPE_INIT_FUNCTIONS["llama3"](config, "cpu")
unscaled = 1.0 / (500000.0 ** (torch.arange(0, 128, 2, dtype=torch.int64).float() / 128))
writer.add_tensor("rope_freqs.llama3", (unscaled / scaled).numpy().astype(np.float32))

writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()
print(OUT, os.path.getsize(OUT), "bytes")
