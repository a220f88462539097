"""The flow-matching training steps of `genlab bench flow`, in PyTorch, for a side-by-side
speed comparison on the same CPU. Identical model, loss, optimiser and FLOP count:

  net: [x, τ, sin(ω_j τ), cos(ω_j τ)] (ω_j = 64^(j/15), j < 16) → Linear/ReLU ×3 → Linear
  loss: mean((v(x_t, t) − (ε − x0))²),  x_t = (1 − t) x0 + t ε
  AdamW(lr 1e-3, weight decay 0, eps 1e-5)

Run: bench/torch_flow.py [--threads 2] [--steps 50] (from a venv with `pip install torch`).
"""

import argparse
import json
import time

import torch


class TimeMlp(torch.nn.Module):
    def __init__(self, dim, width=256, depth=4, n_freqs=16, max_freq=64.0):
        super().__init__()
        self.register_buffer(
            "omega", torch.tensor([max_freq ** (j / (n_freqs - 1)) for j in range(n_freqs)])
        )
        sizes = [dim + 1 + 2 * n_freqs] + [width] * (depth - 1) + [dim]
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(i, o) for i, o in zip(sizes[:-1], sizes[1:])
        )

    def forward(self, x, t):
        phase = t * self.omega
        h = torch.cat([x, t, phase.sin(), phase.cos()], dim=1)
        for layer in self.layers[:-1]:
            h = torch.relu(layer(h))
        return self.layers[-1](h)


def bench(name, dim, batch, steps, warmup):
    torch.manual_seed(0)
    net = TimeMlp(dim)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.0, eps=1e-5)
    x0 = torch.randn(batch, dim)
    times = []
    for s in range(warmup + steps):
        start = time.perf_counter()
        eps = torch.randn(batch, dim)
        t = torch.rand(batch, 1)
        x_t = (1 - t) * x0 + t * eps
        loss = ((net(x_t, t) - (eps - x0)) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()
        if s >= warmup:
            times.append(time.perf_counter() - start)
    macs = sum(l.in_features * l.out_features for l in net.layers)
    times_sorted = sorted(times)
    mean_sps = len(times) / sum(times)
    return {
        "name": name,
        "threads": torch.get_num_threads(),
        "steps_per_s": mean_sps,
        "p10_steps_per_s": 1.0 / times_sorted[int(len(times) * 0.1)],
        "gflops": 6.0 * batch * macs * mean_sps / 1e9,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    rows = [
        bench("flow2d (2-D FM, MLP 4×256 ReLU, batch 4096)", 2, 4096, a.steps, a.warmup),
        bench("digits (64-D FM, MLP 4×256 ReLU, batch 256)", 64, 256, a.steps, a.warmup),
    ]
    if a.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"torch {torch.__version__}, threads: {a.threads}")
    print(f"{'step':48} {'steps/s':>10} {'p10':>10} {'GFLOP/s':>9}")
    for r in rows:
        print(f"{r['name']:48} {r['steps_per_s']:>10.2f} {r['p10_steps_per_s']:>10.2f} {r['gflops']:>9.1f}")


if __name__ == "__main__":
    main()
