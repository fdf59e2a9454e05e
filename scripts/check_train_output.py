#!/usr/bin/env python3
"""Checks a `slideformer train` / `slideformer demo` output folder with transformers (not run in CI).

Loads the folder with AutoTokenizer and AutoModelForCausalLM (as a user would), checks that the
tokenizer encodes like ours, and compares transformers' mean target-token loss on a JSONL text file
(one document per row, truncated to --seq-len, labels = input ids) with `slideformer loss` on the
same rows (--no-pack --no-shuffle, batch 1).

    python3 scripts/check_train_output.py --binary .build/release/slideformer --output slideformer-demo \
        --data some.jsonl --seq-len 64
"""
import argparse
import json
import subprocess

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

parser = argparse.ArgumentParser()
parser.add_argument("--binary", required=True)
parser.add_argument("--output", required=True)
parser.add_argument("--data", required=True)
parser.add_argument("--seq-len", type=int, default=64)
args = parser.parse_args()

tokenizer = AutoTokenizer.from_pretrained(args.output)
model = AutoModelForCausalLM.from_pretrained(args.output, dtype=torch.float32)
model.eval()

ours_ids = subprocess.check_output([args.binary, "tokenize", "--tokenizer", args.output, "--input", args.data]).decode().splitlines()
with open(args.data) as f:
    theirs_ids = [tokenizer(json.loads(line)["text"])["input_ids"] for line in f]
assert [json.loads(l) for l in ours_ids] == theirs_ids, "tokenizer ids differ from transformers'"

total, count = 0.0, 0
with open(args.data) as f:
    for line in f:
        text = json.loads(line)["text"]
        ids = tokenizer(text)["input_ids"]
        if tokenizer.eos_token_id is not None and (not ids or ids[-1] != tokenizer.eos_token_id):
            ids.append(tokenizer.eos_token_id)
        ids = ids[: args.seq_len]
        x = torch.tensor([ids])
        with torch.no_grad():
            logits = model(x).logits.float()
        loss = torch.nn.functional.cross_entropy(logits[0, :-1], x[0, 1:], reduction="sum")
        total += loss.item()
        count += len(ids) - 1
reference = total / count

ours = json.loads(subprocess.check_output([
    args.binary, "loss", "--model", args.output, "--data", args.data, "--seq-len", str(args.seq_len),
    "--batch-size", "1", "--no-pack", "--no-shuffle"]))
print(f"transformers loss {reference:.6f} over {count} targets; slideformer loss {ours['loss']:.6f} over {ours['tokens']}")
assert ours["tokens"] == count, "target counts differ"
assert abs(ours["loss"] - reference) < 1e-4 * max(1.0, reference), "losses differ"
print("ok")
