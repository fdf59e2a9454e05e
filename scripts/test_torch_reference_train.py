#!/usr/bin/env python3
"""Checks scripts/torch_reference_train.py on a tiny random Llama, on the CPU (seconds).

1. Step 1's loss equals transformers' own loss (model(input_ids, labels) with
   num_items_in_batch = the step's target count, summed over micro-batches).
2. Gradient accumulation is normalized over the whole step: B=4 x accum 1 and B=2 x accum 2
   over the same rows give the same losses and gradient norms at every step.
3. The logged lr follows the schedule (cosine with min lr, warm-up), the last micro-batch of an
   epoch is completed with padding, and epochs repeat (a 5-row file, B=2, 6 steps).
4. A hand-written AdamW (torch.optim.AdamW's formulas, decay on >= 2-D tensors only, global-norm
   clipping) reproduces the twin's step-2 loss.
5. bf16-autocast runs and stays close to fp32 (loose: bf16 rounding).
Usage: python scripts/test_torch_reference_train.py
"""
import csv
import json
import math
import os
import sys
import tempfile

import torch
import torch.nn.functional as F
from transformers import LlamaConfig, LlamaForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_reference_train as twin  # noqa: E402

VOCAB, T = 97, 16


def tiny_model(folder):
    cfg = LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, vocab_size=VOCAB, max_position_embeddings=64,
                      tie_word_embeddings=False, pad_token_id=0, eos_token_id=1, bos_token_id=2)
    torch.manual_seed(1)
    LlamaForCausalLM(cfg).save_pretrained(folder)


def dataset(path, n_rows):
    g = torch.Generator().manual_seed(2)
    with open(path, "w") as f:
        for i in range(n_rows):
            n = int(torch.randint(4, T + 6, (1,), generator=g))  # some rows longer than T
            ids = torch.randint(3, VOCAB, (n,), generator=g).tolist()
            labels = [-100 if j < n // 3 else t for j, t in enumerate(ids)]  # a masked prompt
            f.write(json.dumps({"input_ids": ids, "labels": labels}) + "\n")


def run(folder, data, out, *extra):
    twin.main(["--model", folder, "--data", data, "--output", out, "--seq-len", str(T), "--no-shuffle",
               "--no-pack", "--lr", "1e-2", "--weight-decay", "0.1", "--max-grad-norm", "0.5", *extra])
    with open(os.path.join(out, "metrics.csv")) as f:
        return list(csv.DictReader(f))


def close(a, b, rel):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-12)


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        check.failed = True


check.failed = False


def micro_batches(data, B, steps):
    rows = twin.read_rows(data, VOCAB)
    mb = twin.MicroBatches(rows, B, T, 0)
    return [mb.next() for _ in range(steps)], mb


def main():
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        folder, data = os.path.join(tmp, "model"), os.path.join(tmp, "data.jsonl")
        tiny_model(folder)
        dataset(data, 16)

        # 1 + 2
        a = run(folder, data, os.path.join(tmp, "a"), "--batch-size", "4", "--grad-accum", "1",
                "--max-steps", "4", "--schedule", "constant")
        b = run(folder, data, os.path.join(tmp, "b"), "--batch-size", "2", "--grad-accum", "2",
                "--max-steps", "4", "--schedule", "constant")
        model = LlamaForCausalLM.from_pretrained(folder, dtype=torch.float32)
        (ids0, lab0), = micro_batches(data, 4, 1)[0]
        hf = model(input_ids=ids0, labels=lab0, num_items_in_batch=twin.target_count(lab0)).loss.detach()
        check(close(float(a[0]["loss"]), float(hf), 1e-6), f"step-1 loss {a[0]['loss']} = transformers' {float(hf)}")
        check(all(close(float(x["loss"]), float(y["loss"]), 1e-5) for x, y in zip(a, b)),
              "4x1 and 2x2 accumulation: same losses " + str([(x["loss"], y["loss"]) for x, y in zip(a, b)]))
        check(all(close(float(x["grad_norm"]), float(y["grad_norm"]), 1e-5) for x, y in zip(a, b)),
              "4x1 and 2x2 accumulation: same grad norms")
        check(all(int(x["tokens"]) == 4 * T for x in a), "tokens = B*T*accum")

        # 3
        dataset(os.path.join(tmp, "five.jsonl"), 5)
        c = run(folder, os.path.join(tmp, "five.jsonl"), os.path.join(tmp, "c"), "--batch-size", "2",
                "--max-steps", "6", "--schedule", "cosine", "--warmup-steps", "2", "--min-lr", "1e-3")
        want = [0.0, 0.5e-2] + [1e-2 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (s - 2) / 4))) for s in range(2, 6)]
        check(all(close(float(r["lr"]), w, 1e-9) or (w == 0 and float(r["lr"]) == 0) for r, w in zip(c, want)),
              f"cosine/min-lr/warm-up lr {[r['lr'] for r in c]}")
        mbs, mb = micro_batches(os.path.join(tmp, "five.jsonl"), 2, 4)
        check(mb.per_epoch == 3 and bool((mbs[2][1][1] == -100).all()) and bool((mbs[2][0][1] == 0).all())
              and torch.equal(mbs[3][0], mbs[0][0]), "epoch end padded with an all-padding row; epochs repeat")
        check(bool((mbs[0][1][:, 0] == -100).all()), "labels[0] of every row is -100")

        # 4: hand-written AdamW + clipping, two steps, B=4, no accumulation
        lr, wd, b1, b2, eps, max_norm = 1e-2, 0.1, 0.9, 0.999, 1e-8, 0.5
        model = LlamaForCausalLM.from_pretrained(folder, dtype=torch.float32)
        params = list(model.parameters())
        m = [torch.zeros_like(p) for p in params]
        v = [torch.zeros_like(p) for p in params]
        (batches, _) = micro_batches(data, 4, 2)
        losses = []
        for s, (ids, lab) in enumerate(batches, 1):
            logits = model(input_ids=ids).logits[:, :-1]
            loss = F.cross_entropy(logits.reshape(-1, VOCAB), lab[:, 1:].reshape(-1), reduction="sum") / twin.target_count(lab)
            losses.append(float(loss))
            grads = torch.autograd.grad(loss, params)
            norm = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))
            coef = min(1.0, max_norm / (norm + 1e-6))
            with torch.no_grad():
                for p, g, mi, vi in zip(params, grads, m, v):
                    g = g * coef
                    if p.dim() >= 2:
                        p.mul_(1 - lr * wd)
                    mi.mul_(b1).add_(g, alpha=1 - b1)
                    vi.mul_(b2).addcmul_(g, g, value=1 - b2)
                    denom = (vi / (1 - b2 ** s)).sqrt() + eps
                    p.sub_(lr * (mi / (1 - b1 ** s)) / denom)
        check(close(losses[1], float(a[1]["loss"]), 1e-5), f"hand AdamW step-2 loss {losses[1]} = twin {a[1]['loss']}")

        # 5
        d = run(folder, data, os.path.join(tmp, "d"), "--batch-size", "4", "--max-steps", "2",
                "--schedule", "constant", "--precision", "bf16-autocast")
        check(close(float(d[0]["loss"]), float(a[0]["loss"]), 2e-2), f"bf16-autocast step-1 loss {d[0]['loss']} ~ fp32")
    sys.exit(1 if check.failed else 0)


if __name__ == "__main__":
    main()
