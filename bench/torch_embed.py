"""The VIRTUE-lite steps of `genlab bench embed`, in PyTorch, for a side-by-side speed comparison
on the same CPU. Same shapes, layers, loss and optimiser as crates/embed (width 32, 4 heads):

  seg (frozen):  CNN 3→16 (3×3/2) →32 (3×3/2) →32 (3×3/1), GELU, + learned positions (64);
                 prompt tokens = Linear(16 Fourier features) + label embedding, an output token;
                 one two-way block (token self-attn, token→image, MLP, image→token), post-norm;
                 returns the image-side map [64, 32]
  embedder:      connector conv 2×2/2 + MLP (16 region tokens), LN; scene CNN (64 tokens), LN;
                 4 box tokens; EOS; positions; 2-layer pre-norm transformer (FF 64, GELU);
                 EOS → LN → Linear → L2; text: words + positions, 2-layer transformer with
                 padding mask, EOS → LN → Linear → L2
  train step:    batch 32 box-prompted queries, 32 captions + 9×32 hard negatives (12 tokens),
                 InfoNCE τ = 0.02 with the hard negatives as extra columns, backward, Adam
  embed:         100 box-prompted query embeddings (no grad)

Run: bench/torch_embed.py [--threads 2] [--steps 20] (from a venv with `pip install torch`).
"""

import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

import twin

D, HEADS, B, NEG, TXT, VOCAB = 32, 4, 32, 9, 12, 33


def cnn():
    return nn.Sequential(
        nn.Conv2d(3, D // 2, 3, 2, 1), nn.GELU(),
        nn.Conv2d(D // 2, D, 3, 2, 1), nn.GELU(),
        nn.Conv2d(D, D, 3, 1, 1), nn.GELU())


def tokens(m):
    return m.flatten(2).transpose(1, 2)


class AttnNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(D, HEADS, batch_first=True)
        self.norm = nn.LayerNorm(D)

    def forward(self, x, q, k, v):
        return self.norm(x + self.attn(q, k, v, need_weights=False)[0])


class Seg(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc, self.pos = cnn(), nn.Parameter(torch.randn(64, D))
        self.point, self.label = nn.Linear(16, D), nn.Embedding(4, D)
        self.out, self.no_mask = nn.Parameter(torch.randn(1, D)), nn.Parameter(torch.randn(D))
        self.sa, self.t2i, self.i2t = AttnNorm(), AttnNorm(), AttnNorm()
        self.mlp = nn.Sequential(nn.Linear(D, 2 * D), nn.GELU(), nn.Linear(2 * D, D))
        self.mlp_norm = nn.LayerNorm(D)

    def forward(self, img, fourier, labels):
        i = tokens(self.enc(img)) + self.no_mask
        t = torch.cat([self.out.expand(img.shape[0], 1, D), self.point(fourier) + self.label(labels)], 1)
        t = self.sa(t, t, t, t)
        t = self.t2i(t, t, i + self.pos, i)
        t = self.mlp_norm(t + self.mlp(t))
        return self.i2t(i, i + self.pos, t, t)


def encoder(layers):
    layer = nn.TransformerEncoderLayer(D, HEADS, 2 * D, 0.0, activation="gelu", batch_first=True,
                                       norm_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


class Embedder(nn.Module):
    def __init__(self):
        super().__init__()
        self.scene, self.reduce = cnn(), nn.Conv2d(D, D, 2, 2)
        self.conn = nn.Sequential(nn.Linear(D, D), nn.GELU(), nn.Linear(D, D))
        self.scene_norm, self.region_norm = nn.LayerNorm(D), nn.LayerNorm(D)
        self.pos, self.box = nn.Embedding(70, D), nn.Embedding(64, D)
        self.eos = nn.Parameter(torch.randn(1, 1, D) * 0.02)
        self.fusion, self.norm, self.head = encoder(2), nn.LayerNorm(D), nn.Linear(D, D)
        self.word, self.wpos = nn.Embedding(VOCAB, D), nn.Embedding(32, D)
        self.text, self.tnorm, self.thead = encoder(2), nn.LayerNorm(D), nn.Linear(D, D)

    def query(self, region_map, img, box):
        n = img.shape[0]
        r = self.region_norm(self.conn(tokens(self.reduce(region_map.transpose(1, 2).reshape(n, D, 8, 8)))))
        r = r + self.pos.weight[0]
        s = self.scene_norm(tokens(self.scene(img))) + self.pos.weight[1:65]
        b = self.box(box) + self.pos.weight[65:69]
        e = self.eos.expand(n, 1, D) + self.pos.weight[69]
        h = self.fusion(torch.cat([r, s, b, e], 1))
        return F.normalize(self.head(self.norm(h[:, -1])), dim=1)

    def caption(self, tok, pad, eos):
        x = self.word(tok) + self.wpos.weight[: tok.shape[1]]
        h = self.text(x, src_key_padding_mask=pad)
        return F.normalize(self.thead(self.tnorm(h[torch.arange(tok.shape[0]), eos])), dim=1)


def inputs(n):
    img = torch.rand(n, 3, 32, 32)
    fourier = torch.rand(n, 2, 16) * 2 - 1
    labels = torch.tensor([2, 3]).expand(n, 2)
    box = torch.randint(0, 16, (n, 4)) + torch.arange(4) * 16
    return img, fourier, labels, box


def captions(n):
    tok = torch.randint(2, VOCAB, (n, TXT))
    lengths = torch.randint(TXT - 1, TXT + 1, (n,))
    pad = torch.arange(TXT)[None, :] >= lengths[:, None]
    tok = tok.masked_fill(pad, 0)
    return tok, pad, lengths - 1


def macs():
    layer = lambda n: n * 8 * D * D + 2 * n * n * D
    cnn_m = 16 * 16 * (D // 2) * 27 + 64 * D * (D // 2) * 9 + 64 * D * D * 9
    seg = cnn_m + 4 * layer(64)
    query = cnn_m + 64 * D * D + 16 * 2 * D * D + 2 * layer(16 + 64 + 5)
    cap = 2 * layer(12)
    return seg, query, cap


def bench_train(steps, warmup):
    torch.manual_seed(0)
    seg, model = Seg().eval(), Embedder()
    for p in seg.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    times = []
    for s in range(warmup + steps):
        start = time.perf_counter()
        img, fourier, labels, box = inputs(B)
        with torch.no_grad():
            region = seg(img, fourier, labels)
        q = model.query(region, img, box)
        tok, pad, eos = captions(B * (1 + NEG))
        t = model.caption(tok, pad, eos)
        pos, hard = t[:B], t[B:].reshape(B, NEG, D)
        logits = torch.cat([q @ pos.T, (q[:, None] * hard).sum(2)], 1) / 0.02
        loss = F.cross_entropy(logits, torch.arange(B))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()
        if s >= warmup:
            times.append(time.perf_counter() - start)
    seg_m, query_m, cap_m = macs()
    return "embed train step", 2 * B * seg_m + 6 * B * (query_m + 10 * cap_m), times


@torch.no_grad()
def bench_embed(steps, warmup, n=100):
    torch.manual_seed(0)
    seg, model = Seg().eval(), Embedder().eval()
    img, fourier, labels, box = inputs(n)
    times = []
    for s in range(warmup + steps):
        start = time.perf_counter()
        model.query(seg(img, fourier, labels), img, box).contiguous()
        if s >= warmup:
            times.append(time.perf_counter() - start)
    seg_m, query_m, _ = macs()
    return f"embed {n} prompted queries", 2 * n * (seg_m + query_m), times


def main():
    args = twin.parse(__doc__, steps=20, warmup=3)
    rows = [twin.row(*bench(args.steps, args.warmup)) for bench in (bench_train, bench_embed)]
    twin.report(rows, args)


if __name__ == "__main__":
    main()
