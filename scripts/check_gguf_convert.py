#!/usr/bin/env python3
"""Checks `slideformer convert --gguf` against transformers' own GGUF loader.

Converts a GGUF with the built binary, loads the folder with transformers, and compares with
`from_pretrained(dir, gguf_file=...)`, which dequantizes the same file itself:
  1. tensor names and shapes are the same;
  2. every weight is bitwise equal: both sides dequantize to float32 with ggml's formulas and
     round to bf16 to nearest-even, so any difference at all is a bug (tolerance 0);
  3. logits on a few prompts are then equal too (same weights, same CPU kernels);
  4. our tokenizer.json gives the same ids as transformers' GGUF tokenizer (see DIGITS below);
  5. greedy generation of "What is the capital of France?", with the chat template from OUR
     folder applied, answers "Paris".
Needs torch (CPU), transformers >= 5 and gguf. Exit status 0 only if every check passes.

Usage: scripts/check_gguf_convert.py [--binary .build/debug/slideformer] [--gguf FILE]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import gguf
import numpy as np
import torch
from tokenizers import pre_tokenizers
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):\n    return",
    "Once upon a time, in a small village,",
]
TOKENIZER_STRINGS = [
    "Hello world! How are you doing today?",
    "  leading spaces, trailing spaces   ",
    "<|im_start|>user\nWhat's up?<|im_end|>\n",
    "Unicode: café, naïve, 東京, emoji 🙂",
    "code: for (int i=0; i<n; ++i) { x += y; }",
]
# llama.cpp's "smollm" pre-tokenizer (like the original SmolLM2 tokenizer.json) splits every
# digit off; transformers' GGUF loader falls back to the plain GPT-2 split there. On strings
# with digits our ids are compared with transformers' tokenizer given that digit split.
DIGITS = ["In 2024 there were 12345 visitors and 3.14 pies.", "x1 = 42; y22 = 7"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/debug/slideformer"))
    parser.add_argument("--gguf", default=os.path.join(ROOT, ".cache/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
    args = parser.parse_args()
    failures = []

    def check(ok, what):
        print(("ok    " if ok else "FAIL  ") + what)
        if not ok:
            failures.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "hf")
        run = subprocess.run([args.binary, "convert", "--gguf", args.gguf, "--output", out], capture_output=True, text=True)
        print(run.stdout.strip(), run.stderr.strip())
        check(run.returncode == 0, "conversion exits 0")
        if run.returncode != 0:
            sys.exit(1)

        ours = AutoModelForCausalLM.from_pretrained(out, dtype=torch.bfloat16).eval()
        gguf_dir, gguf_name = os.path.split(args.gguf)
        ref = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=gguf_name, dtype=torch.bfloat16).eval()

        ours_sd, ref_sd = ours.state_dict(), ref.state_dict()
        check(sorted(ours_sd) == sorted(ref_sd), f"same {len(ref_sd)} parameter names")
        check(ours.config.tie_word_embeddings == ref.config.tie_word_embeddings, "same tie_word_embeddings")
        for key in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                    "num_key_value_heads", "vocab_size", "max_position_embeddings", "head_dim"):
            check(getattr(ours.config, key) == getattr(ref.config, key), f"config {key} = {getattr(ours.config, key)}")
        # The file stores eps as float32; we write that float32's shortest decimal (1e-05), transformers its
        # float64 widening (9.99999974e-06): the same float32.
        eps_same = torch.tensor(ours.config.rms_norm_eps, dtype=torch.float32) == torch.tensor(ref.config.rms_norm_eps, dtype=torch.float32)
        check(bool(eps_same), f"config rms_norm_eps {ours.config.rms_norm_eps} is the file's float32")
        worst = 0.0
        for name, ref_tensor in ref_sd.items():
            mine = ours_sd.get(name)
            if mine is None or mine.shape != ref_tensor.shape or mine.dtype != torch.bfloat16:
                check(False, f"tensor {name} present, same shape, bf16")
                continue
            worst = max(worst, (mine.float() - ref_tensor.float()).abs().max().item())
        check(worst == 0.0, f"all weights bitwise equal to transformers' dequantization (max |diff| {worst})")

        # The same by hand for the permuted tensors: gguf-py's dequantization, then llama.cpp's
        # permutation reversed as transformers' LlamaTensorProcessor does.
        reader = gguf.GGUFReader(args.gguf)
        heads, kv_heads = ours.config.num_attention_heads, ours.config.num_key_value_heads
        for tensor in reader.tensors:
            if tensor.name not in ("blk.0.attn_q.weight", "blk.0.attn_k.weight"):
                continue
            w = gguf.dequantize(tensor.data, tensor.tensor_type)
            n = heads if "attn_q" in tensor.name else kv_heads
            w = w.reshape(n, w.shape[0] // n // 2, 2, *w.shape[1:]).swapaxes(2, 1).reshape(w.shape)
            name = "model.layers.0.self_attn." + ("q_proj" if "attn_q" in tensor.name else "k_proj") + ".weight"
            same = torch.equal(torch.from_numpy(np.ascontiguousarray(w)).to(torch.bfloat16), ours_sd[name])
            check(same, f"{name} equals gguf.dequantize + reverse permute, rounded to bf16")

        ref_tok = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=gguf_name)
        our_tok = AutoTokenizer.from_pretrained(out)
        with torch.no_grad():
            for prompt in PROMPTS:
                ids = ref_tok(prompt, return_tensors="pt").input_ids
                diff = (ours(ids).logits.float() - ref(ids).logits.float()).abs().max().item()
                check(diff == 0.0, f"logits equal on {prompt!r} ({ids.shape[1]} tokens, max |diff| {diff})")

        for text in TOKENIZER_STRINGS:
            a, b = our_tok.encode(text), ref_tok.encode(text)
            check(a == b, f"token ids equal on {text!r} ({len(a)} tokens)")
        digit_split = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                               pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
        ref_tok.backend_tokenizer.pre_tokenizer = digit_split
        for text in DIGITS:
            a, b = our_tok.encode(text), ref_tok.encode(text)
            check(a == b, f"token ids equal on {text!r} with digits split one by one ({len(a)} tokens)")

        messages = [{"role": "user", "content": "What is the capital of France?"}]
        prompt = our_tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        ids = our_tok(prompt, return_tensors="pt").input_ids
        with torch.no_grad():
            generated = ours.generate(ids, max_new_tokens=24, do_sample=False, eos_token_id=our_tok.eos_token_id,
                                      pad_token_id=our_tok.pad_token_id)
        answer = our_tok.decode(generated[0, ids.shape[1]:], skip_special_tokens=True)
        print("answer:", repr(answer))
        check("Paris" in answer, "greedy answer mentions Paris")

    print("all checks passed" if not failures else f"{len(failures)} check(s) failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
