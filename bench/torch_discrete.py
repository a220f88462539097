"""The masked-diffusion steps of `genlab bench guidance`, in PyTorch, for a side-by-side speed
comparison on the same CPU. Identical model, loss, optimiser and FLOP count:

  input: one-hot of 64 tokens over 17 levels + MASK (64·18) and of the class + null (11) = 1163
  net:   Linear(1163, 384) → ReLU → Linear(384, 384) → ReLU → Linear(384, 64·17)
  train: batch 128 of random digits-like tokens, each row masked with probability t ~ U(0,1)
         (stratified), cross-entropy at the masked positions averaged over them, Adam(lr 2e-3)
  denoise: cond + uncond forward of 1000 half-masked sequences and the softmax

Run: bench/torch_discrete.py [--threads 2] [--steps 50] (from a venv with `pip install torch`).
"""

import time

import torch

import twin

SEQ, VOCAB, CLASSES, WIDTH, BATCH = 64, 17, 10, 384, 128
IN = SEQ * (VOCAB + 1) + CLASSES + 1


def net():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(IN, WIDTH), torch.nn.ReLU(),
        torch.nn.Linear(WIDTH, WIDTH), torch.nn.ReLU(),
        torch.nn.Linear(WIDTH, SEQ * VOCAB),
    )


def encode(tokens, classes):
    x = torch.nn.functional.one_hot(tokens, VOCAB + 1).reshape(tokens.shape[0], -1).float()
    c = torch.nn.functional.one_hot(classes, CLASSES + 1).float()
    return torch.cat([x, c], dim=1)


def macs():
    return IN * WIDTH + WIDTH * WIDTH + WIDTH * SEQ * VOCAB


def bench_train(steps, warmup):
    model = net()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    x0 = torch.randint(0, VOCAB, (1797, SEQ))
    labels = torch.randint(0, CLASSES, (1797,))
    times = []
    for s in range(warmup + steps):
        start = time.perf_counter()
        idx = torch.randint(0, 1797, (BATCH,))
        clean, cls = x0[idx], labels[idx]
        t = (torch.arange(BATCH) + torch.rand(BATCH)) / BATCH
        masked = torch.rand(BATCH, SEQ) < t[:, None]
        cls = torch.where(torch.rand(BATCH) < 0.1, torch.full_like(cls, CLASSES), cls)
        x_t = torch.where(masked, torch.full_like(clean, VOCAB), clean)
        logp = torch.log_softmax(model(encode(x_t, cls)).reshape(BATCH, SEQ, VOCAB), dim=2)
        picked = logp.gather(2, clean[:, :, None]).squeeze(2)
        loss = -(picked * masked).sum() / masked.sum().clamp(min=1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()
        if s >= warmup:
            times.append(time.perf_counter() - start)
    return "guidance train", 6 * BATCH * macs(), times


@torch.no_grad()
def bench_denoise(steps, warmup, n=1000):
    model = net()
    tokens = torch.where(torch.rand(n, SEQ) < 0.5, VOCAB, torch.randint(0, VOCAB, (n, SEQ)))
    classes = torch.arange(n) % CLASSES
    times = []
    for s in range(warmup + steps):
        start = time.perf_counter()
        both = encode(torch.cat([tokens, tokens]), torch.cat([classes, torch.full_like(classes, CLASSES)]))
        p = torch.softmax(model(both).reshape(2 * n, SEQ, VOCAB), dim=2)
        p.double().contiguous()  # the Rust side hands f64 probabilities to the sampler
        if s >= warmup:
            times.append(time.perf_counter() - start)
    return "guidance denoise", 2 * 2 * n * macs(), times


def main():
    args = twin.parse(__doc__)
    rows = [twin.row(*bench(args.steps, args.warmup)) for bench in (bench_train, bench_denoise)]
    twin.report(rows, args)


if __name__ == "__main__":
    main()
