"""The training steps of `genlab bench contrastive`, in PyTorch, for a side-by-side speed
comparison on the same CPU. Same network, views, objectives, optimiser and FLOP count:

  data:   4096 random 64-d rows over 20 classes (the Rust side uses its synthetic factor set;
          the step's cost does not depend on the values)
  views:  two per row, Gaussian jitter σ = 0.1 and feature dropout p = 0.2
  net:    MLP 64 → 256 → 128 (ReLU), projector 128 → 128 → 64 + LayerNorm, L2-normalised
  gate:   (Hydra) one-hot pair average (20) → Linear(20, 64, no bias) → ReLU → Linear(64, 128)
          → ReLU → Linear(128, 64) → sigmoid
  loss:   simclr = NT-Xent (τ 0.1) over 2B = 512 views; supcon = Khosla L_out;
          hydra = (NT-Xent + pair-gated disparate loss)/2 with arbitrary pairs, learnable τ⁻¹
  step:   forward, loss, backward, Adam(lr 2e-3), batch B = 256

Run: bench/torch_contrastive.py [--threads 2] [--steps 50] (from a venv with torch).
"""

import math
import time

import torch
import torch.nn.functional as F

import twin

B, D_IN, C, D = 256, 64, 20, 64


class Net(torch.nn.Module):
    def __init__(self, gated):
        super().__init__()
        self.enc = torch.nn.Sequential(torch.nn.Linear(D_IN, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128))
        self.proj = torch.nn.Sequential(torch.nn.Linear(128, 128), torch.nn.ReLU(), torch.nn.Linear(128, D),
                                        torch.nn.LayerNorm(D))
        self.gate = torch.nn.Sequential(torch.nn.Linear(C, 64, bias=False), torch.nn.ReLU(), torch.nn.Linear(64, 128),
                                        torch.nn.ReLU(), torch.nn.Linear(128, D)) if gated else None
        self.log_inv_tau = torch.nn.Parameter(torch.tensor([math.log(10.0)]))

    def forward(self, x):
        return F.normalize(self.proj(self.enc(x)), dim=1)


def lse_masked(s, mask):
    m = (s.detach() - (1 - mask) * 1e4).max(dim=1, keepdim=True).values
    return ((s - m).exp() * mask).sum(1, keepdim=True).clamp_min(1e-30).log() + m


def nt_xent(z, tau):
    n = z.shape[0]
    s = z @ z.T / tau
    eye = torch.eye(n)
    pos = torch.roll(eye, n // 2, dims=1)
    return (lse_masked(s, 1 - eye) - (s * pos).sum(1, keepdim=True)).mean()


def supcon(z, y, tau):
    n = z.shape[0]
    s = z @ z.T / tau
    eye = torch.eye(n)
    pos = (y[:, None] == y[None, :]).float() - eye
    mean_pos = (s * pos).sum(1, keepdim=True) / pos.sum(1, keepdim=True)
    return (lse_masked(s, 1 - eye) - mean_pos).mean()


def hydra(z, g, y, y2, inv_tau):
    gg = g * g
    zz = z * z
    s = (z * gg) @ z.T / (zz * gg).sum(1, keepdim=True).sqrt().clamp_min(1e-8) / (gg @ zz.T).sqrt().clamp_min(1e-8)
    s = s * inv_tau
    s = s - s.mean(1, keepdim=True)
    n = z.shape[0]
    pos = ((y[None, :] == y2[:, None]) & ~torch.eye(n, dtype=torch.bool)).float()
    neg = ((y[None, :] != y[:, None]) & (y[None, :] != y2[:, None])).float()
    m = (s.detach() - (1 - (pos + neg).clamp_max(1)) * 1e4).max(1, keepdim=True).values
    sh = s - m
    e = sh.exp()
    terms = (e + (e * neg).sum(1, keepdim=True)).clamp_min(1e-30).log() - sh
    return (terms * pos).sum() / pos.sum().clamp_min(1)


def views(x):
    keep = (torch.rand_like(x) >= 0.2).float()
    return x * keep + 0.1 * torch.randn_like(x)


def flops(gated):
    n = 2 * B
    macs = 64 * 256 + 256 * 128 + 128 * 128 + 128 * 64
    sim = n * n * D
    if gated:
        macs += 20 * 64 + 64 * 128 + 128 * 64
        sim *= 3
    return 6 * n * macs + 6 * sim


def bench(objective, steps, warmup):
    torch.manual_seed(0)
    gated = objective == "hydra"
    net = Net(gated)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    data = torch.randn(4096, D_IN)
    labels = torch.arange(4096) % C
    times = []
    for s in range(warmup + steps):
        start = time.perf_counter()
        idx = torch.randint(0, 4096, (B,))
        x, y = data[idx], labels[idx]
        z = net(torch.cat([views(x), views(x)]))
        yv = torch.cat([y, y])
        if objective == "simclr":
            loss = nt_xent(z, 0.1)
        elif objective == "supcon":
            loss = supcon(z, yv, 0.1)
        else:
            y2 = y[torch.randperm(B)]
            y2v = torch.cat([y2, y2])
            fused = 0.5 * (F.one_hot(yv, C) + F.one_hot(y2v, C)).float()
            g = torch.sigmoid(net.gate(fused))
            inv_tau = net.log_inv_tau.exp().clamp_max(30.0)
            loss = (nt_xent(z, 0.1) + hydra(z, g, yv, y2v, inv_tau)) / 2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()
        if s >= warmup:
            times.append(time.perf_counter() - start)
    return f"{objective} train step (MLP, batch {B})", flops(gated), times


def main():
    args = twin.parse(__doc__)
    rows = [twin.row(*bench(o, args.steps, args.warmup)) for o in ("simclr", "supcon", "hydra")]
    twin.report(rows, args)


if __name__ == "__main__":
    main()
