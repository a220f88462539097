"""Twin of `genlab bench attribution`: per-example gradients and TRAK's CPU projector.

Same sizes as crates/attribution/src/bench.rs: an MLP 256 -> 256 -> 10 (ReLU, p = 68 362),
TRAK's margin output, 512 examples per call, k = 1024. Per-example gradients with
torch.func (vmap over grad, as traker's FunctionalGradientComputer does) and with a loop of
backward passes; projection with traker's BasicProjector (its CPU projector: it regenerates
each block of P on every call), normal and Rademacher.

Run: ~/venv-torch/bin/python bench/trak_attribution.py [--threads 2]
"""

import argparse
import json
import statistics
import time

import torch
from torch.func import functional_call, grad, vmap
from trak.projectors import BasicProjector, ProjectionType

D_IN, HIDDEN, CLASSES, BATCH, K = 256, 256, 10, 512, 1024


def timed(f, warmup=1, steps=3):
    for _ in range(warmup):
        f()
    ts = []
    for _ in range(steps):
        s = time.perf_counter()
        f()
        ts.append(time.perf_counter() - s)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(D_IN, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, CLASSES)
    )
    params = {k: v.detach() for k, v in model.named_parameters()}
    p = sum(v.numel() for v in params.values())
    x = torch.randn(BATCH, D_IN)
    y = torch.randint(0, CLASSES, (BATCH,))

    onehot = torch.nn.functional.one_hot(y, CLASSES).float()

    def margin(prm, xi, oh):
        logits = functional_call(model, prm, (xi.unsqueeze(0),))[0]
        correct = (logits * oh).sum()
        return correct - torch.logsumexp(logits - 1e4 * oh, dim=0)

    per_ex = vmap(grad(margin), in_dims=(None, 0, 0))

    def grads():
        g = per_ex(params, x, onehot)
        return torch.cat([g[k].reshape(BATCH, -1) for k in params], dim=1)

    def loop32():
        out = []
        for i in range(32):
            model.zero_grad()
            logits = model(x[i : i + 1])[0]
            others = logits.clone()
            others[y[i]] = -torch.inf
            (logits[y[i]] - torch.logsumexp(others, 0)).backward()
            out.append(torch.cat([q.grad.reshape(-1) for q in model.parameters()]))
        return torch.stack(out)

    g = grads()
    rows = []
    t = timed(grads)
    rows.append(("per-example gradients, torch.func vmap(grad)", t, BATCH))
    t = timed(loop32, 0, 1)
    rows.append(("per-example gradients, loop of backward passes", t, 32))
    for name, kind in [("normal", ProjectionType.normal), ("rademacher", ProjectionType.rademacher)]:
        proj = BasicProjector(p, K, 0, kind, "cpu")
        t = timed(lambda: proj.project(g, model_id=0), 1, 3)
        rows.append((f"projection alone, traker BasicProjector {name}", t, BATCH))
    proj = BasicProjector(p, K, 0, ProjectionType.normal, "cpu")
    t = timed(lambda: proj.project(grads(), model_id=0), 1, 3)
    rows.append(("gradients + BasicProjector normal (featurise)", t, BATCH))
    print(f"MLP {D_IN}->{HIDDEN}->{CLASSES} (p = {p}), batch {BATCH}, k = {K}, {args.threads} thread(s), torch {torch.__version__}")
    for name, t, b in rows:
        print(f"{name:58s} {b / t:10.0f} examples/s {t * 1e3:9.1f} ms per call")
    print(json.dumps([{"name": n, "seconds_per_call": t, "examples_per_second": b / t} for n, t, b in rows]))


if __name__ == "__main__":
    main()
