#!/usr/bin/env python3
"""Golden reference states for the trainer: tiny random models of each supported family,
built and run by transformers + torch on CPU in fp32 (eager attention).

For each model NAME, writes Tests/Fixtures/golden/NAME/:
  config.json, model.safetensors   the model (save_pretrained, fp32; a tied model has no lm_head.weight)
  reference.safetensors            inputs, logits, loss, every gradient, a 5-step training run
  reference.json                   the hyperparameters and per-step scalars, and PyTorch's own
                                   bf16-autocast deviation from these fp32 results
docs/golden-reference.md describes the contents and conventions. Usage:
  python scripts/make_reference.py [NAME...]
  python scripts/make_reference.py --bf16-deviation-only [NAME...]
      recomputes only reference.json's "bf16_autocast" field from the committed fixture (the
      fp32 files stay as they are; their recomputation is checked against them first)
"""
import json
import os
import sys

import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config
from transformers.optimization import get_cosine_schedule_with_warmup

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "golden")
B, T = 2, 16
STEPS, MICRO_BATCHES = 5, 2
TRAIN = dict(lr=1e-2, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1, max_grad_norm=0.5,
             schedule=dict(kind="cosine", warmup_steps=2, total_steps=STEPS, min_lr=0.0))

COMMON = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, vocab_size=128, max_position_embeddings=64, rms_norm_eps=1e-6,
              bos_token_id=1, eos_token_id=2, pad_token_id=0)

MODELS = {
    # Llama 3.x: tied embeddings, llama3 RoPE scaling. head_dim 8 gives wavelengths 2π·{1, 10, 100, 1000}:
    # with original_max_position_embeddings 8, low 1, high 4 they fall in all three regimes
    # (kept < 2, smoothed in 2..8, scaled > 8).
    "llama_tied_rope3": LlamaConfig(**COMMON, tie_word_embeddings=True, rope_parameters=dict(
        rope_type="llama3", rope_theta=10000.0, factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
        original_max_position_embeddings=8)),
    # Llama untied with attention_bias (q/k/v/o biases) and mlp_bias.
    "llama_untied_bias": LlamaConfig(**COMMON, tie_word_embeddings=False, attention_bias=True, mlp_bias=True,
                                     rope_parameters=dict(rope_type="default", rope_theta=500000.0)),
    # Qwen2: q/k/v biases (no o bias), tied as Qwen2.5-0.5B.
    "qwen2": Qwen2Config(**COMMON, tie_word_embeddings=True, use_sliding_window=False,
                         rope_parameters=dict(rope_type="default", rope_theta=1000000.0)),
    # Qwen3: per-head q/k RMSNorm, head_dim 16 != hidden/heads = 8, untied.
    "qwen3": Qwen3Config(**COMMON, head_dim=16, tie_word_embeddings=False, use_sliding_window=False,
                         rope_parameters=dict(rope_type="default", rope_theta=1000000.0)),
    # Llama tied with every bias and head_dim 16 (the smallest the GPU's tensor-core attention
    # takes), so the golden check also runs on the CUDA backend with the tied-head paths.
    "llama_tied_bias_hd16": LlamaConfig(**COMMON, head_dim=16, tie_word_embeddings=True, attention_bias=True,
                                        mlp_bias=True, rope_parameters=dict(rope_type="default", rope_theta=10000.0)),
    # Mistral (v0.3 style: no sliding window), untied.
    "mistral": MistralConfig(**COMMON, tie_word_embeddings=False, sliding_window=None,
                             rope_parameters=dict(rope_type="default", rope_theta=1000000.0)),
}


# Each model's seed, fixed so that adding a model never changes the others' fixtures (mistral and
# llama_tied_bias_hd16 share 104: the committed fixtures were generated so).
SEEDS = {"llama_tied_rope3": 100, "llama_untied_bias": 101, "qwen2": 102, "qwen3": 103,
         "llama_tied_bias_hd16": 104, "mistral": 104}


def randomize(model, g):
    """Replace HF's tiny init by O(1)-scale values so every path (norm weights, biases) matters."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                std = 0.5 if "embed_tokens" in name else p.shape[1] ** -0.5
                p.copy_(torch.randn(p.shape, generator=g) * std)
            elif name.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def make_batch(g, vocab, masked_prefix):
    """input_ids (B,T) and labels aligned with them (HF convention), -100 on a prompt prefix of
    `masked_prefix[b]` positions of row b and on two random positions. Row 0 holds the pad id
    mid-sequence (as chat data whose pad is its end-of-turn token does): the embedding's
    padding_idx row gets no gradient from that lookup."""
    ids = torch.randint(3, vocab, (B, T), generator=g)
    ids[0, T // 2] = COMMON["pad_token_id"]
    labels = ids.clone()
    for b in range(B):
        labels[b, :masked_prefix[b]] = -100
        labels[b, torch.randint(0, T, (2,), generator=g)] = -100
    return ids, labels


def sum_ce(logits, labels):
    """Sum of the next-token cross-entropy over targets (labels shifted by one, -100 ignored)."""
    v = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, v).float(), labels[:, 1:].reshape(-1),
                           ignore_index=-100, reduction="sum")


def targets(labels):
    return int((labels[:, 1:] != -100).sum())


def build(name, config, seed):
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager", dtype=torch.float32)
    randomize(model, g)
    out_dir = os.path.join(OUT, name)
    os.makedirs(out_dir, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    tensors = {}

    # Forward + backward of one batch: HF's own loss (mean over targets).
    ids, labels = make_batch(g, config.vocab_size, masked_prefix=[3, 0])
    model.zero_grad()
    out = model(input_ids=ids, labels=labels)
    out.loss.backward()
    assert torch.allclose(out.loss, sum_ce(out.logits, labels) / targets(labels), rtol=1e-6)
    # Every tensor is F32 (token ids and -100 are exact) so ModelFormats' SafeTensorsFile reads it.
    tensors.update({"input_ids": ids.float(), "labels": labels.float(), "logits": out.logits.detach(),
                    "loss": out.loss.detach().reshape(1)})
    for n, p in model.named_parameters():
        tensors["grad." + n] = p.grad.detach().clone()

    # Training: STEPS optimizer steps of MICRO_BATCHES micro-batches each.
    train_ids = torch.empty(STEPS, MICRO_BATCHES, B, T, dtype=torch.int64)
    train_labels = torch.empty_like(train_ids)
    for step in range(STEPS):
        for m in range(MICRO_BATCHES):
            train_ids[step, m], train_labels[step, m] = make_batch(
                g, config.vocab_size, masked_prefix=[(step + m) % 5 * 2, m * 5])
    losses, norms, lrs, targets_per_step = train(model, train_ids, train_labels)
    tensors.update({"train.input_ids": train_ids.float(), "train.labels": train_labels.float(),
                    "train.losses": torch.tensor(losses), "train.grad_norms": torch.tensor(norms),
                    "train.lrs": torch.tensor(lrs)})
    for n, p in model.named_parameters():
        tensors["final." + n] = p.detach().clone()
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(out_dir, "reference.safetensors"))
    meta = dict(
        model_type=config.model_type, seed=seed, torch=torch.__version__, transformers=transformers.__version__,
        batch=dict(B=B, T=T), ignore_index=-100,
        train=dict(TRAIN, betas=list(TRAIN["betas"]), steps=STEPS, micro_batches=MICRO_BATCHES,
                   weight_decay_on="tensors with >= 2 dimensions",
                   loss="sum of next-token CE over the step's micro-batches / the step's total targets",
                   losses=losses, grad_norms=norms, lrs=lrs, targets=targets_per_step),
        loss=float(out.loss.detach()), targets=targets(labels))
    meta["bf16_autocast"] = bf16_deviation(out_dir, {k: v.contiguous() for k, v in tensors.items()})
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump(meta, f, indent=1)


def train(model, train_ids, train_labels, autocast=False):
    """STEPS AdamW steps (decay on >= 2-D tensors only, cosine schedule, clipping) of
    MICRO_BATCHES micro-batches each; the forwards under bf16 autocast if asked.
    Returns per-step losses, gradient norms, learning rates and target counts."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([dict(params=decay, weight_decay=TRAIN["weight_decay"]),
                             dict(params=no_decay, weight_decay=0.0)],
                            lr=TRAIN["lr"], betas=TRAIN["betas"], eps=TRAIN["eps"])
    s = TRAIN["schedule"]
    sched = get_cosine_schedule_with_warmup(opt, s["warmup_steps"], s["total_steps"])
    losses, norms, lrs, targets_per_step = [], [], [], []
    for step in range(STEPS):
        total = sum(targets(train_labels[step, m]) for m in range(MICRO_BATCHES))
        lrs.append(opt.param_groups[0]["lr"])
        opt.zero_grad()
        step_loss = 0.0
        for m in range(MICRO_BATCHES):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                loss_sum = sum_ce(model(input_ids=train_ids[step, m]).logits, train_labels[step, m])
            (loss_sum / total).backward()
            step_loss += float(loss_sum.detach())
        losses.append(step_loss / total)
        targets_per_step.append(total)
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), TRAIN["max_grad_norm"])
        assert float(norm) > TRAIN["max_grad_norm"], "clipping must be active at every step"
        norms.append(float(norm))
        opt.step()
        sched.step()
    return losses, norms, lrs, targets_per_step


def relative(a, ref):
    """||a - ref|| / ||ref|| in float64."""
    a, ref = a.double(), ref.double()
    return float((a - ref).norm() / ref.norm())


def bf16_deviation(model_dir, ref):
    """PyTorch's own bf16-autocast results (fp32 weights, torch.autocast("cpu", bfloat16) around
    each forward, backward outside it) against the fp32 reference tensors `ref` of the model in
    `model_dir`: the rounding noise of bf16 mixed precision on this model, the scale for the
    bounds our bf16 compute is held to. Relative L2 errors (relative differences for scalars);
    per-step worst for the training scalars."""
    def load():
        return AutoModelForCausalLM.from_pretrained(model_dir, attn_implementation="eager", dtype=torch.float32)
    ids, labels = ref["input_ids"].long(), ref["labels"].long()
    model = load()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(input_ids=ids, labels=labels)
    out.loss.backward()
    gradients = {n: relative(p.grad, ref["grad." + n]) for n, p in model.named_parameters()}
    model = load()
    losses, norms, _, _ = train(model, ref["train.input_ids"].long(), ref["train.labels"].long(), autocast=True)
    ref_losses, ref_norms = ref["train.losses"].double().tolist(), ref["train.grad_norms"].double().tolist()
    return dict(
        about="PyTorch bf16 autocast (CPU, fp32 weights and optimizer) vs the fp32 reference: relative L2 "
              "errors (tensors) or relative differences (scalars, worst step for training)",
        logits=relative(out.logits.float().detach(), ref["logits"]),
        loss=abs(float(out.loss.detach()) - float(ref["loss"])) / abs(float(ref["loss"])),
        gradients=gradients,
        train=dict(losses=max(abs(a - b) / abs(b) for a, b in zip(losses, ref_losses)),
                   grad_norms=max(abs(a - b) / abs(b) for a, b in zip(norms, ref_norms)),
                   final={n: relative(p.detach(), ref["final." + n]) for n, p in model.named_parameters()}))


def update_bf16_deviation(name):
    """Rewrites only reference.json's "bf16_autocast" field of the committed fixture `name`,
    after checking that fp32 recomputation reproduces its reference tensors."""
    out_dir = os.path.join(OUT, name)
    ref = load_file(os.path.join(out_dir, "reference.safetensors"))
    model = AutoModelForCausalLM.from_pretrained(out_dir, attn_implementation="eager", dtype=torch.float32)
    out = model(input_ids=ref["input_ids"].long(), labels=ref["labels"].long())
    out.loss.backward()
    worst = max([relative(out.logits.detach(), ref["logits"])]
                + [relative(p.grad, ref["grad." + n]) for n, p in model.named_parameters()])
    assert worst <= 1e-6, f"{name}: fp32 recomputation differs from the committed reference ({worst:.2e})"
    path = os.path.join(out_dir, "reference.json")
    with open(path) as f:
        meta = json.load(f)
    meta["bf16_autocast"] = bf16_deviation(out_dir, ref)
    with open(path + ".tmp", "w") as f:
        json.dump(meta, f, indent=1)
    os.replace(path + ".tmp", path)


def main():
    """Writes every model, or only those named on the command line."""
    torch.use_deterministic_algorithms(True)
    args = sys.argv[1:]
    deviation_only = "--bf16-deviation-only" in args
    wanted = set(a for a in args if a != "--bf16-deviation-only") or set(MODELS)
    for name, config in MODELS.items():
        if name in wanted:
            if deviation_only:
                update_bf16_deviation(name)
            else:
                build(name, config, seed=SEEDS[name])


if __name__ == "__main__":
    main()
