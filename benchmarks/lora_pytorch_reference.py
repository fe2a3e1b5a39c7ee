#!/usr/bin/env python3
"""The PyTorch side of scripts/bench_lora.sh: LoRA training tokens/s and peak RSS of an eager
PyTorch LLaMA built from a model directory's config.json (random weights: speed does not
depend on them), with the settings `lamina lora` gets there — LoRA on the chosen projections,
Adam, float32, one batch of B rows x L tokens per step (L - 1 inputs and targets per row, the
tokens lamina counts), optional per-block gradient checkpointing. Dev-time only (Debian's
python3-torch); lamina never depends on it.

  lora_pytorch_reference.py --config DIR/config.json [--batch-size 4] [--seq-length 256]
      [--rank 8] [--keys q_proj,v_proj] [--iters 4] [--threads 2] [--grad-checkpoint]

Prints one JSON object: tokens_per_second (steps after the first), step_seconds, loss,
trainable_parameters, peak_rss_bytes.
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint


class LoraLinear(nn.Module):
    """y = x W^T + scale * (x A) B, W frozen (mlx-lm's LoRALinear, dropout 0)."""

    def __init__(self, base, rank, scale):
        super().__init__()
        self.base = base
        self.base.weight.requires_grad_(False)
        self.scale = scale
        bound = 1.0 / math.sqrt(base.in_features)
        self.lora_a = nn.Parameter(torch.empty(base.in_features, rank).uniform_(-bound, bound))
        self.lora_b = nn.Parameter(torch.zeros(rank, base.out_features))

    def forward(self, x):
        return self.base(x) + self.scale * ((x @ self.lora_a) @ self.lora_b)


class RMSNorm(nn.Module):
    def __init__(self, dims, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dims), requires_grad=False)
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        hidden, self.heads = c["hidden_size"], c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads", self.heads)
        self.head_dim = c.get("head_dim", hidden // self.heads)
        linear = lambda i, o: nn.Linear(i, o, bias=False)
        self.q_proj = linear(hidden, self.heads * self.head_dim)
        self.k_proj = linear(hidden, self.kv_heads * self.head_dim)
        self.v_proj = linear(hidden, self.kv_heads * self.head_dim)
        self.o_proj = linear(self.heads * self.head_dim, hidden)
        self.gate_proj = linear(hidden, c["intermediate_size"])
        self.up_proj = linear(hidden, c["intermediate_size"])
        self.down_proj = linear(c["intermediate_size"], hidden)
        eps = c.get("rms_norm_eps", 1e-5)
        self.input_norm, self.post_attention_norm = RMSNorm(hidden, eps), RMSNorm(hidden, eps)

    def forward(self, h, cos, sin, mask):
        B, L, _ = h.shape
        x = self.input_norm(h)
        q = self.q_proj(x).view(B, L, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(B, L, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(B, L, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        groups = self.heads // self.kv_heads
        if groups > 1:  # transformers' repeat_kv
            k = k[:, :, None].expand(B, self.kv_heads, groups, L, self.head_dim).reshape(B, self.heads, L, -1)
            v = v[:, :, None].expand(B, self.kv_heads, groups, L, self.head_dim).reshape(B, self.heads, L, -1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.head_dim) + mask
        attn = torch.softmax(scores, dim=-1) @ v
        h = h + self.o_proj(attn.transpose(1, 2).reshape(B, L, -1))
        x = self.post_attention_norm(h)
        return h + self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Llama(nn.Module):
    def __init__(self, c, grad_checkpoint):
        super().__init__()
        self.embed = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList(Block(c) for _ in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c.get("rms_norm_eps", 1e-5))
        self.tied = c.get("tie_word_embeddings", False)
        if not self.tied:
            self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        self.head_dim = c.get("head_dim", c["hidden_size"] // c["num_attention_heads"])
        self.theta = c.get("rope_theta", c.get("rope_parameters", {}).get("rope_theta", 10000.0))
        self.grad_checkpoint = grad_checkpoint

    def forward(self, tokens):
        L = tokens.shape[1]
        inv = 1.0 / (self.theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim))
        freqs = torch.outer(torch.arange(L, dtype=torch.float32), inv)
        angles = torch.cat((freqs, freqs), dim=-1)
        cos, sin = angles.cos(), angles.sin()
        mask = torch.full((L, L), float("-inf")).triu(1)
        h = self.embed(tokens)
        for layer in self.layers:
            if self.grad_checkpoint:
                h = checkpoint(layer, h, cos, sin, mask, use_reentrant=False)
            else:
                h = layer(h, cos, sin, mask)
        h = self.norm(h)
        return h @ self.embed.weight.t() if self.tied else self.lm_head(h)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--seq-length", type=int, default=256)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--scale", type=float, default=20.0)
    p.add_argument("--keys", default="q_proj,v_proj")
    p.add_argument("--iters", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--grad-checkpoint", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with open(a.config) as f:
        config = json.load(f)
    model = Llama(config, a.grad_checkpoint)
    model.requires_grad_(False)  # only the adapters train
    for block in model.layers:
        for key in a.keys.split(","):
            setattr(block, key, LoraLinear(getattr(block, key), a.rank, a.scale))
    params = [q for q in model.parameters() if q.requires_grad]
    optimizer = torch.optim.Adam(params, lr=1e-5)
    tokens = torch.randint(0, config["vocab_size"], (a.batch_size, a.seq_length))
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    step_seconds = []
    for _ in range(a.iters):
        start = time.perf_counter()
        logits = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step_seconds.append(time.perf_counter() - start)
    timed = step_seconds[1:] or step_seconds
    tokens_per_step = a.batch_size * (a.seq_length - 1)
    print(json.dumps({
        "tokens_per_second": tokens_per_step * len(timed) / sum(timed),
        "step_seconds": step_seconds,
        "loss": loss.item(),
        "trainable_parameters": sum(q.numel() for q in params),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


if __name__ == "__main__":
    main()
