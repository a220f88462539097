"""The flow-matching training steps of `genlab bench flow`, in PyTorch, for a side-by-side
speed comparison on the same CPU. Identical model, loss, optimiser and FLOP count:

  net: [x, τ, sin(ω_j τ), cos(ω_j τ)] (ω_j = 64^(j/15), j < 16) → Linear/ReLU ×3 → Linear
  loss: mean((v(x_t, t) − (ε − x0))²),  x_t = (1 − t) x0 + t ε
  AdamW(lr 1e-3, weight decay 0, eps 1e-5)

Run: bench/torch_flow.py [--threads 2] [--steps 50] (from a venv with `pip install torch`).
"""

import time

import torch

import twin


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
    return twin.row(name, 6.0 * batch * macs, times)


def main():
    a = twin.parse(__doc__, threads=2)
    rows = [
        bench("flow2d (2-D FM, MLP 4×256 ReLU, batch 4096)", 2, 4096, a.steps, a.warmup),
        bench("digits (64-D FM, MLP 4×256 ReLU, batch 256)", 64, 256, a.steps, a.warmup),
    ]
    twin.report(rows, a)


if __name__ == "__main__":
    main()
