#!/usr/bin/env python3
"""Reference values for the optimizer tests, computed by torch.optim.AdamW,
torch.nn.utils.clip_grad_norm_ and transformers' LR schedulers (CPU, fp32).

Writes Tests/Fixtures/optim/:
  adamw.safetensors  per run R: R.init.T (initial params), R.grad.K.T (raw gradient of step K,
                     before clipping), R.param.K.T (params after step K), R.exp_avg.T,
                     R.exp_avg_sq.T (final moments); bf16_cases.f32 / bf16_cases.bf16: special
                     values (ties, infinities, NaN, subnormals) and torch's bf16 conversion of
                     them. All F32 or BF16 (readable by ModelFormats' SafeTensorsFile).
  adamw.json         per run: hyperparameters, schedule, max_grad_norm, tensors (name, shape,
                     decays, buffer), and per step: lr, total_norm (clip_grad_norm_'s return),
                     clip_coef (the fp32 multiplier torch applied)
  schedules.json     learning rates a LambdaLR from transformers gives at steps 0..total+2

Tensors: "w" [37, 29] decays; "b" [45] and "n" [130] do not (1-D). "w" and "b" form flat
buffer 0, "n" buffer 1 (so the clipping norm spans two buffers). Usage:
  python scripts/make_optim_reference.py
"""
import json
import math
import os

import torch
from safetensors.torch import save_file
from transformers.optimization import (
    get_constant_schedule_with_warmup,
    get_cosine_schedule_with_warmup,
    get_cosine_with_min_lr_schedule_with_warmup,
    get_linear_schedule_with_warmup,
)

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "optim")
TENSORS = [("w", [37, 29], 0), ("b", [45], 0), ("n", [130], 1)]
STEPS = 5
# Gradient magnitude per step: with max_norm 1 the clipping is active at steps 0, 2 and 4
# (norms ~35, ~18, ~70) and inactive at 1 and 3 (norms ~0.35, ~0.7).
GRAD_SCALES = [1.0, 0.01, 0.5, 0.02, 2.0]

RUNS = [
    dict(name="linear", lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1, max_grad_norm=1.0,
         schedule=dict(kind="linear", warmup_steps=2, total_steps=5, min_lr=0.0)),
    dict(name="cosine_min_lr", lr=1e-2, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.05, max_grad_norm=1.0,
         schedule=dict(kind="cosine", warmup_steps=1, total_steps=5, min_lr=1e-3)),
    dict(name="constant", lr=3e-3, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.0, max_grad_norm=0.0,
         schedule=dict(kind="constant", warmup_steps=1, total_steps=5, min_lr=0.0)),
]


def make_scheduler(opt, s):
    if s["kind"] == "constant":
        return get_constant_schedule_with_warmup(opt, s["warmup_steps"])
    if s["kind"] == "linear":
        return get_linear_schedule_with_warmup(opt, s["warmup_steps"], s["total_steps"])
    if s["min_lr"] > 0:
        return get_cosine_with_min_lr_schedule_with_warmup(opt, s["warmup_steps"], s["total_steps"], min_lr=s["min_lr"])
    return get_cosine_schedule_with_warmup(opt, s["warmup_steps"], s["total_steps"])


def run_adamw(run, seed, tensors, meta):
    g = torch.Generator().manual_seed(seed)
    params = {n: torch.nn.Parameter(torch.randn(shape, generator=g)) for n, shape, _ in TENSORS}
    for n in params:
        tensors[f"{run['name']}.init.{n}"] = params[n].detach().clone()
    decay = [p for n, p in params.items() if p.dim() >= 2]
    no_decay = [p for n, p in params.items() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [dict(params=decay, weight_decay=run["weight_decay"]), dict(params=no_decay, weight_decay=0.0)],
        lr=run["lr"], betas=run["betas"], eps=run["eps"])
    sched = make_scheduler(opt, run["schedule"])
    steps = []
    for k in range(STEPS):
        for n, p in params.items():
            grad = torch.randn(p.shape, generator=g) * GRAD_SCALES[k]
            tensors[f"{run['name']}.grad.{k}.{n}"] = grad.clone()
            p.grad = grad
        lr = opt.param_groups[0]["lr"]
        if run["max_grad_norm"] > 0:
            total = torch.nn.utils.clip_grad_norm_(list(params.values()), run["max_grad_norm"])
            coef = torch.clamp(run["max_grad_norm"] / (total + 1e-6), max=1.0)
        else:
            total = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in params.values()))
            coef = torch.tensor(1.0)
        opt.step()
        sched.step()
        for n, p in params.items():
            tensors[f"{run['name']}.param.{k}.{n}"] = p.detach().clone()
        steps.append(dict(lr=lr, total_norm=float(total), clip_coef=float(coef.float())))
    for n, p in params.items():
        st = opt.state[p]
        assert float(st["step"]) == STEPS
        tensors[f"{run['name']}.exp_avg.{n}"] = st["exp_avg"].clone()
        tensors[f"{run['name']}.exp_avg_sq.{n}"] = st["exp_avg_sq"].clone()
    meta.append(dict(
        name=run["name"], lr=run["lr"], beta1=run["betas"][0], beta2=run["betas"][1], eps=run["eps"],
        weight_decay=run["weight_decay"], max_grad_norm=run["max_grad_norm"], schedule=run["schedule"],
        tensors=[dict(name=n, shape=shape, decays=len(shape) >= 2, buffer=buf) for n, shape, buf in TENSORS],
        steps=steps))


SCHEDULES = [
    dict(kind="constant", peak=1e-3, warmup_steps=0, total_steps=10, min_lr=0.0),
    dict(kind="constant", peak=1e-3, warmup_steps=4, total_steps=10, min_lr=0.0),
    dict(kind="linear", peak=2e-4, warmup_steps=0, total_steps=30, min_lr=0.0),
    dict(kind="linear", peak=2e-4, warmup_steps=7, total_steps=30, min_lr=0.0),
    dict(kind="cosine", peak=5e-5, warmup_steps=0, total_steps=40, min_lr=0.0),
    dict(kind="cosine", peak=5e-5, warmup_steps=6, total_steps=40, min_lr=0.0),
    dict(kind="cosine", peak=1e-4, warmup_steps=5, total_steps=37, min_lr=1e-5),
    dict(kind="cosine", peak=3e-4, warmup_steps=0, total_steps=3, min_lr=3e-5),
]


def schedule_values(s):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=s["peak"])
    sched = make_scheduler(opt, s)
    lrs = []
    for _ in range(s["total_steps"] + 3):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return dict(s, lrs=lrs)


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    tensors, meta = {}, []
    for i, run in enumerate(RUNS):
        run_adamw(run, 1000 + i, tensors, meta)
    ties = [1 + 2**-8, 1 + 3 * 2**-8, -(1 + 2**-8), 1 + 2**-8 + 2**-20, 2**-130, 3.4028234663852886e38,
            float("inf"), -float("inf"), float("nan"), 0.0, -0.0, 1e-40, -2.5]
    cases = torch.cat([torch.tensor(ties, dtype=torch.float32), torch.randn(64) * 100])
    tensors["bf16_cases.f32"] = cases
    tensors["bf16_cases.bf16"] = cases.to(torch.bfloat16)
    save_file(tensors, os.path.join(OUT, "adamw.safetensors"))
    with open(os.path.join(OUT, "adamw.json"), "w") as f:
        json.dump(dict(steps=STEPS, runs=meta), f, indent=1)
    with open(os.path.join(OUT, "schedules.json"), "w") as f:
        json.dump([schedule_values(s) for s in SCHEDULES], f, indent=1)


if __name__ == "__main__":
    main()
