#!/usr/bin/env python3
"""PyTorch + transformers training throughput of a random-init Llama-shape model, all on one GPU
(the baseline our engine is measured against). Every mode runs in its own process, so an
out-of-memory mode is reported and the next one starts clean.

Modes:
  a  bf16 parameters, bf16 AdamW states (fused AdamW), no gradient checkpointing
  b  a + gradient checkpointing (non-reentrant)
  c  fp32 master weights and fp32 AdamW states, matmuls under bf16 autocast (our math);
     gradient checkpointing with --c-checkpointing on
  d  compute only: bf16 parameters, forward + backward, no optimizer; gradient checkpointing
     unless --d-checkpointing off
All use SDPA attention and transformers' own loss (fp32 logits over the vocabulary).

Shapes: --shape 1.5b (hidden 2048, ffn 8192, 16 layers, 32 heads, 8 KV heads, vocab 128256,
untied) or 8b (4096, 14336, 32 layers, 32/8 heads, vocab 128256, untied); any field can be
overridden. Each mode: --warmup steps (default 2), then --steps timed steps (default 5).

FLOP counts per token (B·T tokens a step; fwd + bwd = 3 × forward; recomputation under
gradient checkpointing is NOT counted, i.e. model FLOPs):
  tflops_6n       = 6·N                                   N = all parameters (both embedding
                                                          matrices when untied, norms included)
  tflops_6n_attn  = 6·N + 6·L·T·d_attn                    causal attention: QKᵀ and A·V over the
                                                          lower triangle, 2·T·d_attn per token and
                                                          layer forward; d_attn = heads·head_dim
  tflops_megatron = 3·(2·L·P_layer + 2·h·V + 4·L·T·d_attn)
                    P_layer = h·(d_attn + 2·d_kv) + d_attn·h + 3·h·ffn (q,k,v,o, gated MLP);
                    the LM head counted, the embedding lookup not, attention counted in full
                    (not causal), as in Narayanan et al. 2021, whose
                    72·B·T·L·h²·(1 + T/(6h) + V/(12·L·h)) this is for MHA with a 4h non-gated MLP.
Peak GPU memory: torch.cuda.max_memory_allocated / max_memory_reserved over the warm-up and
timed steps (the parameters, gradients and optimizer states included). On the CPU
(--device cpu --tiny, a smoke test) the process's peak RSS is reported instead.

  python bench/torch_baseline.py --shape 1.5b --batch 8 --seq 1024 --json out.json
  python bench/torch_baseline.py --shape 8b --modes b,d --batch 8 --seq 1024
  python bench/torch_baseline.py --device cpu --tiny
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

SHAPES = {
    "1.5b": dict(hidden=2048, ffn=8192, layers=16, heads=32, kv_heads=8, vocab=128256),
    "8b": dict(hidden=4096, ffn=14336, layers=32, heads=32, kv_heads=8, vocab=128256),
    "tiny": dict(hidden=64, ffn=128, layers=2, heads=4, kv_heads=2, vocab=512),
}
MODES = {
    "a": "bf16 params + bf16 AdamW states",
    "b": "bf16 params + bf16 AdamW states, gradient checkpointing",
    "c": "fp32 master + fp32 AdamW states, bf16 autocast",
    "d": "compute only (fwd+bwd, bf16 params, no optimizer)",
}
GiB = 1024 ** 3


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--shape", choices=sorted(SHAPES), default="1.5b")
    for k in SHAPES["1.5b"]:
        p.add_argument("--" + k.replace("_", "-"), type=int, help=f"override the shape's {k}")
    p.add_argument("--tied", action="store_true", help="tie the LM head to the embedding")
    p.add_argument("--tiny", action="store_true", help="smoke test: --shape tiny, batch 2 x 64, 1+2 steps")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=1024)
    p.add_argument("--modes", default="a,b,c,d", help="comma-separated subset of a,b,c,d")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--c-checkpointing", choices=["on", "off"], default="off")
    p.add_argument("--d-checkpointing", choices=["on", "off"], default="on")
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    p.add_argument("--json", help="write the results (a list, one object per mode) to this file")
    p.add_argument("--in-process", action="store_true", help="run the modes in this process (no isolation)")
    p.add_argument("--one-mode", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.tiny:
        args.shape, args.batch, args.seq, args.warmup, args.steps = "tiny", 2, 64, 1, 2
    shape = dict(SHAPES[args.shape])
    for k in shape:
        if getattr(args, k) is not None:
            shape[k] = getattr(args, k)
    args.dims = shape
    args.mode_list = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in args.mode_list if m not in MODES]
    if bad or not args.mode_list:
        p.error(f"unknown mode(s) {bad}; choose from a,b,c,d")
    if args.dims["hidden"] % args.dims["heads"] or args.dims["heads"] % args.dims["kv_heads"]:
        p.error("hidden must divide by heads, and heads by kv-heads")
    return args


def flops_per_token(d, T, n_params):
    h, L, V, ffn = d["hidden"], d["layers"], d["vocab"], d["ffn"]
    head_dim = h // d["heads"]
    d_attn, d_kv = d["heads"] * head_dim, d["kv_heads"] * head_dim
    p_layer = h * (d_attn + 2 * d_kv) + d_attn * h + 3 * h * ffn
    return {
        "6n": 6 * n_params,
        "6n_attn": 6 * n_params + 6 * L * T * d_attn,
        "megatron": 3 * (2 * L * p_layer + 2 * h * V + 4 * L * T * d_attn),
    }


def build_model(args, dtype):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    d = args.dims
    cfg = LlamaConfig(hidden_size=d["hidden"], intermediate_size=d["ffn"], num_hidden_layers=d["layers"],
                      num_attention_heads=d["heads"], num_key_value_heads=d["kv_heads"], vocab_size=d["vocab"],
                      tie_word_embeddings=args.tied, max_position_embeddings=max(4096, args.seq),
                      use_cache=False, attn_implementation="sdpa")
    torch.manual_seed(0)
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(args.device):
            model = LlamaForCausalLM(cfg)
    finally:
        torch.set_default_dtype(old)
    model.to(dtype=dtype)
    if getattr(model.config, "_attn_implementation", None) != "sdpa":
        model.set_attn_implementation("sdpa")
    model.train()
    return cfg, model


def enable_checkpointing(model):
    """Non-reentrant activation checkpointing of every decoder layer (the method was renamed in
    transformers 5.2x; older releases only have gradient_checkpointing_enable)."""
    if hasattr(model, "activation_checkpointing_enable"):
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})


def adamw(args, model):
    import torch
    kw = dict(lr=1e-5, betas=(0.9, 0.95), weight_decay=0.1)
    try:
        return torch.optim.AdamW(model.parameters(), fused=True, **kw), "fused"
    except (RuntimeError, TypeError):  # fused AdamW unavailable for this device/dtype
        return torch.optim.AdamW(model.parameters(), foreach=True, **kw), "foreach"


def measure_mode(args, mode):
    """Builds the model for `mode`, runs warm-up + timed steps, returns the result dict."""
    import torch
    cuda = args.device == "cuda"
    dtype = torch.float32 if mode == "c" else torch.bfloat16
    t = time.perf_counter()
    cfg, model = build_model(args, dtype)
    build_s = time.perf_counter() - t
    checkpointing = mode == "b" or (mode == "c" and args.c_checkpointing == "on") or \
        (mode == "d" and args.d_checkpointing == "on")
    if checkpointing:
        enable_checkpointing(model)
    opt, opt_kind = adamw(args, model) if mode != "d" else (None, None)
    ids = torch.randint(0, cfg.vocab_size, (args.batch, args.seq), device=args.device)

    def step():
        with torch.autocast(device_type=args.device, dtype=torch.bfloat16, enabled=mode == "c"):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        if opt is not None:
            opt.step()
            opt.zero_grad(set_to_none=True)
        else:
            model.zero_grad(set_to_none=True)
        return loss

    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    for _ in range(args.warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    if cuda:
        torch.cuda.synchronize()
    dt = (time.perf_counter() - t) / args.steps
    n_params = sum(p.numel() for p in model.parameters())
    tokens = args.batch * args.seq
    res = dict(mode=mode, description=MODES[mode], gradient_checkpointing=checkpointing, optimizer=opt_kind,
               params=n_params, tokens_per_step=tokens, step_ms=dt * 1e3, tokens_per_s=tokens / dt,
               loss=float(loss.detach()), build_s=build_s)
    for name, f in flops_per_token(args.dims, args.seq, n_params).items():
        res["tflops_" + name] = f * tokens / dt / 1e12
    if cuda:
        res["peak_alloc_gib"] = torch.cuda.max_memory_allocated() / GiB
        res["peak_reserved_gib"] = torch.cuda.max_memory_reserved() / GiB
    else:
        res["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GiB
    return res


def run_one_mode(args):
    import torch
    try:
        res = measure_mode(args, args.one_mode)
    except torch.cuda.OutOfMemoryError as e:
        res = dict(mode=args.one_mode, description=MODES[args.one_mode], error=f"out of memory: {str(e)[:200]}")
    with open(args.result, "w") as f:
        json.dump(res, f)


def describe(res):
    if "error" in res:
        return f"[{res['mode']}] {res['description']}: FAILED ({res['error']})"
    mem = (f"peak alloc {res['peak_alloc_gib']:.2f} GiB, reserved {res['peak_reserved_gib']:.2f} GiB"
           if "peak_alloc_gib" in res else f"peak RSS {res['peak_rss_gib']:.2f} GiB")
    return (f"[{res['mode']}] {res['description']}{' (+ckpt)' if res['gradient_checkpointing'] and res['mode'] != 'b' else ''}: "
            f"{res['step_ms']:.1f} ms/step, {res['tokens_per_s']:,.0f} tok/s, TFLOPS 6N {res['tflops_6n']:.1f}, "
            f"6N+attn {res['tflops_6n_attn']:.1f}, Megatron {res['tflops_megatron']:.1f}; {mem}; loss {res['loss']:.3f}")


def environment(args):
    import torch
    import transformers
    env = dict(python=sys.version.split()[0], torch=torch.__version__, cuda=torch.version.cuda,
               transformers=transformers.__version__, device=args.device)
    if args.device == "cuda":
        env["gpu"] = torch.cuda.get_device_name(0)
    return env


def main(argv=None):
    args = parse_args(argv)
    if args.one_mode:
        return run_one_mode(args)
    env = environment(args)
    print(f"{env}; shape {args.shape} {args.dims}{' tied' if args.tied else ''}; batch {args.batch} x {args.seq}; "
          f"{args.warmup} warm-up + {args.steps} timed steps", flush=True)
    results = []
    for mode in args.mode_list:
        if args.in_process:
            res = measure_mode(args, mode)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "result.json")
                argv_child = [a for a in (argv if argv is not None else sys.argv[1:])]
                proc = subprocess.run([sys.executable, os.path.abspath(__file__), *argv_child,
                                       "--one-mode", mode, "--result", out])
                if os.path.exists(out):
                    with open(out) as f:
                        res = json.load(f)
                else:
                    res = dict(mode=mode, description=MODES[mode], error=f"process exited with {proc.returncode}")
        print(describe(res), flush=True)
        results.append(res)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(environment=env, shape=args.shape, dims=args.dims, tied=args.tied, batch=args.batch,
                           seq=args.seq, warmup=args.warmup, steps=args.steps, results=results), f, indent=2)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
