#!/usr/bin/env python3
"""PyTorch + transformers twin of `slideformer train` for a `tokens`-format dataset.

Same command-line flags as `slideformer train` (those that apply), same semantics:

- Data (`--data-format tokens --no-shuffle --no-pack`, the only mode implemented here; both
  flags must be given so the two command lines read the same): each JSONL row
  {"input_ids": [...], "labels": [...]} (labels optional: a copy of the ids) is one row of the
  batch; labels[0] is set to -100 (a document's first token is never a target); rows longer
  than --seq-len are truncated, shorter ones padded right with the pad id (the tokenizer's pad,
  else its EOS, else 0; `--pad-id` overrides) and label -100. Micro-batch k holds rows
  kB .. kB+B-1; the epoch's last micro-batch is completed with all-padding rows; after it the
  next epoch starts again at row 0.
- Loss: Hugging Face label convention (the logits at t are scored against labels[t+1]); the
  loss of an optimizer step is sum of token cross-entropies over its --grad-accum
  micro-batches / the total count of target tokens of the whole step, so the gradient is the
  gradient of that mean. Logits are upcast to fp32 before the cross-entropy (as
  transformers' ForCausalLMLoss does).
- Optimizer: torch.optim.AdamW(betas, eps), weight decay only on tensors with >= 2 dims;
  clip_grad_norm_(max_norm) before the update (off when --max-grad-norm <= 0; the norm is
  still logged). Schedules: transformers' get_constant/linear/cosine_schedule_with_warmup,
  get_cosine_with_min_lr_schedule_with_warmup when --min-lr > 0, and for linear with
  --min-lr > 0 the same multiplier f*(1-r)+r, r = min_lr/lr, as a LambdaLR.
- Precision: `fp32` (everything fp32) or `bf16-autocast` (fp32 master weights, AdamW states
  and gradients; matmuls under torch.autocast(bfloat16)).

Writes OUTPUT/metrics.csv with `step,loss,lr,grad_norm,tokens,tokens_per_s,elapsed_s`
(loss = the step's mean before its update; lr = the rate its update used; grad_norm before
clipping; tokens = B*T*grad_accum positions), and with --save-model a bf16 HF folder.

Usage (the flags of the `slideformer train` run it is compared with):
  python3 scripts/torch_reference_train.py --model DIR --data tokens.jsonl --output OUT \
      --data-format tokens --no-shuffle --no-pack --seq-len 256 --batch-size 4 --max-steps 50
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
import transformers
from transformers import AutoModelForCausalLM

IGNORED = -100


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="Hugging Face model folder (config.json + safetensors)")
    p.add_argument("--data", required=True, help="tokens-format JSONL: {\"input_ids\": [...], \"labels\": [...]}")
    p.add_argument("--output", required=True, help="folder for metrics.csv (and the model with --save-model)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16-autocast"])
    p.add_argument("--seq-len", type=int, default=512)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--grad-accum", type=int, default=1)
    p.add_argument("--max-steps", type=int, required=True)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--min-lr", type=float, default=0.0)
    p.add_argument("--warmup-steps", type=int, default=0)
    p.add_argument("--schedule", default="cosine", choices=["constant", "linear", "cosine"])
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--beta1", type=float, default=0.9)
    p.add_argument("--beta2", type=float, default=0.999)
    p.add_argument("--eps", type=float, default=1e-8)
    p.add_argument("--max-grad-norm", type=float, default=1.0, help="<= 0: no clipping")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-shuffle", action="store_true", help="required: file order")
    p.add_argument("--no-pack", action="store_true", help="required: one row per micro-batch row")
    p.add_argument("--data-format", default="tokens", choices=["tokens"])
    p.add_argument("--log-every", type=int, default=1, help="print every N steps (metrics.csv has every step)")
    p.add_argument("--pad-id", type=int, default=None, help="padding id (default: tokenizer pad, else EOS, else 0)")
    p.add_argument("--attn-implementation", default="sdpa", choices=["sdpa", "eager"])
    p.add_argument("--save-model", action="store_true", help="also write the trained model (bf16) to OUTPUT")
    args = p.parse_args(argv)
    if not (args.no_shuffle and args.no_pack):
        p.error("this twin implements only file order without packing: pass --no-shuffle --no-pack")
    for name in ("seq_len", "batch_size", "grad_accum", "max_steps"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.seq_len < 2:
        p.error("--seq-len must be >= 2")
    if not 0 <= args.min_lr <= args.lr:
        p.error("--min-lr must lie in [0, --lr]")
    return args


def read_rows(path, vocab_size):
    """The dataset's documents as (input_ids, labels) lists, validated like our loader."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{line_no}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{where}: not JSON: {e}")
            ids = row.get("input_ids") if isinstance(row, dict) else None
            if not isinstance(ids, list) or not ids:
                sys.exit(f"{where}: \"input_ids\" must be a non-empty list")
            labels = row.get("labels", list(ids))
            if not isinstance(labels, list) or len(labels) != len(ids):
                sys.exit(f"{where}: \"labels\" must be a list aligned with \"input_ids\"")
            if any(not isinstance(t, int) or not 0 <= t < vocab_size for t in ids):
                sys.exit(f"{where}: an input id is outside the vocabulary (0..{vocab_size - 1})")
            if any(not isinstance(t, int) or (t != IGNORED and not 0 <= t < vocab_size) for t in labels):
                sys.exit(f"{where}: a label is neither -100 nor inside the vocabulary")
            labels = [IGNORED] + labels[1:]
            rows.append((ids, labels))
    if not rows:
        sys.exit(f"{path}: no rows")
    return rows


class MicroBatches:
    """Micro-batch k of an epoch = rows kB..kB+B-1, truncated/padded to T; epochs repeat."""

    def __init__(self, rows, batch_size, seq_len, pad_id):
        self.rows, self.B, self.T, self.pad_id = rows, batch_size, seq_len, pad_id
        self.per_epoch = (len(rows) + batch_size - 1) // batch_size
        self.index = 0

    def next(self):
        k = self.index % self.per_epoch
        self.index += 1
        ids = torch.full((self.B, self.T), self.pad_id, dtype=torch.long)
        labels = torch.full((self.B, self.T), IGNORED, dtype=torch.long)
        for b, (row_ids, row_labels) in enumerate(self.rows[k * self.B:(k + 1) * self.B]):
            n = min(len(row_ids), self.T)
            ids[b, :n] = torch.tensor(row_ids[:n])
            labels[b, :n] = torch.tensor(row_labels[:n])
        return ids, labels


def target_count(labels):
    return int((labels[:, 1:] != IGNORED).sum())


def resolve_pad_id(args, model):
    if args.pad_id is not None:
        return args.pad_id
    try:
        tok = transformers.AutoTokenizer.from_pretrained(args.model)
        for cand in (tok.pad_token_id, tok.eos_token_id):
            if cand is not None:
                return int(cand)
    except Exception:  # noqa: BLE001  (no tokenizer files: fall back to config.json)
        pass
    for cand in (model.config.pad_token_id, model.config.eos_token_id):
        if isinstance(cand, list):
            cand = cand[0] if cand else None
        if cand is not None:
            return int(cand)
    return 0


def make_optimizer(args, model):
    decay, no_decay = [], []
    for p in model.parameters():  # parameters() yields a tied weight once
        if p.requires_grad:
            (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": args.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=args.lr, betas=(args.beta1, args.beta2), eps=args.eps)


def make_schedule(args, opt):
    W, N = args.warmup_steps, args.max_steps
    opt_mod = transformers.optimization
    if args.schedule == "constant":
        return opt_mod.get_constant_schedule_with_warmup(opt, W)
    if args.schedule == "cosine":
        if args.min_lr > 0:
            return opt_mod.get_cosine_with_min_lr_schedule_with_warmup(opt, W, N, min_lr=args.min_lr)
        return opt_mod.get_cosine_schedule_with_warmup(opt, W, N)
    if args.min_lr == 0:
        return opt_mod.get_linear_schedule_with_warmup(opt, W, N)
    r = args.min_lr / args.lr

    def linear_with_floor(s):
        if s < W:
            return s / max(1, W)
        return max(0.0, (N - s) / max(1, N - W)) * (1 - r) + r
    return torch.optim.lr_scheduler.LambdaLR(opt, linear_with_floor)


def micro_batch_loss_sum(model, ids, labels, args):
    """Sum of the token cross-entropies of one micro-batch (fp32)."""
    with torch.autocast(device_type=args.device, dtype=torch.bfloat16,
                        enabled=args.precision == "bf16-autocast"):
        logits = model(input_ids=ids).logits
    logits = logits.float()[:, :-1, :]
    targets = labels[:, 1:]
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1),
                           ignore_index=IGNORED, reduction="sum")


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    model = AutoModelForCausalLM.from_pretrained(
        args.model, dtype=torch.float32, attn_implementation=args.attn_implementation).to(device)
    model.config.use_cache = False
    model.train()
    rows = read_rows(args.data, model.config.vocab_size)
    batches = MicroBatches(rows, args.batch_size, args.seq_len, resolve_pad_id(args, model))
    opt = make_optimizer(args, model)
    sched = make_schedule(args, opt)
    params = [p for p in model.parameters() if p.requires_grad]
    max_norm = args.max_grad_norm if args.max_grad_norm > 0 else math.inf

    os.makedirs(args.output, exist_ok=True)
    metrics_path = os.path.join(args.output, "metrics.csv")
    lines = ["step,loss,lr,grad_norm,tokens,tokens_per_s,elapsed_s"]
    n_params = sum(p.numel() for p in params)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, {args.device}, {args.precision}; "
          f"{n_params / 1e6:.1f} M parameters; {len(rows)} rows, {batches.per_epoch} micro-batches per epoch",
          flush=True)
    start = time.perf_counter()
    for step in range(1, args.max_steps + 1):
        t0 = time.perf_counter()
        micro = [batches.next() for _ in range(args.grad_accum)]
        total_targets = sum(target_count(labels) for _, labels in micro)
        denom = max(1, total_targets)  # an all-padding step: loss 0, zero gradient
        lr = sched.get_last_lr()[0]
        loss = 0.0
        for ids, labels in micro:
            part = micro_batch_loss_sum(model, ids.to(device), labels.to(device), args) / denom
            part.backward()
            loss += float(part.detach())
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        now = time.perf_counter()
        tokens = args.batch_size * args.seq_len * args.grad_accum
        lines.append(f"{step},{loss!r},{lr!r},{grad_norm!r},{tokens},{tokens / (now - t0)!r},{now - start!r}")
        if step % args.log_every == 0 or step == args.max_steps:
            print(f"step {step}: loss {loss:.6f}, lr {lr:.3e}, grad norm {grad_norm:.4f}, "
                  f"{tokens / (now - t0):,.0f} tok/s", flush=True)
    tmp = metrics_path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, metrics_path)
    if args.save_model:
        model.to(torch.bfloat16).save_pretrained(args.output)
    print(f"wrote {metrics_path}")


if __name__ == "__main__":
    main()
