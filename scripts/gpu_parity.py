#!/usr/bin/env python3
"""Fine-tunes the converted SmolLM2-135M-Instruct for 50 steps on the GPU with
`slideformer train --device cuda` and with PyTorch + transformers (bf16 autocast, fp32 master
weights and AdamW states, the same batches), and compares the loss curves: PASS when the mean
relative difference of the per-step losses is within --tolerance (default 2%).

  python scripts/gpu_parity.py --slideformer ./slideformer --gguf SmolLM2-135M-Instruct.Q4_1.gguf
  python scripts/gpu_parity.py --slideformer ./slideformer --mode resident --slideformer-args "--foo 1"
  python scripts/gpu_parity.py --model DIR --data rows.jsonl      # PyTorch half only

--mode passes `--engine MODE` to our binary; --slideformer-args passes anything else.
--fp32-floor also runs the twin in fp32 and prints how far bf16 autocast alone moves the
curve (the noise floor the 2% bound sits above).
"""
import sys

import parity_common as pc


def mean(xs):
    return sum(xs) / len(xs)


def steady_throughput(rows):
    return mean([r["tokens_per_s"] for r in (rows[2:] or rows)])


def main():
    p = pc.parser(__doc__.split("\n\n")[0], steps=50, batch=4, seq=256, accum=1, lr=5e-5,
                  tolerance=0.02, device="cuda")
    p.add_argument("--mode", choices=["sliding", "resident"], help="passed to our binary as --engine MODE")
    p.add_argument("--fp32-floor", action="store_true", help="also run the twin in fp32 and report bf16 vs fp32")
    args = p.parse_args()
    workdir = pc.workdir_for(args)
    pc.log(f"work folder: {workdir}")
    model_dir = pc.model_folder(args, workdir)
    data = pc.dataset_file(args, workdir, model_dir)
    ref = pc.run_twin(args, model_dir, data, workdir, "bf16-autocast", "pytorch-bf16")
    if args.fp32_floor:
        fp32 = pc.run_twin(args, model_dir, data, workdir, "fp32", "pytorch-fp32")
        floor = [pc.relative(a["loss"], b["loss"]) for a, b in zip(ref, fp32)]
        pc.log(f"noise floor: PyTorch bf16 autocast vs fp32, mean relative difference {mean(floor):.3e}, "
               f"max {max(floor):.3e}")
    if not args.slideformer:
        pc.log("no --slideformer binary: PyTorch losses only")
        for r in ref:
            pc.log(f"step {int(r['step'])}: loss {r['loss']:.6f}, grad norm {r['grad_norm']:.4f}, "
                   f"{r['tokens_per_s']:,.0f} tok/s")
        return
    extra = ["--engine", args.mode] if args.mode else []
    ours = pc.run_slideformer(args, model_dir, data, workdir, extra)
    diffs = pc.loss_table(ours, ref, "pytorch-bf16")
    ok = len(ours) == len(ref) == args.steps and mean(diffs) <= args.tolerance
    pc.log(f"mean relative difference {mean(diffs):.3e}, max {max(diffs):.3e} over {len(diffs)} steps "
           f"(tolerance {args.tolerance:g} on the mean): {'PASS' if ok else 'FAIL'}")
    pc.log(f"throughput (steps after the first 2): slideformer {steady_throughput(ours):,.0f} tok/s, "
           f"PyTorch {steady_throughput(ref):,.0f} tok/s")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
