"""What every PyTorch twin in bench/ shares: its command line and its output.

A twin times each step with `time.perf_counter` (warm-up steps untimed) and hands the list of
step times to `row`; `report` prints a table for people and, last, one JSON line with the rows
for bench/compare.py (the same keys as `genlab bench --json`: name, threads, steps_per_s,
p10_steps_per_s, gflops).
"""

import argparse
import json

import torch


def parse(doc, threads=1, steps=50, warmup=5):
    """--threads/--steps/--warmup (and --json: the JSON line only); sets torch's threads."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=threads)
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--warmup", type=int, default=warmup)
    p.add_argument("--json", action="store_true", help="print only the JSON rows")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    return args


def row(name, flops_per_step, times):
    """Mean steps/s, the 10th-percentile (fast-end) step time as steps/s, and GFLOP/s."""
    mean = len(times) / sum(times)
    return {
        "name": name,
        "threads": torch.get_num_threads(),
        "steps_per_s": mean,
        "p10_steps_per_s": 1.0 / sorted(times)[int(len(times) * 0.1)],
        "gflops": flops_per_step * mean / 1e9,
    }


def report(rows, args):
    if not args.json:
        width = max(len(r["name"]) for r in rows) + 2
        print(f"torch {torch.__version__}, threads: {args.threads}")
        print(f"{'step':{width}} {'steps/s':>10} {'p10':>10} {'GFLOP/s':>9}")
        for r in rows:
            print(f"{r['name']:{width}} {r['steps_per_s']:>10.2f} {r['p10_steps_per_s']:>10.2f} {r['gflops']:>9.1f}")
    print(json.dumps(rows))
