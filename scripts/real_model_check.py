#!/usr/bin/env python3
"""Fine-tunes the converted SmolLM2-135M-Instruct on a small real dataset for a few steps on
the CPU, with `slideformer train` and with the PyTorch twin (fp32), and compares the per-step
losses: PASS when every step's relative difference is within --tolerance (default 1e-4).

Both sides load the same converted folder (bf16 values) as fp32 and train in fp32 on the same
rows (no shuffle, no packing), so the losses differ only by floating-point summation order.

  python scripts/real_model_check.py --slideformer .build/release/slideformer
  python scripts/real_model_check.py            # PyTorch half only (GGUF converted by transformers)

Options: see --help (model: --model DIR or --gguf FILE; data: --data FILE or built from
scripts/data/public_domain_texts.txt; --workdir keeps everything).
"""
import os
import sys

import parity_common as pc


def main():
    p = pc.parser(__doc__.split("\n\n")[0], steps=5, batch=2, seq=128, accum=2, lr=5e-5,
                  tolerance=1e-4, device="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads for the twin (0: torch's default)")
    p.add_argument("--no-conversion-check", action="store_true",
                   help="skip comparing step 1's loss with transformers' own GGUF loader")
    args = p.parse_args()
    workdir = pc.workdir_for(args)
    pc.log(f"work folder: {workdir}")
    model_dir = pc.model_folder(args, workdir)
    data = pc.dataset_file(args, workdir, model_dir)
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    ref = pc.run_twin(args, model_dir, data, workdir, "fp32", "pytorch")
    if not args.model and not args.no_conversion_check:
        pc.conversion_check(args, model_dir, data, ref[0]["loss"])
    if not args.slideformer:
        pc.log("no --slideformer binary: PyTorch losses only")
        for r in ref:
            pc.log(f"step {int(r['step'])}: loss {r['loss']:.8f}, grad norm {r['grad_norm']:.6f}")
        return
    ours = pc.run_slideformer(args, model_dir, data, workdir)
    diffs = pc.loss_table(ours, ref)
    ok = len(ours) == len(ref) == args.steps and max(diffs) <= args.tolerance
    pc.log(f"max relative difference {max(diffs):.2e} (tolerance {args.tolerance:g} per step): "
           f"{'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
