"""The SAE training steps of `genlab bench sae`, in PyTorch, for a side-by-side speed comparison
on the same CPU. Same shape, data, objective, optimiser and per-step bookkeeping as
crates/sae/src/train.rs; the difference is the one being measured: this is the dense
formulation typical PyTorch SAE code uses (saprmarks/dictionary_learning's BatchTopK trainer),
where genlab touches only the B·k firing entries after the encoder.

  shape:  d = 576, m = 4608, k = 32, batch B = 4096; a pool of 4·B standard-normal vectors,
          each batch drawn from it uniformly with replacement
  init:   decoder columns random unit, encoder = decoderᵀ, b_enc = 0, b_dec = first batch mean
          (untimed)
  step:   pre  = Linear_enc(x − b_dec)                       dense [B, m]
          z    = the B·k largest entries of ReLU(pre) over the whole batch, scattered back
                 into a dense zero [B, m] matrix (torch.topk on the flattened batch)
          x̂    = z W_decᵀ + b_dec                            dense matmul of the sparse codes
          L    = (1/B) Σ_b ‖x_b − x̂_b‖²
                 + α L_aux  only when some latent is dead (silent > 10⁷ tokens), as in Rust;
                            never at benchmark lengths from a fresh init, in either
                 + γ L_orth (OrtSAE: fresh random partition into ⌈m/s⌉ near-equal chunks,
                            per feature the max (or mean) squared cosine to the others in its
                            chunk, summed and divided by m; γ = 0.25, s = 128)
          backward (autograd); remove each decoder column's gradient component along it;
          clip the global gradient norm to 1; Adam(0.9, 0.999, 1e-8) with genlab's warm-up +
          cosine lr (peak 2e-4/√(m/2¹⁴)); decoder columns to unit norm; dead-latent counters;
          BatchTopK θ EMA (β 0.999, from step min(1000, steps/2))

GFLOP/s is reported on genlab's count for the same step (crates/sae/src/bench.rs: 2·B·m·d +
10·B·k·d + 13·B·d + 9·m·d + 17·P, P = 2md + m + d, plus the OrtSAE penalty Σ_c 2·s_c²·d +
14·m·d), so the two columns compare like for like; `dense_gflops` is what this dense step
executes (≈ 12·B·m·d: encoder and decoder forward, and each one's weight and input gradients).

Run: bench/torch_sae.py [--threads 2] [--steps 50] (from a venv with `pip install torch`).
"""

import argparse
import json
import math
import time

import torch

D, M, K, BATCH = 576, 4608, 32, 4096
POOL_BATCHES = 4
AUX_ALPHA, DEAD_AFTER = 1.0 / 32.0, 10_000_000
THETA_BETA, THETA_START = 0.999, 1000
WARMUP_LR, MIN_LR_FRACTION = 100, 0.1


def chunk_sizes(m, s):
    count = max(1, -(-m // s))
    return [m // count + (1 if c < m % count else 0) for c in range(count)]


def genlab_flops(ortho, chunk, reduce):
    b, d, m, k = BATCH, D, M, K
    flops = 2 * b * m * d + 10 * b * k * d + 13 * b * d + 9 * m * d + 17 * (2 * m * d + m + d)
    if ortho:
        squares = sum(c * c for c in chunk_sizes(m, chunk))
        flops += 2 * squares * d + 14 * m * d if reduce == "max" else 4 * squares * d + 10 * m * d
    return flops


def dense_flops(ortho, chunk):
    flops = 12 * BATCH * M * D
    if ortho:
        flops += 6 * sum(c * c for c in chunk_sizes(M, chunk)) * D
    return flops


class BatchTopKSae(torch.nn.Module):
    def __init__(self, first_batch):
        super().__init__()
        self.encoder = torch.nn.Linear(D, M)
        self.decoder = torch.nn.Linear(M, D, bias=False)
        with torch.no_grad():
            w = torch.randn(D, M)
            w /= w.norm(dim=0, keepdim=True)
            self.decoder.weight.copy_(w)
            self.encoder.weight.copy_(w.t())
            self.encoder.bias.zero_()
        self.b_dec = torch.nn.Parameter(first_batch.mean(0))

    def forward(self, x):
        post = torch.relu(self.encoder(x - self.b_dec))
        flat = post.flatten()
        top = flat.topk(BATCH * K, sorted=False)
        z = torch.zeros_like(flat).scatter_(0, top.indices, top.values).view_as(post)
        return post, z, self.decoder(z) + self.b_dec


def aux_loss(model, post, x, x_hat, dead):
    e = (x - x_hat).detach()
    k_aux = min(D // 2, int(dead.sum()))
    masked = torch.where(dead, post, torch.zeros_like(post))
    top = masked.topk(k_aux, dim=1)
    z = torch.zeros_like(post).scatter_(1, top.indices, top.values)
    e_hat = z @ model.decoder.weight.t()
    denom = (e - e.mean(0)).pow(2).sum(-1).mean()
    return (e - e_hat).pow(2).sum(-1).mean() / denom


def ortho_penalty(w_dec, chunk, reduce):
    features = w_dec.t()
    unit = features / features.norm(dim=1, keepdim=True).clamp_min(1e-12)
    sizes = chunk_sizes(M, chunk)
    perm = torch.randperm(M)
    total = unit.new_zeros(())
    if len(set(sizes)) == 1:
        groups = [unit[perm].view(len(sizes), sizes[0], D)]
    else:
        groups = [unit[idx][None] for idx in perm.split(sizes)]
    for u in groups:
        s = u.shape[1]
        sq = torch.bmm(u, u.transpose(1, 2)).pow(2)
        sq = sq * (1 - torch.eye(s))
        total = total + (sq.amax(2).sum() if reduce == "max" else sq.sum() / (s - 1))
    return total / M


def lr_at(step, total):
    peak = 2e-4 / math.sqrt(M / 16384)
    low, warm = peak * MIN_LR_FRACTION, min(WARMUP_LR, total // 2)
    if step < warm:
        return peak * (step + 1) / warm
    progress = min((step - warm) / max(total - warm, 1), 1.0)
    return low + 0.5 * (peak - low) * (1 + math.cos(math.pi * progress))


def bench(arch, steps, warmup, gamma, chunk, reduce):
    torch.manual_seed(0)
    pool = torch.randn(POOL_BATCHES * BATCH, D)
    x = pool[torch.randint(0, len(pool), (BATCH,))]
    model = BatchTopKSae(x)
    opt = torch.optim.Adam(model.parameters(), lr=lr_at(0, warmup + steps), betas=(0.9, 0.999), eps=1e-8)
    since_fired = torch.zeros(M, dtype=torch.long)
    theta, theta_start = -1.0, min(THETA_START, (warmup + steps) // 2)
    times = []
    for s in range(warmup + steps):
        start = time.perf_counter()
        if s > 0:
            x = pool[torch.randint(0, len(pool), (BATCH,))]
        post, z, x_hat = model(x)
        loss = (x - x_hat).pow(2).sum(-1).mean()
        dead = since_fired > DEAD_AFTER
        if dead.any():
            loss = loss + AUX_ALPHA * aux_loss(model, post, x, x_hat, dead)
        if arch == "ortsae":
            loss = loss + gamma * ortho_penalty(model.decoder.weight, chunk, reduce)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():
            w, g = model.decoder.weight, model.decoder.weight.grad
            g -= (g * w).sum(0, keepdim=True) / (w * w).sum(0, keepdim=True) * w
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        for group in opt.param_groups:
            group["lr"] = lr_at(s, warmup + steps)
        opt.step()
        with torch.no_grad():
            w = model.decoder.weight
            w /= w.norm(dim=0, keepdim=True)
            fired = (z > 0).any(0)
            since_fired += BATCH
            since_fired[fired] = 0
            if s >= theta_start:
                low = z[z > 0].min().item()
                theta = low if theta < 0 else THETA_BETA * theta + (1 - THETA_BETA) * low
        loss.item()
        if s >= warmup:
            times.append(time.perf_counter() - start)
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--arch", choices=["batchtopk", "ortsae", "both"], default="both")
    ap.add_argument("--gamma", type=float, default=0.25)
    ap.add_argument("--chunk", type=int, default=128)
    ap.add_argument("--reduce", choices=["max", "mean"], default="max")
    args = ap.parse_args()
    if args.steps < 1:
        ap.error("--steps must be at least 1")
    torch.set_num_threads(args.threads)
    arches = ["batchtopk", "ortsae"] if args.arch == "both" else [args.arch]
    rows = []
    print(f"{'step':32} {'steps/s':>10} {'p10':>10} {'vectors/s':>10} {'GFLOP/s':>9} {'dense':>9}")
    for arch in arches:
        times = bench(arch, args.steps, args.warmup, args.gamma, args.chunk, args.reduce)
        ortho = arch == "ortsae"
        mean = len(times) / sum(times)
        p10 = 1 / sorted(times)[int(len(times) * 0.1)]
        gflops = genlab_flops(ortho, args.chunk, args.reduce) * mean / 1e9
        dense = dense_flops(ortho, args.chunk) * mean / 1e9
        name = f"sae {arch} step"
        rows.append({"name": name, "threads": args.threads, "steps_per_s": mean,
                     "p10_steps_per_s": p10, "vectors_per_s": BATCH * mean, "gflops": gflops,
                     "dense_gflops": dense})
        print(f"{name:32} {mean:10.3f} {p10:10.3f} {BATCH * mean:10.0f} {gflops:9.1f} {dense:9.1f}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
