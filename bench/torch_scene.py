"""The generator training step of `genlab bench scene`, in PyTorch, for a side-by-side speed
comparison on the same CPU. Identical network, loss, optimiser and FLOP count:

  U-Net (base c = 16, 22 input channels, 32×32):
    e1 = relu(conv3(relu(conv3(x))))                      c
    e2 = relu(conv3(relu(conv3 stride 2(e1))))            2c
    m  = relu(conv3(relu(conv3(relu(conv3 stride 2(e2))))))  4c
    d2 = relu(conv3(cat(convT2x2 stride 2(m), e2)))       2c
    d1 = relu(conv3(cat(convT2x2 stride 2(d2), e1)))      c
    y  = conv1(d1)                                         3
  loss: mean|y − t| + 1 − mean SSIM(y, t)   (5×5 box window, count_include_pad=False,
        C1 = 0.01², C2 = 0.03²)
  AdamW(lr 1e-3, weight decay 0, eps 1e-5); batch 8 of uniform random inputs and targets

Run: bench/torch_scene.py [--threads 2] [--steps 30] (from a venv with `pip install torch`).
"""

import argparse
import json
import time

import torch
import torch.nn.functional as F


class UNet(torch.nn.Module):
    def __init__(self, cin=22, c=16):
        super().__init__()
        conv = lambda i, o, s=1: torch.nn.Conv2d(i, o, 3, stride=s, padding=1)
        self.e1a, self.e1b = conv(cin, c), conv(c, c)
        self.down1, self.e2 = conv(c, 2 * c, 2), conv(2 * c, 2 * c)
        self.down2, self.m1, self.m2 = conv(2 * c, 4 * c, 2), conv(4 * c, 4 * c), conv(4 * c, 4 * c)
        self.up2, self.d2 = torch.nn.ConvTranspose2d(4 * c, 2 * c, 2, stride=2), conv(4 * c, 2 * c)
        self.up1, self.d1 = torch.nn.ConvTranspose2d(2 * c, c, 2, stride=2), conv(2 * c, c)
        self.out = torch.nn.Conv2d(c, 3, 1)

    def forward(self, x):
        e1 = F.relu(self.e1b(F.relu(self.e1a(x))))
        e2 = F.relu(self.e2(F.relu(self.down1(e1))))
        m = F.relu(self.down2(e2))
        m = F.relu(self.m2(F.relu(self.m1(m))))
        d2 = F.relu(self.d2(torch.cat([self.up2(m), e2], 1)))
        d1 = F.relu(self.d1(torch.cat([self.up1(d2), e1], 1)))
        return self.out(d1)


def ssim(x, y):
    pool = lambda t: F.avg_pool2d(t, 5, stride=1, padding=2, count_include_pad=False)
    mx, my = pool(x), pool(y)
    sxx, syy, sxy = pool(x * x) - mx * mx, pool(y * y) - my * my, pool(x * y) - mx * my
    c1, c2 = 1e-4, 9e-4
    return ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))


def unet_macs(cin, c, s):
    hw = s * s
    conv = lambda i, o, px: i * o * 9 * px
    return (conv(cin, c, hw) + conv(c, c, hw) + conv(c, 2 * c, hw // 4) + conv(2 * c, 2 * c, hw // 4)
            + conv(2 * c, 4 * c, hw // 16) + 2 * conv(4 * c, 4 * c, hw // 16) + 4 * c * 2 * c * 4 * hw // 16
            + conv(4 * c, 2 * c, hw // 4) + 2 * c * c * 4 * hw // 4 + conv(2 * c, c, hw) + c * 3 * hw)


def bench(steps, warmup, batch=8, s=32, c=16, cin=22):
    torch.manual_seed(0)
    net = UNet(cin, c)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.0, eps=1e-5)
    x, t = torch.rand(batch, cin, s, s), torch.rand(batch, 3, s, s)
    times = []
    for i in range(warmup + steps):
        start = time.perf_counter()
        y = net(x)
        loss = (y - t).abs().mean() + 1 - ssim(y, t).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    mean_sps = len(times) / sum(times)
    return {
        "name": f"generator step (U-Net c = {c}, batch {batch}, {cin}×{s}×{s}, L1 + 1 − SSIM, AdamW)",
        "threads": torch.get_num_threads(),
        "unit": "steps/s",
        "rate": mean_sps,
        "p10_rate": 1.0 / sorted(times)[int(len(times) * 0.1)],
        "gflops": 6.0 * batch * unet_macs(cin, c, s) * mean_sps / 1e9,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    row = bench(a.steps, a.warmup)
    if a.json:
        print(json.dumps([row], indent=2))
    else:
        print(f"{row['name']}: {row['rate']:.2f} steps/s (p10 {row['p10_rate']:.2f}), {row['gflops']:.1f} GFLOP/s, {row['threads']} threads")


if __name__ == "__main__":
    main()
