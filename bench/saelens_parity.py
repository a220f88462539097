"""Equal-settings quality of genlab's BatchTopK SAE against SAELens's (`pip install sae-lens`),
on a synthetic set with a known ground truth, evaluated by the same code for both sides.

  data:     G = 512 unit feature directions in d = 64 (random, in superposition);
            40 parents (p = 0.05), each with 5 children firing only with their parent
            (P(child | parent) = 0.3, the source of absorption); 50 co-firing pairs (p = 0.01,
            fixed magnitude ratio); the other 72 features independent (p = 0.01);
            magnitudes Exp(1) + 0.5; x = Σ a_i g_i + N(0, 0.05² I); mean true L0 ≈ 7.7.
            N training vectors (default 2M, as in issue 22) written once to an .npy file, which
            both sides read in the same order; 100k fresh held-out vectors for evaluation.
  SAEs:     BatchTopK, width 512, k = 8, batch 4096, one epoch (N / 4096 steps), seeds 0..S-1.
  sides:    saelens        sae_lens SAETrainer + BatchTopKTrainingSAE, constant lr (its defaults);
                           its initial weights (raw: decoder rows at norm 0.1) are saved to
                           WORK/init_s<seed> and its per-step training loss is recorded
            genlab-saelens `genlab sae train --lr LR --saelens-defaults` (genlab's own init)
            genlab-sameinit  the same from SAELens's initial weights (`--init WORK/init_s<seed>`)
                           and SAELens's batches (`--chunk-rows 4096` = one batch per chunk:
                           genlab's chunk shuffle permutes rows within the batch only, and the
                           BatchTopK step does not depend on the order within a batch), so the
                           two runs differ only in arithmetic order and top-k ties
            genlab-normaldirs  --saelens-defaults with genlab's Gaussian decoder directions
                           (ablation of one of the differences fixed)
            genlab-default `genlab sae train --lr LR` (warm-up + cosine, genlab's defaults)
            genlab-constant `genlab sae train --lr LR --lr-schedule constant --warmup 0`
  curves:   for genlab-sameinit, the relative difference of its per-step training loss from
            SAELens's (same init, same batches): at steps 1, 10, 100 and the last, and the
            mean over the last 50 steps
  metrics:  FVU = Σ‖x − x̂‖² / Σ‖x − x̄‖² on the held-out set; L0; dead fraction (never fires on
            the held-out set); ground-truth recovery: Hungarian matching of true features to
            decoder rows by cosine, `recovered` = matched pairs with cos ≥ 0.9, `mean_gt_cos` =
            mean over true features of the best decoder cosine; absorption: for each parent whose
            matched latent has cos ≥ 0.5, over held-out inputs where the parent fires, the share
            where that latent is silent while another latent with cos > 0.2 to the parent fires
            (mean over such parents; lower is better).

Run: ~/venv-torch/bin/python bench/saelens_parity.py [--n 2000000] [--seeds 3] [--lr 1e-3]
     [--genlab target/release/genlab] [--work /tmp/saelens_parity] [--threads 2]
     [--sides saelens,genlab-saelens,genlab-sameinit,genlab-default,genlab-constant]
Prints one JSON object (per side: each seed's metrics, mean and standard error, seconds; the
paired differences of each genlab side from SAELens, seed by seed; the loss curves' gaps).
"""

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

D, G, WIDTH, K, BATCH = 64, 512, 512, 8, 4096
PARENTS, CHILDREN, PAIRS = 40, 5, 50
P_PARENT, P_CHILD, P_PAIR, P_INDEP, SIGMA = 0.05, 0.3, 0.01, 0.01, 0.05


class GroundTruth:
    def __init__(self, seed=1234):
        rng = np.random.default_rng(seed)
        g = rng.standard_normal((G, D))
        self.g = (g / np.linalg.norm(g, axis=1, keepdims=True)).astype(np.float32)
        self.parents = np.arange(PARENTS)
        self.children = PARENTS + np.arange(PARENTS * CHILDREN).reshape(PARENTS, CHILDREN)
        start = PARENTS * (1 + CHILDREN)
        self.pairs = start + np.arange(2 * PAIRS).reshape(PAIRS, 2)
        self.ratio = rng.uniform(0.5, 1.5, PAIRS)
        self.indep = np.arange(start + 2 * PAIRS, G)

    def sample(self, n, rng):
        a = np.zeros((n, G), dtype=np.float32)
        mag = lambda *s: rng.exponential(1.0, s) + 0.5
        par = rng.random((n, PARENTS)) < P_PARENT
        a[:, self.parents] = par * mag(n, PARENTS)
        ch = (rng.random((n, PARENTS, CHILDREN)) < P_CHILD) & par[:, :, None]
        a[:, self.children.ravel()] = (ch * mag(n, PARENTS, CHILDREN)).reshape(n, -1)
        pair_on = rng.random((n, PAIRS)) < P_PAIR
        first = pair_on * mag(n, PAIRS)
        a[:, self.pairs[:, 0]] = first
        a[:, self.pairs[:, 1]] = first * self.ratio
        ind = rng.random((n, len(self.indep))) < P_INDEP
        a[:, self.indep] = ind * mag(n, len(self.indep))
        x = a @ self.g + SIGMA * rng.standard_normal((n, D)).astype(np.float32)
        return x.astype(np.float32), a


def write_training_set(gt, n, path):
    if path.exists() and np.load(path, mmap_mode="r").shape == (n, D):
        return
    rng = np.random.default_rng(7)
    out = np.lib.format.open_memmap(str(path) + ".tmp.npy", mode="w+", dtype=np.float32, shape=(n, D))
    for s in range(0, n, 262144):
        out[s : s + 262144] = gt.sample(min(262144, n - s), rng)[0]
    out.flush()
    del out
    os.replace(str(path) + ".tmp.npy", path)


def load_sae(directory):
    from safetensors.numpy import load_file

    cfg = json.load(open(directory / "cfg.json"))
    w = load_file(str(directory / "sae_weights.safetensors"))
    return cfg, {k: v.astype(np.float32) for k, v in w.items()}


def encode(cfg, w, x):
    centred = x - w["b_dec"] if cfg.get("apply_b_dec_to_input", True) else x
    pre = centred @ w["W_enc"] + w["b_enc"]
    arch = cfg["architecture"]
    if arch == "jumprelu":
        return pre * (pre > w["threshold"])
    if arch == "topk":
        z = np.maximum(pre, 0)
        cut = -np.partition(-z, cfg["k"] - 1, axis=1)[:, cfg["k"] - 1 : cfg["k"]]
        return z * (z >= cut)
    return np.maximum(pre, 0)


def evaluate(directory, gt, x, a):
    from scipy.optimize import linear_sum_assignment

    cfg, w = load_sae(directory)
    z = np.concatenate([encode(cfg, w, x[s : s + 20000]) for s in range(0, len(x), 20000)])
    xh = z @ w["W_dec"] + w["b_dec"]
    fvu = float(((x - xh) ** 2).sum() / ((x - x.mean(0)) ** 2).sum())
    dec = w["W_dec"] / np.linalg.norm(w["W_dec"], axis=1, keepdims=True).clip(1e-12)
    cos = gt.g @ dec.T  # [G, m]
    rows, cols = linear_sum_assignment(-cos)
    matched = cos[rows, cols]
    absorbed = []
    for p in gt.parents:
        j = cols[list(rows).index(p)]
        if cos[p, j] < 0.5:
            continue
        on = a[:, p] > 0
        others = np.setdiff1d(np.where(cos[p] > 0.2)[0], [j])
        silent = z[on, j] == 0
        taken = (z[on][:, others] > 0).any(axis=1) if len(others) else np.zeros(on.sum(), bool)
        absorbed.append(float((silent & taken).mean()))
    return {
        "fvu": fvu,
        "l0": float((z > 0).sum(1).mean()),
        "dead_fraction": float(((z > 0).sum(0) == 0).mean()),
        "recovered": int((matched >= 0.9).sum()),
        "mean_gt_cos": float(cos.max(1).mean()),
        "absorption": float(np.mean(absorbed)) if absorbed else float("nan"),
        "parents_matched": len(absorbed),
    }


def save_raw_init(sae, out):
    """The SAE's raw parameters, before training, in the SAELens layout genlab reads."""
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    w = {k: sae.state_dict()[k].detach().cpu().numpy().astype(np.float32).copy()
         for k in ("W_enc", "b_enc", "W_dec", "b_dec")}
    save_file(w, str(out / "sae_weights.safetensors"))
    cfg = {"architecture": "standard", "d_in": D, "d_sae": WIDTH, "dtype": "float32",
           "apply_b_dec_to_input": True, "normalize_activations": "none"}
    json.dump(cfg, open(out / "cfg.json", "w"))


def train_saelens(data, lr, seed, out, init_dir):
    import torch
    from sae_lens.config import LoggingConfig, SAETrainerConfig
    from sae_lens.saes.batchtopk_sae import BatchTopKTrainingSAE, BatchTopKTrainingSAEConfig
    from sae_lens.training.sae_trainer import SAETrainer

    torch.manual_seed(seed)
    sae = BatchTopKTrainingSAE(BatchTopKTrainingSAEConfig(d_in=D, d_sae=WIDTH, k=K, device="cpu"))
    save_raw_init(sae, init_dir)
    steps = len(data) // BATCH
    curve = []

    class Recording(SAETrainer):
        def step(self, batch):
            output = super().step(batch)
            curve.append(float(output.loss.item()))
            return output

    def batches():
        for s in range(steps):
            yield torch.from_numpy(np.ascontiguousarray(data[s * BATCH : (s + 1) * BATCH]))

    cfg = SAETrainerConfig(
        total_training_samples=steps * BATCH,
        train_batch_size_samples=BATCH,
        lr=lr,
        lr_end=lr,
        lr_scheduler_name="constant",
        device="cpu",
        logger=LoggingConfig(log_to_wandb=False, eval_every_n_wandb_logs=2**31 - 1),
    )
    trainer = Recording(cfg=cfg, sae=sae, data_provider=batches(), save_checkpoint_fn=lambda p: None)
    trainer.fit()
    sae.save_inference_model(out)
    return curve


def train_genlab(binary, data_path, n, lr, seed, out, extra):
    steps = n // BATCH
    cmd = [binary, "sae", "train", "--acts", str(data_path), "--arch", "batchtopk",
           "--k", str(K), "--width", str(WIDTH), "--batch", str(BATCH), "--steps", str(steps),
           "--lr", str(lr), "--seed", str(seed), "--out", str(out), "--checkpoint-every", "0",
           "--log-every", "1"] + extra
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = list(csv.DictReader(open(out / "history.csv")))
    return [float(r["loss"]) for r in rows]


SIDES = {
    "genlab-saelens": lambda work, seed: ["--saelens-defaults"],
    "genlab-sameinit": lambda work, seed: ["--saelens-defaults", "--init",
                                           str(work / f"init_s{seed}"), "--chunk-rows", str(BATCH)],
    "genlab-normaldirs": lambda work, seed: ["--saelens-defaults", "--decoder-directions", "normal"],
    "genlab-default": lambda work, seed: [],
    "genlab-constant": lambda work, seed: ["--lr-schedule", "constant", "--warmup", "0"],
}


def curve_gap(ours, theirs):
    """Relative gaps of a genlab loss curve from SAELens's on the same init and batches."""
    n = min(len(ours), len(theirs))
    rel = [abs(a - b) / abs(b) for a, b in zip(ours[:n], theirs[:n])]
    at = {str(s): rel[s - 1] for s in (1, 10, 100, n) if s <= n}
    tail = slice(max(0, n - 50), n)
    return {"relative_gap_at_step": at,
            "last50_mean_loss": [float(np.mean(ours[tail])), float(np.mean(theirs[tail]))]}


def summary(runs):
    out = {}
    for key in runs[0]["metrics"]:
        v = np.array([r["metrics"][key] for r in runs], dtype=float)
        out[key] = {"mean": float(v.mean()),
                    "se": float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0}
    out["seconds"] = float(np.mean([r["seconds"] for r in runs]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2_000_000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--genlab", default="target/release/genlab")
    ap.add_argument("--work", default="/tmp/saelens_parity")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sides", default="saelens,genlab-saelens,genlab-sameinit")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    gt = GroundTruth()
    data_path = work / f"train_{args.n}.npy"
    write_training_set(gt, args.n, data_path)
    data = np.load(data_path, mmap_mode="r")
    x_eval, a_eval = gt.sample(100_000, np.random.default_rng(99))
    result = {"n": args.n, "lr": args.lr, "d": D, "width": WIDTH, "k": K, "batch": BATCH,
              "steps": args.n // BATCH, "sides": {}}
    curves = {}
    for side in args.sides.split(","):
        runs = []
        for seed in range(args.seeds):
            out = work / f"{side}_lr{args.lr}_s{seed}"
            t = time.time()
            if side == "saelens":
                curve = train_saelens(data, args.lr, seed, out, work / f"init_s{seed}")
            else:
                if out.exists():
                    subprocess.run(["rm", "-rf", str(out)], check=True)
                curve = train_genlab(args.genlab, data_path, args.n, args.lr, seed, out,
                                     SIDES[side](work, seed))
            seconds = time.time() - t
            curves[(side, seed)] = curve
            runs.append({"seed": seed, "seconds": seconds, "metrics": evaluate(out, gt, x_eval, a_eval)})
            print(side, seed, json.dumps(runs[-1]), file=sys.stderr)
        result["sides"][side] = {"runs": runs, "summary": summary(runs)}
    base = result["sides"].get("saelens")
    for side, r in result["sides"].items():
        if side == "saelens" or base is None:
            continue
        paired = {}
        for key in ("fvu", "recovered", "absorption", "mean_gt_cos"):
            d = np.array([a["metrics"][key] - b["metrics"][key]
                          for a, b in zip(r["runs"], base["runs"])], dtype=float)
            paired[key] = {"mean": float(d.mean()),
                           "se": float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else 0.0}
        r["paired_minus_saelens"] = paired
        if side == "genlab-sameinit":
            r["curve_gaps"] = [curve_gap(curves[(side, s)], curves[("saelens", s)])
                               for s in range(args.seeds) if ("saelens", s) in curves]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
