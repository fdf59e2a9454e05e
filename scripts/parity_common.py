"""Shared pieces of real_model_check.py and gpu_parity.py: the SmolLM2 model folder, a small
real dataset, the two training runs (our binary and the PyTorch twin) and the loss table.

Both checks train the same HF folder on the same `tokens` JSONL with the same flags, once with
`slideformer train` and once with scripts/torch_reference_train.py, and compare the per-step
losses of the two metrics.csv files.
"""
import argparse
import csv
import json
import os
import shlex
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_GGUF = os.path.join(REPO, ".cache", "assets", "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
TEXTS = os.path.join(HERE, "data", "public_domain_texts.txt")
TWIN = os.path.join(HERE, "torch_reference_train.py")
IGNORED = -100


def add_common_args(p, *, steps, batch, seq, accum, lr, tolerance, device):
    p.add_argument("--slideformer", help="path of the slideformer binary (without it: only the PyTorch half runs)")
    p.add_argument("--slideformer-args", default="", help="extra arguments for `slideformer train` (one string)")
    p.add_argument("--gguf", default=DEFAULT_GGUF, help="SmolLM2-135M-Instruct GGUF to convert")
    p.add_argument("--model", help="an already converted HF folder (skips the conversion)")
    p.add_argument("--converter", choices=["slideformer", "transformers"], default=None,
                   help="who converts the GGUF (default: slideformer when --slideformer is given)")
    p.add_argument("--data", help="a tokens JSONL to train on (default: built from scripts/data/public_domain_texts.txt)")
    p.add_argument("--workdir", help="folder for the converted model, dataset and both runs (default: a new temp folder)")
    p.add_argument("--device", default=device, choices=["cpu", "cuda"])
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--batch-size", type=int, default=batch)
    p.add_argument("--seq-len", type=int, default=seq)
    p.add_argument("--grad-accum", type=int, default=accum)
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--min-lr", type=float, default=lr / 10)
    p.add_argument("--warmup-steps", type=int, default=0)
    p.add_argument("--schedule", default="cosine", choices=["constant", "linear", "cosine"])
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--beta1", type=float, default=0.9)
    p.add_argument("--beta2", type=float, default=0.95)
    p.add_argument("--eps", type=float, default=1e-8)
    p.add_argument("--max-grad-norm", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tolerance", type=float, default=tolerance)
    return p


def log(*a):
    print(*a, flush=True)


def run(cmd, log_path):
    """Runs cmd, teeing its output into log_path; exits with its status on failure."""
    log("$ " + " ".join(shlex.quote(c) for c in cmd))
    with open(log_path, "w") as f:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            f.write(line)
            if "it/s]" not in line:  # progress bars stay in the log only
                sys.stdout.write("  " + line)
        proc.wait()
    if proc.returncode != 0:
        sys.exit(f"command failed with status {proc.returncode} (log: {log_path})")


# ---- model ---------------------------------------------------------------------------------

def convert_with_transformers(gguf, out):
    """GGUF -> bf16 HF folder (+ tokenizer) with transformers' own GGUF loader."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    folder, name = os.path.split(os.path.abspath(gguf))
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    model.config.quantization_config = None
    if hasattr(model, "hf_quantizer"):
        model.hf_quantizer = None
    model.to(torch.bfloat16).save_pretrained(out)
    AutoTokenizer.from_pretrained(folder, gguf_file=name).save_pretrained(out)


def model_folder(args, workdir):
    if args.model:
        return args.model
    out = os.path.join(workdir, "model")
    if os.path.exists(os.path.join(out, "config.json")):
        log(f"using the converted model in {out}")
        return out
    converter = args.converter or ("slideformer" if args.slideformer else "transformers")
    if converter == "slideformer":
        if not args.slideformer:
            sys.exit("--converter slideformer needs --slideformer BIN")
        run([args.slideformer, "convert", "--gguf", args.gguf, "--output", out], os.path.join(workdir, "convert.log"))
    else:
        log(f"converting {args.gguf} with transformers")
        convert_with_transformers(args.gguf, out)
    return out


def tokenizer_for(model_dir, gguf):
    from transformers import AutoTokenizer
    try:
        return AutoTokenizer.from_pretrained(model_dir)
    except Exception as e:  # noqa: BLE001  (a folder without tokenizer files)
        log(f"no tokenizer in {model_dir} ({type(e).__name__}); reading it from {gguf}")
        folder, name = os.path.split(os.path.abspath(gguf))
        return AutoTokenizer.from_pretrained(folder, gguf_file=name)


def conversion_check(args, model_dir, data, first_step_loss):
    """Step 1's loss with the GGUF loaded by transformers itself (fp32 dequantized weights) next
    to the twin's on the converted folder: a wrong conversion (e.g. q/k rows not un-permuted)
    shows up as a large difference; bf16 rounding of the weights alone moves it by ~1e-3."""
    import torch
    from transformers import AutoModelForCausalLM
    import torch_reference_train as twin
    folder, name = os.path.split(os.path.abspath(args.gguf))
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except Exception as e:  # noqa: BLE001  (no gguf package on this host)
        log(f"conversion check skipped: transformers cannot load {args.gguf} ({type(e).__name__}: {e})")
        return
    pad = twin.resolve_pad_id(argparse.Namespace(pad_id=None, model=model_dir), model)
    batches = twin.MicroBatches(twin.read_rows(data, model.config.vocab_size), args.batch_size, args.seq_len, pad)
    micro = [batches.next() for _ in range(args.grad_accum)]
    total = max(1, sum(twin.target_count(labels) for _, labels in micro))
    spec = argparse.Namespace(device="cpu", precision="fp32")
    with torch.no_grad():
        loss = sum(float(twin.micro_batch_loss_sum(model, ids, labels, spec)) for ids, labels in micro) / total
    d = relative(first_step_loss, loss)
    log(f"conversion check: step-1 loss {first_step_loss:.6f} on the converted folder, {loss:.6f} with "
        f"transformers' own GGUF loader: relative difference {d:.2e}"
        + ("" if d < 1e-2 else "  <-- LARGE: the conversion looks wrong"))


# ---- dataset --------------------------------------------------------------------------------

def read_texts(path=TEXTS):
    """[(title, [paragraph, ...])] from '# Title' headed sections."""
    sections = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("# "):
                sections.append((line[2:], []))
            elif line and sections:
                sections[-1][1].append(line)
    return sections


def chat_row(tok, messages):
    """Chat ids with only the assistant turns as labels: each turn's span runs from the end of
    the prompt rendered with the generation prompt to the end of the rendering through it."""
    full = tok.apply_chat_template(messages, tokenize=False)
    cuts, spans = 0, []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        prompt = tok.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True)
        through = tok.apply_chat_template(messages[:i + 1], tokenize=False)
        assert full.startswith(through) and through.startswith(prompt) and len(prompt) >= cuts
        spans.append((len(prompt), len(through)))
        cuts = len(through)
    ids, labels, cursor = [], [], 0
    for start, end in spans + [(len(full), len(full))]:
        for (a, b), trained in (((cursor, start), False), ((start, end), True)):
            if b > a:
                piece = tok(full[a:b], add_special_tokens=False)["input_ids"]
                ids += piece
                labels += piece if trained else [IGNORED] * len(piece)
        cursor = end
    return {"input_ids": ids, "labels": labels}


def first_sentence(paragraph):
    for i, c in enumerate(paragraph):
        if c in ".;:?!" and i > 20 and i + 1 < len(paragraph) and paragraph[i + 1] == " ":
            return paragraph[:i + 1], paragraph[i + 2:]
    return None


def build_rows(tok, seq_len):
    """Instruction-style chat rows (recite a text; continue a passage) interleaved with windows
    of seq_len tokens (stride seq_len/2) over the whole text, all targets."""
    sections = read_texts()
    chats = []
    for title, paragraphs in sections:
        chats.append(chat_row(tok, [{"role": "user", "content": f"Recite the opening of {title}."},
                                    {"role": "assistant", "content": paragraphs[0]}]))
        for p in paragraphs:
            split = first_sentence(p)
            if split:
                chats.append(chat_row(tok, [
                    {"role": "user", "content": f"Continue this passage from {title}:\n\n{split[0]}"},
                    {"role": "assistant", "content": split[1]}]))
    corpus = "\n\n".join(title + "\n\n" + "\n".join(ps) for title, ps in sections)
    ids = tok(corpus, add_special_tokens=True)["input_ids"]
    stride = max(1, seq_len // 2)
    windows = [{"input_ids": ids[i:i + seq_len], "labels": ids[i:i + seq_len]}
               for i in range(0, max(1, len(ids) - seq_len + 1), stride)]
    rows = []
    for i in range(max(len(chats), len(windows))):
        rows += chats[i:i + 1] + windows[i:i + 1]
    return rows


def dataset_file(args, workdir, model_dir):
    if args.data:
        return args.data
    path = os.path.join(workdir, "data.jsonl")
    rows = build_rows(tokenizer_for(model_dir, args.gguf), args.seq_len)
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    targets = sum(sum(1 for t in r["labels"][1:args.seq_len] if t != IGNORED) for r in rows)
    log(f"dataset: {len(rows)} rows, {targets} target tokens within seq-len {args.seq_len} -> {path}")
    return path


# ---- the two runs -----------------------------------------------------------------------------

def train_flags(args, model_dir, data, out):
    """The flags `slideformer train` and the twin share."""
    return ["--model", model_dir, "--data", data, "--output", out, "--device", args.device,
            "--data-format", "tokens", "--no-shuffle", "--no-pack",
            "--seq-len", str(args.seq_len), "--batch-size", str(args.batch_size),
            "--grad-accum", str(args.grad_accum), "--max-steps", str(args.steps),
            "--lr", repr(args.lr), "--min-lr", repr(args.min_lr), "--warmup-steps", str(args.warmup_steps),
            "--schedule", args.schedule, "--weight-decay", repr(args.weight_decay),
            "--beta1", repr(args.beta1), "--beta2", repr(args.beta2), "--eps", repr(args.eps),
            "--max-grad-norm", repr(args.max_grad_norm), "--seed", str(args.seed), "--log-every", "1"]


def run_twin(args, model_dir, data, workdir, precision, name):
    out = os.path.join(workdir, name)
    run([sys.executable, TWIN, *train_flags(args, model_dir, data, out), "--precision", precision],
        os.path.join(workdir, name + ".log"))
    return read_metrics(os.path.join(out, "metrics.csv"))


def run_slideformer(args, model_dir, data, workdir, extra=()):
    out = os.path.join(workdir, "slideformer")
    run([args.slideformer, "train", *train_flags(args, model_dir, data, out), *extra,
         *shlex.split(args.slideformer_args)], os.path.join(workdir, "slideformer.log"))
    return read_metrics(os.path.join(out, "metrics.csv"))


def read_metrics(path):
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def workdir_for(args):
    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
        return args.workdir
    return tempfile.mkdtemp(prefix="slideformer-parity-")


def relative(a, b):
    return abs(a - b) / max(abs(b), 1e-12)


def loss_table(ours, ref, ref_name="pytorch"):
    """Prints step / ours / reference / rel. diff (and grad norms); returns the rel. diffs."""
    if len(ours) != len(ref):
        log(f"warning: {len(ours)} steps from slideformer, {len(ref)} from {ref_name}")
    log(f"{'step':>5} {'slideformer loss':>18} {ref_name + ' loss':>18} {'rel diff':>10} "
        f"{'grad norm (ours)':>17} {'grad norm (' + ref_name + ')':>18}")
    diffs = []
    for o, r in zip(ours, ref):
        d = relative(o["loss"], r["loss"])
        diffs.append(d)
        log(f"{int(r['step']):>5} {o['loss']:>18.8f} {r['loss']:>18.8f} {d:>10.2e} "
            f"{o['grad_norm']:>17.6f} {r['grad_norm']:>18.6f}")
    return diffs


def parser(description, **defaults):
    return add_common_args(argparse.ArgumentParser(description=description), **defaults)
