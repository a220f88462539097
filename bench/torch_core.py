"""The reference training steps of `genlab bench core`, in PyTorch (see bench/README.md):

  B1 mlp784: MLP 784-512-512-10, exact GELU, batch 256, cross-entropy vs random labels
  B2 flow2d: MLP 3-256-256-256-2, exact GELU, batch 4096, MSE
  AdamW(lr 1e-3, weight decay 0.01), default (foreach) implementation

Run from a venv with `pip install torch`: bench/torch_core.py [--threads 2] [--steps 40]
"""

import time

import torch

import twin


def mlp(sizes):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.GELU())
    return torch.nn.Sequential(*layers)


def bench(name, sizes, batch, classify, steps, warmup):
    torch.manual_seed(0)
    model = mlp(sizes)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    x = torch.randn(batch, sizes[0])
    labels = torch.randint(0, sizes[-1], (batch,))
    target = torch.randn(batch, sizes[-1])
    times = []
    for s in range(warmup + steps):
        start = time.perf_counter()
        y = model(x)
        if classify:
            loss = torch.nn.functional.cross_entropy(y, labels)
        else:
            loss = torch.nn.functional.mse_loss(y, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if s >= warmup:
            times.append(time.perf_counter() - start)
    flops = 6.0 * batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return twin.row(name, flops, times)


def main():
    a = twin.parse(__doc__, threads=2, steps=40)
    rows = [
        bench("mlp784", [784, 512, 512, 10], 256, True, a.steps, a.warmup),
        bench("flow2d", [3, 256, 256, 256, 2], 4096, False, a.steps, a.warmup),
    ]
    twin.report(rows, a)


if __name__ == "__main__":
    main()
