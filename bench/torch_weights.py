"""The twin of `genlab bench weights`: the same measurements with scipy and PyTorch on the same
CPU, one sitting.

  lap n            scipy.optimize.linear_sum_assignment on uniform random n x n costs
                   (n = 32, 128, 512), solves/s
  match pair       weight matching (coordinate descent, scipy LAP) of two random
                   64-32-32-10 MLPs, pairs/s
  flow step d_h    the DeepWeightFlow velocity net (time embed 1-64-64, Linear/LN/GELU/Dropout
                   blocks d_h, d_h/2, d_h, zero-initialised output), dim 99, batch 8,
                   AdamW(lr 5e-4, betas (0.9, 0.95), wd 1e-5), steps/s (d_h = 64, 512)
  generate         100 networks: RK4 with 100 steps from N(0, 0.01^2) in 99 dims, then the
                   inverse PCA (99 -> 3466), networks/s

Run: bench/torch_weights.py [--threads 2] [--steps 50] (venv with torch, numpy, scipy).
"""

import argparse
import json
import time

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

DIM = 99
NET_DIM = 3466


def rate(warmup, runs, f):
    for _ in range(warmup):
        f()
    start = time.perf_counter()
    for _ in range(runs):
        f()
    return runs / (time.perf_counter() - start)


def lap_rows(steps):
    rows = []
    for n in (32, 128, 512):
        rng = np.random.default_rng(n)
        problems = [rng.random((n, n)) for _ in range(8)]
        k = [0]

        def solve():
            linear_sum_assignment(problems[k[0] % 8])
            k[0] += 1

        rows.append((f"lap n={n} (scipy)", rate(1, max(steps * 32 // n, 3), solve), "solves/s"))
    return rows


def weight_matching(a, b, sweeps=100, seed=42):
    """a, b: lists of (W [out, in], bias [out]); hidden permutations by coordinate descent."""
    L = len(a)
    perms = [np.arange(a[l][0].shape[0]) for l in range(L - 1)]
    rng = np.random.default_rng(seed)
    for _ in range(sweeps):
        progress = False
        for p in rng.permutation(L - 1):
            prev = perms[p - 1] if p > 0 else np.arange(a[p][0].shape[1])
            nxt = perms[p + 1] if p + 1 < L - 1 else np.arange(a[p + 1][0].shape[0])
            wa, ba = a[p]
            wb, bb = b[p]
            c = wa @ wb[:, prev].T + np.outer(ba, bb)
            wa2 = a[p + 1][0]
            wb2 = b[p + 1][0][nxt]
            c += wa2.T @ wb2
            old = c[np.arange(len(perms[p])), perms[p]].sum()
            _, cols = linear_sum_assignment(c, maximize=True)
            if c[np.arange(len(cols)), cols].sum() > old + 1e-12:
                perms[p] = cols
                progress = True
        if not progress:
            break
    return perms


def matching_row(steps):
    rng = np.random.default_rng(1)
    widths = [64, 32, 32, 10]

    def net():
        return [
            (rng.uniform(-1, 1, (o, i)) * np.sqrt(6 / i), np.zeros(o))
            for i, o in zip(widths[:-1], widths[1:])
        ]

    a, b = net(), net()
    return ("weight matching 64-32-32-10 pair (numpy+scipy)", rate(1, max(steps, 3), lambda: weight_matching(a, b)), "pairs/s")


class WeightFlowNet(torch.nn.Module):
    def __init__(self, dim, hidden, time_dim=64, dropout=0.1):
        super().__init__()
        self.time = torch.nn.Sequential(
            torch.nn.Linear(1, time_dim), torch.nn.GELU(), torch.nn.Linear(time_dim, time_dim)
        )
        half = hidden // 2
        self.net = torch.nn.Sequential(
            torch.nn.Linear(dim + time_dim, hidden), torch.nn.LayerNorm(hidden), torch.nn.GELU(),
            torch.nn.Dropout(dropout),
            torch.nn.Linear(hidden, half), torch.nn.LayerNorm(half), torch.nn.GELU(),
            torch.nn.Dropout(dropout),
            torch.nn.Linear(half, hidden), torch.nn.LayerNorm(hidden), torch.nn.GELU(),
            torch.nn.Linear(hidden, dim),
        )
        torch.nn.init.zeros_(self.net[-1].weight)
        torch.nn.init.zeros_(self.net[-1].bias)

    def forward(self, x, t):
        return self.net(torch.cat([x, self.time(t)], dim=1))


def flow_rows(steps, warmup):
    rows = []
    for hidden in (64, 512):
        torch.manual_seed(0)
        net = WeightFlowNet(DIM, hidden)
        opt = torch.optim.AdamW(net.parameters(), lr=5e-4, betas=(0.9, 0.95), weight_decay=1e-5)

        def step():
            x1 = torch.randn(8, DIM)
            x0 = torch.randn(8, DIM) * 0.01
            t = torch.rand(8, 1)
            xt = (1 - t) * x0 + t * x1
            loss = ((net(xt, t) - (x1 - x0)) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss.item()

        rows.append((f"flow train step d_h={hidden} (dim {DIM}, batch 8)", rate(warmup, max(steps, 3), step), "steps/s"))
    return rows


def generate_row():
    torch.manual_seed(0)
    net = WeightFlowNet(DIM, 512).eval()
    components = torch.randn(DIM, NET_DIM)
    mean = torch.randn(NET_DIM)
    start = time.perf_counter()
    with torch.no_grad():
        x = torch.randn(100, DIM) * 0.01
        k = 100
        h = 1.0 / k
        for i in range(k):
            t = i * h
            tt = lambda s: torch.full((100, 1), s)
            k1 = net(x, tt(t))
            k2 = net(x + h / 2 * k1, tt(t + h / 2))
            k3 = net(x + h / 2 * k2, tt(t + h / 2))
            k4 = net(x + h * k3, tt(t + h))
            x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        nets = mean + x @ components
        nets.sum().item()
    seconds = time.perf_counter() - start
    return ("generate 100 nets (d_h=512, RK4 x100, PCA 99 -> 3466)", 100 / seconds, "nets/s")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = lap_rows(args.steps) + [matching_row(args.steps)] + flow_rows(args.steps, args.warmup) + [generate_row()]
    if args.json:
        for name, r, unit in rows:
            print(json.dumps({"name": name, "per_second": r, "unit": unit, "threads": args.threads}))
    else:
        print(f"threads: {args.threads}, torch {torch.__version__}")
        for name, r, unit in rows:
            print(f"{name:58s} {r:12.2f} {unit:10s} {1000 / r:10.3f} ms")


if __name__ == "__main__":
    main()
