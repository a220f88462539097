"""The conditional-GAN steps of `genlab bench gan`, in PyTorch, for a side-by-side speed
comparison on the same CPU. Identical MLPs, losses, optimiser, batch and FLOP count:

  data: the ring of N = 50 class components (radius 2, std 0.07), 4096 points
  G:    Linear(8 + 50, 128) → LeakyReLU(0.2) → Linear(128, 128) → LeakyReLU → Linear(128, 2)
        on [z ; onehot(y)]
  D:    h = LeakyReLU ∘ Linear(128,128) ∘ LeakyReLU ∘ Linear(128,128) ∘ LeakyReLU ∘ Linear(2,128)
        head parameters w (128), b, W (50×128), classifier (128→50), u (3)
  heads:
    projection  f = <w_y + w, h> + b; L_D hinge; L_G = −E f(G)
    sona        f^N = <ω, h>, f^A = <ω_y, h − <ω,h> ω>; L_D = SAN (logistic, weight s_SAN) +
                BT-C + BT-M (rolled mismatched pairs), weights s = |u|/‖u‖;
                L_G = softplus(−f^N(G)) + softplus(−(f̃(G,y) − f̃(x,y)))
  D step: G(z, y) without grad, L_D, backward, Adam(β = 0.5, 0.999);  G step: L_G, backward, Adam
  batch 256

Run: bench/torch_gan.py [--threads 2] [--steps 50] (from a venv with `pip install torch`).
"""

import math
import time

import torch
import torch.nn.functional as F

import twin

N, Z, W, DIM, BATCH = 50, 8, 128, 2, 256


def mlp(i, o, act_last):
    layers = [torch.nn.Linear(i, W), torch.nn.LeakyReLU(0.2), torch.nn.Linear(W, W), torch.nn.LeakyReLU(0.2),
              torch.nn.Linear(W, o)]
    if act_last:
        layers.append(torch.nn.LeakyReLU(0.2))
    return torch.nn.Sequential(*layers)


class Disc(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = mlp(DIM, W, True)
        self.w = torch.nn.Parameter(torch.randn(W) / math.sqrt(W))
        self.b = torch.nn.Parameter(torch.zeros(1))
        self.wy = torch.nn.Parameter(torch.randn(N, W) / math.sqrt(W))
        self.cls = torch.nn.Linear(W, N)
        self.u = torch.nn.Parameter(torch.ones(3))


def ring(n):
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, N, (n,), generator=g)
    a = 2 * math.pi * y / N
    x = torch.stack([2 * torch.cos(a), 2 * torch.sin(a)], 1) + 0.07 * torch.randn(n, 2, generator=g)
    return x, y


def ell(t, s):
    return F.logsigmoid(s * t) / s


def mismatch(y):
    n = y.shape[0]
    wi, li = [], []
    ys = y.tolist()
    for i in range(n):
        for k in range(1, n):
            j = (i + k) % n
            if ys[j] != ys[i]:
                wi.append(i)
                li.append(j)
                break
    return torch.tensor(wi), torch.tensor(li)


def sona_parts(d, h, yo):
    om = d.w / d.w.norm()
    oy = yo @ (d.wy / d.wy.norm(dim=1, keepdim=True))
    fn = h @ om
    fa = (oy * (h - fn[:, None] * om)).sum(1)
    return om, oy, fn, fa


def d_loss(head, d, x, fake, y, yo):
    hr, hf = d.trunk(x), d.trunk(fake)
    if head == "projection":
        wy = yo @ d.wy + d.w
        fr, ff = (wy * hr).sum(1) + d.b, (wy * hf).sum(1) + d.b
        return F.relu(1 - fr).mean() + F.relu(1 + ff).mean()
    s = d.u.abs() / d.u.norm()
    om, oy, fnr, far = sona_parts(d, hr, yo)
    _, _, fnf, faf = sona_parts(d, hf, yo)
    omd = om.detach()
    san = -(ell(hr @ omd, s[0]) + ell(-(hf @ omd), s[0])).mean() - ((hr.detach() @ om).mean() - (hf.detach() @ om).mean())
    btc = -ell(fnr.detach() + far - fnf.detach() - faf, s[1]).mean()
    wi, li = mismatch(y)
    hl = hr[li]
    fnl = hl @ om
    fal = (oy[wi] * (hl - fnl[:, None] * om)).sum(1)
    btm = -ell(fnr[wi].detach() + far[wi] - fnl.detach() - fal, s[2]).mean()
    return san + btc + btm


def g_loss(head, d, x, fake, yo):
    hf = d.trunk(fake)
    if head == "projection":
        wy = yo @ d.wy + d.w
        return -((wy * hf).sum(1) + d.b).mean()
    _, _, fnf, faf = sona_parts(d, hf, yo)
    _, _, fnr, far = sona_parts(d, d.trunk(x), yo)
    return F.softplus(-fnf).mean() + F.softplus(-(fnf.detach() + faf - (fnr + far).detach())).mean()


def macs():
    return (Z + N) * W + W * W + W * DIM, DIM * W + 2 * W * W


def bench(head, steps, warmup):
    torch.manual_seed(0)
    data, labels = ring(4096)
    g, d = mlp(Z + N, DIM, False), Disc()
    og = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    dt, gt = [], []
    for s in range(warmup + steps):
        idx = torch.randint(0, 4096, (BATCH,))
        x, y = data[idx], labels[idx]
        yo = F.one_hot(y, N).float()
        start = time.perf_counter()
        with torch.no_grad():
            fake = g(torch.cat([torch.randn(BATCH, Z), yo], 1))
        loss = d_loss(head, d, x, fake, y, yo)
        od.zero_grad(set_to_none=True)
        loss.backward()
        od.step()
        loss.item()
        mid = time.perf_counter()
        fake = g(torch.cat([torch.randn(BATCH, Z), yo], 1))
        loss = g_loss(head, d, x, fake, yo)
        og.zero_grad(set_to_none=True)
        loss.backward()
        og.step()
        loss.item()
        if s >= warmup:
            dt.append(mid - start)
            gt.append(time.perf_counter() - mid)
    gm, dm = macs()
    extra = 0 if head == "projection" else 2 * dm
    return [(f"gan D step ({head})", 2 * BATCH * (gm + 6 * dm), dt),
            (f"gan G step ({head})", BATCH * (6 * (gm + dm) + extra), gt)]


def main():
    args = twin.parse(__doc__)
    rows = [twin.row(*step) for head in ("projection", "sona") for step in bench(head, args.steps, args.warmup)]
    twin.report(rows, args)


if __name__ == "__main__":
    main()
