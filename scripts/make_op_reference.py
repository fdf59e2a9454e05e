#!/usr/bin/env python3
"""Writes the per-op reference fixtures the Backends tests compare against.

Each op gets small random fp32 inputs; outputs and gradients come from PyTorch in float64
(with transformers' own modules where one exists: LlamaRMSNorm, Qwen3RMSNorm, the rotary
embedding and its rope-scaling init functions, apply_rotary_pos_emb, ForCausalLMLoss), then
stored as fp32. Files are safetensors, one per op, scalars in the metadata.

Usage: python scripts/make_op_reference.py  (writes Tests/Fixtures/ops/*.safetensors)
"""
import math
import os

import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, Qwen3Config
from transformers.loss.loss_utils import ForCausalLMLoss
from transformers.models.llama.modeling_llama import LlamaRMSNorm, LlamaRotaryEmbedding, apply_rotary_pos_emb
from transformers.models.qwen3.modeling_qwen3 import Qwen3RMSNorm

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "ops")
gen = torch.Generator().manual_seed(1234)


def rand(*shape, scale=1.0):
    """fp32-representable random values, returned as float64 leaf tensors."""
    return (torch.randn(*shape, generator=gen) * scale).float().double().requires_grad_(True)


def save(name, meta, **tensors):
    out = {}
    for key, t in tensors.items():
        t = t.detach()
        out[key] = t.contiguous() if t.dtype in (torch.int32, torch.int16) else t.float().contiguous()
    save_file(out, os.path.join(OUT, name + ".safetensors"), metadata={k: str(v) for k, v in meta.items()})


def grads(outputs, inputs, upstream):
    return torch.autograd.grad(outputs, inputs, upstream)


def linear():
    # y = x Wᵀ + b (HF Linear); weight and bias grads accumulate onto prior values.
    n, fin, fout = 13, 24, 20
    x, w, b = rand(n, fin), rand(fout, fin), rand(fout)
    dy = rand(n, fout)
    y = torch.nn.functional.linear(x, w, b)
    dx, dw, db = grads(y, (x, w, b), dy)
    dw0, db0 = rand(fout, fin), rand(fout)
    save("linear", dict(n=n, fin=fin, fout=fout), x=x, w=w, b=b, dy=dy, y=y, dx=dx,
         dw0=dw0, dw=dw0 + dw, db0=db0, db=db0 + db)


def embedding():
    n, v, c = 11, 17, 12
    ids = torch.tensor([3, 0, 16, 3, 5, 5, 5, 9, 1, 16, 2], dtype=torch.int32)
    table, dy = rand(v, c), rand(n, c)
    out = torch.nn.functional.embedding(ids.long(), table)
    (dt,) = grads(out, (table,), dy)
    dt0 = rand(v, c)
    save("embedding", dict(n=n, v=v, c=c), ids=ids, table=table, dy=dy, out=out, dt0=dt0, dt=dt0 + dt)


def rmsnorm(name, module, shape, eps):
    # Rows are normalized over the last dim; per-head q/k norm (Qwen3) is the same op on (N·H, D).
    cols = shape[-1]
    m = module(cols, eps=eps).double()
    with torch.no_grad():
        m.weight.copy_(torch.randn(cols, generator=gen).float().double())
    x, dy = rand(*shape), rand(*shape)
    y = m(x)
    dx, dw = grads(y, (x, m.weight), dy)
    rows = x.numel() // cols
    rstd = torch.rsqrt(x.detach().pow(2).mean(-1) + eps).reshape(rows)
    dw0, dx0 = rand(cols), rand(*shape)
    save(name, dict(rows=rows, cols=cols, eps=eps), x=x.reshape(rows, cols), w=m.weight, dy=dy.reshape(rows, cols),
         y=y.reshape(rows, cols), rstd=rstd, dx=dx.reshape(rows, cols), dx0=dx0.reshape(rows, cols),
         dxacc=(dx0 + dx).reshape(rows, cols), dw0=dw0, dw=dw0 + dw)


def rmsnorm_massive_activation():
    # Rows with one massive activation (as LLM hidden states carry in a few channels) early in
    # the row and thousands of small ones, each square just under half an ulp of the outlier's
    # square: an fp32 running sum of squares drops them all, ~1e-4 of the total.
    rows, cols, eps, outlier = 3, 4096, 1e-5, 2048.0
    half_ulp = 2.0 ** (math.floor(math.log2(outlier * outlier)) - 24)
    squares = half_ulp * (0.5 + 0.45 * torch.rand(rows, cols, generator=gen, dtype=torch.float64))
    signs = torch.randint(0, 2, (rows, cols), generator=gen) * 2 - 1
    x = (squares.sqrt() * signs).float().double()
    for r, channel in enumerate([0, 5, 17]):
        x[r, channel] = outlier
    m = LlamaRMSNorm(cols, eps=eps).double()
    with torch.no_grad():
        m.weight.copy_(torch.randn(cols, generator=gen).float().double())
        y = m(x)
    rstd = torch.rsqrt(x.pow(2).mean(-1) + eps)
    save("rmsnorm_massive_activation", dict(rows=rows, cols=cols, eps=eps), x=x, w=m.weight, y=y, rstd=rstd)


def rope_config(head_dim, theta, scaling):
    cfg = LlamaConfig(hidden_size=head_dim * 4, num_attention_heads=4, num_key_value_heads=2, head_dim=head_dim,
                      max_position_embeddings=131072, rope_theta=theta, rope_scaling=scaling)
    return cfg


def rope():
    # Llama 3.1 scaling with a head dim whose frequencies fall in all three bands
    # (wavelengths 6 .. 6e5 vs. 2048 / 8192), positions large enough to matter.
    b, t, h, d = 2, 7, 4, 16
    scaling = dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                   original_max_position_embeddings=8192)
    rot = LlamaRotaryEmbedding(rope_config(d, 500000.0, scaling))
    positions = torch.tensor([[0, 1, 2, 3, 4, 5, 6], [4093, 4094, 4095, 17, 18, 5000, 9000]], dtype=torch.int32)
    x, dy = rand(b, t, h, d), rand(b, t, h, d)
    cos, sin = rot(x, positions.long())  # fp32 angles and cos/sin, as HF computes them
    # apply_rotary_pos_emb works on (B, H, T, D).
    y, _ = apply_rotary_pos_emb(x.transpose(1, 2), x.transpose(1, 2), cos, sin)
    y = y.transpose(1, 2)
    (dx,) = grads(y, (x,), dy)
    save("rope", dict(tokens=b * t, heads=h, headDim=d), positions=positions.reshape(-1), invFreq=rot.inv_freq,
         x=x.reshape(b * t, h * d), dy=dy.reshape(b * t, h * d), y=y.reshape(b * t, h * d), dx=dx.reshape(b * t, h * d))


def rope_frequencies():
    # inv_freq of transformers' init functions for each scaling kind.
    cases = {
        "none": (64, 1000000.0, None),
        "linear": (48, 10000.0, dict(rope_type="linear", factor=4.0)),
        "llama3": (128, 500000.0, dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                       original_max_position_embeddings=8192)),
    }
    tensors = {}
    for key, (d, theta, scaling) in cases.items():
        tensors[key] = LlamaRotaryEmbedding(rope_config(d, theta, scaling)).inv_freq
    save("rope_frequencies", {}, **tensors)


def attention():
    # Causal GQA (4 query heads over 2 kv heads), head dim not a power of two, T above one
    # 64-query block and not a multiple of it.
    b, t, h, hkv, d = 2, 75, 4, 2, 24
    q, k, v = rand(b, t, h, d), rand(b, t, hkv, d), rand(b, t, hkv, d)
    dy = rand(b, t, h, d)
    out, lse = causal_attention(q, k, v)
    dq, dk, dv = grads(out, (q, k, v), dy)
    save("attention", dict(batch=b, seqLen=t, heads=h, kvHeads=hkv, headDim=d), q=q, k=k, v=v, dy=dy,
         out=out, lse=lse, dq=dq, dk=dk, dv=dv)


def attention_sink():
    # Long-context attention with a sink: key 0 scores ~17 above all others, so behind it each
    # later key's exp term is just under half an ulp of an fp32 running sum; a query at the end
    # sees ~1000 of them, ~5e-5 of its softmax mass. One head of dim 4; channel 0 carries the
    # sink's score.
    b, t, h, hkv, d = 1, 1024, 1, 1, 4
    q = torch.randn(b, t, h, d, generator=gen) * 0.1
    k = torch.randn(b, t, hkv, d, generator=gen) * 0.1
    q[..., 0] = 1
    k[..., 0] = 0
    k[:, 0, :, 0] = 2 * 16.9  # score = q·k / sqrt(4)
    v = torch.randn(b, t, hkv, d, generator=gen)
    dy = torch.randn(b, t, h, d, generator=gen)
    q, k, v, dy = (x.float().double().requires_grad_(True) for x in (q, k, v, dy))
    out, lse = causal_attention(q, k, v)
    dq, dk, dv = grads(out, (q, k, v), dy)
    # dq, dk are stored for completeness; the tests skip them (an fp32 cancellation, see there).
    save("attention_sink", dict(batch=b, seqLen=t, heads=h, kvHeads=hkv, headDim=d), q=q, k=k, v=v, dy=dy,
         out=out, lse=lse, dq=dq, dk=dk, dv=dv)


def causal_attention(q, k, v):
    """out (B,T,H,D) and lse (B,H,T) of causal GQA attention, q (B,T,H,D), k/v (B,T,Hkv,D)."""
    h, hkv, t, d = q.shape[2], k.shape[2], q.shape[1], q.shape[3]
    qh = q.transpose(1, 2)
    kh = k.transpose(1, 2).repeat_interleave(h // hkv, dim=1)
    vh = v.transpose(1, 2).repeat_interleave(h // hkv, dim=1)
    scores = qh @ kh.transpose(-1, -2) / math.sqrt(d)
    mask = torch.ones(t, t, dtype=torch.bool).tril()
    scores = scores.masked_fill(~mask, float("-inf"))
    lse = torch.logsumexp(scores, dim=-1)  # (B, H, T)
    out = (torch.softmax(scores, dim=-1) @ vh).transpose(1, 2)  # (B, T, H, D)
    return out, lse


def swiglu():
    n, i = 10, 33
    gate, up, dy = rand(n, i, scale=3.0), rand(n, i), rand(n, i)
    y = torch.nn.functional.silu(gate) * up
    dg, du = grads(y, (gate, up), dy)
    save("swiglu", dict(count=n * i), gate=gate, up=up, dy=dy, y=y, dgate=dg, dup=du)


def elementwise():
    n = 1000
    a, b = rand(n), rand(n)
    factor = 0.37
    vals = torch.cat([torch.randn(64, generator=gen) * 100,
                      torch.tensor([0.0, -0.0, 1.0, 1.00390625, 1.01171875, 3.4e38, -3.4e38, 1e-40])]).float()
    save("elementwise", dict(n=n, factor=factor), a=a, b=b, sum=a + b, scaled=a * factor,
         sumsq=(a.detach() ** 2).sum().reshape(1), bf16in=vals,
         bf16bits=vals.to(torch.bfloat16).view(torch.int16))


def cross_entropy():
    # HF labels (aligned with input_ids, -100 ignored); the op takes them already shifted:
    # targets[t] = labels[t + 1] within each sequence, -100 at each sequence end. The loss is
    # the token-weighted mean over the optimizer step: sum / num_items_in_batch, where
    # num_items_in_batch counts the step's targets (more than this micro-batch's).
    b, t, c, v = 2, 9, 16, 50
    labels = torch.randint(0, v, (b, t), generator=gen)
    labels[0, :3] = -100  # a masked prompt
    labels[1, 5] = -100
    num_items = 31
    hidden, w = rand(b * t, c), rand(v, c, scale=0.5)
    logits = hidden @ w.T
    loss = ForCausalLMLoss(logits.reshape(b, t, v), labels, v, num_items_in_batch=torch.tensor(num_items))
    dh, dw = torch.autograd.grad(loss, (hidden, w))
    targets = torch.nn.functional.pad(labels, (0, 1), value=-100)[:, 1:].reshape(-1).int()
    dw0 = rand(v, c)
    save("cross_entropy", dict(tokens=b * t, channels=c, vocab=v, numItems=num_items),
         hidden=hidden, w=w, labels=labels.reshape(-1).int(), targets=targets,
         lossSum=(loss * num_items).reshape(1), dhidden=dh, dw0=dw0, dw=dw0 + dw)


def cross_entropy_wide_vocab():
    # An LM-like distribution: a few likely tokens (low ids, so a sweep over the vocabulary
    # meets them first), each position's next label the likeliest of them, and a long tail of
    # unlikely tokens ~e^-15 below. Summed in fp32 after the likely ones, each tail term is
    # under half an ulp of the running sum and rounds away, though together they hold ~1e-4 of
    # the probability mass: such a loss comes out ~1e-4 low. Channel 0 of the hidden states is
    # 1, so w[:, 0] sets the tail's offset.
    b, t, c, v, hot = 2, 4, 4, 8192, 8
    hidden = torch.randn(b * t, c, generator=gen)
    hidden[:, 0] = 1
    w = torch.randn(v, c, generator=gen) * 0.5
    w[:, 0] = -15
    w[:hot] = torch.randn(hot, c, generator=gen)
    w[:hot, 0] = 0
    hidden, w = hidden.float().double().requires_grad_(True), w.float().double().requires_grad_(True)
    likeliest = (hidden @ w[:hot].T).argmax(-1).reshape(b, t)
    labels = torch.full((b, t), -100)
    labels[:, 1:] = likeliest[:, :-1]
    num_items = b * (t - 1)
    logits = hidden @ w.T
    loss = ForCausalLMLoss(logits.reshape(b, t, v), labels, v, num_items_in_batch=torch.tensor(num_items))
    dh, dw = torch.autograd.grad(loss, (hidden, w))
    targets = torch.nn.functional.pad(labels, (0, 1), value=-100)[:, 1:].reshape(-1).int()
    save("cross_entropy_wide_vocab", dict(tokens=b * t, channels=c, vocab=v, numItems=num_items),
         hidden=hidden, w=w, targets=targets, lossSum=(loss * num_items).reshape(1), dhidden=dh, dw=dw)


def main():
    os.makedirs(OUT, exist_ok=True)
    linear()
    embedding()
    rmsnorm("rmsnorm", LlamaRMSNorm, (9, 20), 1e-5)
    rmsnorm("qknorm", Qwen3RMSNorm, (6, 4, 24), 1e-6)
    rope()
    rope_frequencies()
    attention()
    swiglu()
    elementwise()
    cross_entropy()
    cross_entropy_wide_vocab()
    rmsnorm_massive_activation()
    attention_sink()


if __name__ == "__main__":
    main()
