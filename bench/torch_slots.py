"""The CODA slot-learning step of `genlab bench slots`, in PyTorch, for a side-by-side speed
comparison on the same CPU. Same encoder, slot attention, decoder, batch, loss and optimiser
(crates/slots/src/{encoder,slot_attention,decoder,coda}.rs):

  encoder: im2col 8×8/4 (pad 2) patches → Linear 192→64, ReLU → 3×3 conv (unfold) 576→64,
           ReLU → + Linear(4→64) position → LN → MLP 64→64→64         [b, 64, 64]
  slot attention: 6 slots of 64, 3 iterations, softmax over slots, ε-renormalised over inputs,
           GRU cell, residual MLP 64→128→64; → LN → Linear 64→64 (context width)
  decoder: 4×4 patches (48) → Linear → + pos + time MLP(16→64→64); 2 blocks of
           [self-attn 1 head, cross-attn 4 heads over [slots ; 5 registers], MLP 64→128→64]
           → LN → Linear 64→48 = v̂, then ε̂ = √(1−ᾱ) x_u + √ᾱ v̂ (the v-parameterised
           output with its analytic skip); frozen except cross-attention K/V/O
  loss:    w(u)-weighted ε MSE of the positive pass − 0.05 × that of the swapped-slot negative
           pass, whose K/V/O weights are detached (stop-gradient)
  AdamW(lr 1e-3, weight decay 1e-4, eps 1e-5), gradient-norm clip 1.0, batch 32

Run: bench/torch_slots.py [--threads 2] [--steps 30] (from a venv with `pip install torch`).
"""

import argparse
import json
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

B, K, D, W, SIZE, ITERS, HEADS, REG, BLOCKS = 32, 6, 64, 64, 32, 3, 4, 5, 2
G = 8  # encoder grid side
T = 64  # decoder tokens


class Mlp(nn.Module):
    def __init__(self, i, h, o):
        super().__init__()
        self.l1, self.l2 = nn.Linear(i, h), nn.Linear(h, o)

    def forward(self, x):
        return self.l2(torch.relu(self.l1(x)))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Linear(192, D)
        self.conv2 = nn.Linear(9 * D, D)
        self.pos = nn.Linear(4, D)
        self.norm = nn.LayerNorm(D)
        self.mlp = Mlp(D, D, D)
        g = torch.linspace(0, 1, G)
        y, x = torch.meshgrid(g, g, indexing="ij")
        self.register_buffer("grid", torch.stack([x, y, 1 - x, 1 - y], -1).reshape(1, G * G, 4))

    def forward(self, patches):
        b = patches.shape[0]
        h = torch.relu(self.conv1(patches)).reshape(b, G, G, D).permute(0, 3, 1, 2)
        u = F.unfold(h, 3, padding=1)  # [b, 9D, G²]
        h = torch.relu(self.conv2(u.transpose(1, 2)))
        return self.mlp(self.norm(h + self.pos(self.grid)))


class SlotAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.ni, self.ns, self.nm = nn.LayerNorm(D), nn.LayerNorm(D), nn.LayerNorm(D)
        self.q, self.k, self.v = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D)
        self.gru = nn.GRUCell(D, D)
        self.mlp = Mlp(D, 2 * D, D)
        self.mu = nn.Parameter(torch.zeros(D))
        self.log_sigma = nn.Parameter(torch.full((D,), -1.0))

    def forward(self, x, noise):
        x = self.ni(x)
        k, v = self.k(x), self.v(x)
        s = self.mu + self.log_sigma.exp() * noise
        for _ in range(ITERS):
            prev = s
            q = self.q(self.ns(s))
            a = torch.softmax(k @ q.transpose(1, 2) / math.sqrt(D), dim=2)
            w = (a + 1e-8) / (a + 1e-8).sum(1, keepdim=True)
            upd = w.transpose(1, 2) @ v
            s = self.gru(upd.reshape(-1, D), prev.reshape(-1, D)).reshape(-1, K, D)
            s = s + self.mlp(self.nm(s))
        return s


class SelfAttn(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(W, W) for _ in range(4))

    def forward(self, x):
        a = torch.softmax(self.q(x) @ self.k(x).transpose(1, 2) / math.sqrt(W), dim=2)
        return self.o(a @ self.v(x))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.n1, self.n2, self.n3 = nn.LayerNorm(W), nn.LayerNorm(W), nn.LayerNorm(W)
        self.attn = SelfAttn()
        self.cq = nn.Linear(W, W)
        self.mlp = Mlp(W, 2 * W, W)


class Kvo(nn.Module):
    def __init__(self):
        super().__init__()
        self.k, self.v, self.o = nn.Linear(W, W), nn.Linear(W, W), nn.Linear(W, W)


def lin(layer, x, stop):
    if stop:
        return F.linear(x, layer.weight.detach(), layer.bias.detach())
    return layer(x)


class Body(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(48, W)
        self.pos = nn.Parameter(0.5 * torch.randn(T, W))
        self.time = Mlp(16, W, W)
        self.blocks = nn.ModuleList(Block() for _ in range(BLOCKS))
        self.norm = nn.LayerNorm(W)
        self.out = nn.Linear(W, 48)

    def forward(self, x, u, ctx, kvos, stop):
        j = torch.arange(8)
        ph = (2.0 ** j * math.pi)[None, :] * u[:, None]
        tf = torch.stack([ph.sin(), ph.cos()], -1).reshape(-1, 1, 16)
        h = self.inp(x) + self.pos + self.time(tf)
        b, m = x.shape[0], ctx.shape[1]
        e = W // HEADS
        for blk, kvo in zip(self.blocks, kvos):
            h = h + blk.attn(blk.n1(h))
            q = blk.cq(blk.n2(h)).reshape(b, T, HEADS, e).transpose(1, 2)
            k = lin(kvo.k, ctx, stop).reshape(b, m, HEADS, e).transpose(1, 2)
            v = lin(kvo.v, ctx, stop).reshape(b, m, HEADS, e).transpose(1, 2)
            a = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(e), dim=3) @ v
            h = h + lin(kvo.o, a.transpose(1, 2).reshape(b, T, W), stop)
            h = h + blk.mlp(blk.n3(h))
        a = alpha_bar(u)[:, None, None]
        return (1 - a).sqrt() * x + a.sqrt() * self.out(self.norm(h))


class SlotModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc, self.sa = Encoder(), SlotAttention()
        self.norm, self.proj = nn.LayerNorm(D), nn.Linear(D, W)
        self.kvo = nn.ModuleList(Kvo() for _ in range(BLOCKS))


def alpha_bar(u):
    f = lambda u: torch.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2
    a0 = (f(u) / f(torch.zeros(()))).clamp(0, 1)
    snr = a0 / (1 - a0).clamp_min(1e-12) / 64.0
    return (snr / (1 + snr)).clamp(1e-4, 1 - 1e-4)


def weighted(eps, pred, u):
    w = (1 / alpha_bar(u)).clamp_max(1000.0)
    return (((eps - pred) ** 2).mean((1, 2)) * w).mean()


def bench(steps, warmup):
    torch.manual_seed(0)
    body = Body().requires_grad_(False)
    registers = torch.randn(1, REG, W)
    model = SlotModel()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4, eps=1e-5)
    images = torch.rand(256, 3, SIZE, SIZE)
    times = []
    for s in range(warmup + steps):
        start = time.perf_counter()
        idx = torch.randint(0, 256, (B,))
        x = images[idx] * 2 - 1
        enc = F.unfold(x, 8, stride=4, padding=2).transpose(1, 2)  # [b, 64, 192]
        x0 = F.unfold(x, 4, stride=4).transpose(1, 2)  # [b, 64, 48]
        half = torch.randn(B // 2, K, D)
        noise = torch.cat([half, half])
        u = torch.rand(B)
        eps = torch.randn(B, T, 48)
        swap = (torch.rand(B, K, 1) < 0.5).float()
        slots = model.proj(model.norm(model.sa(model.enc(enc), noise)))
        a = alpha_bar(u)[:, None, None]
        xu = a.sqrt() * x0 + (1 - a).sqrt() * eps
        reg = registers.expand(B, REG, W)
        pos = weighted(eps, body(xu, u, torch.cat([slots, reg], 1), model.kvo, False), u)
        other = torch.cat([slots[B // 2 :], slots[: B // 2]])
        neg_slots = swap * other + (1 - swap) * slots
        neg = weighted(eps, body(xu, u, torch.cat([neg_slots, reg], 1), model.kvo, True), u)
        loss = pos - 0.05 * neg
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss.item()
        if s >= warmup:
            times.append(time.perf_counter() - start)
    times_sorted = sorted(times)
    return {
        "name": "coda slot step (32×32, 6 slots, decoder 2×64, batch 32)",
        "threads": torch.get_num_threads(),
        "steps_per_s": len(times) / sum(times),
        "p10_steps_per_s": 1.0 / times_sorted[int(len(times) * 0.1)],
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    r = bench(a.steps, a.warmup)
    if a.json:
        print(json.dumps([r], indent=2))
        return
    print(f"torch {torch.__version__}, threads: {a.threads}")
    print(f"{'step':56} {'steps/s':>10} {'p10':>10}")
    print(f"{r['name']:56} {r['steps_per_s']:>10.2f} {r['p10_steps_per_s']:>10.2f}")


if __name__ == "__main__":
    main()
