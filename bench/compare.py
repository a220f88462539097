"""One benchmark sitting: every `genlab bench NAME` and its twin in bench/, back to back, at 1
and 2 threads, repeated, into one dated table.

Each repetition runs genlab's row and then the twin's at the same thread count, so load that
comes and goes hits both sides alike; the ratio of each repetition is genlab / twin, and the
table gives the median ratio with the range over repetitions. The load average is read before
and after: a sitting is only worth quoting when both are low.

  bench/compare.sh [--reps 3] [--only core,flow] [--smoke] [--no-readme]

writes bench/results/DATE-TIME.md and replaces the block between the `compare:begin` and
`compare:end` markers of bench/README.md with it. `--smoke` runs two steps per side to check
the harness (its numbers are meaningless; it writes nothing).

Rows are paired by name: the part before a ':' (genlab's sae rows carry their vectors/s after
it), without a trailing implementation tag such as "(scipy)" or "(genlab JV)"; where the two
sides name a row differently, PAIRS says which goes with which. A row with no partner is
listed without a ratio.
"""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENLAB = ROOT / "target" / "release" / "genlab"

# name, twin script and its extra arguments, the thread counts to run, steps/warm-up (None:
# each side's default), and whether the twin takes --steps/--warmup and --threads.
BENCHES = [
    dict(name="core", twin="torch_core.py"),
    dict(name="flow", twin="torch_flow.py"),
    dict(name="guidance", twin="torch_discrete.py"),
    dict(name="sae", twin="torch_sae.py", steps=10, warmup=2),
    dict(name="attribution", twin="trak_attribution.py", twin_steps=False),
    dict(name="gan", twin="torch_gan.py"),
    dict(name="slots", twin="torch_slots.py", twin_args=["--json"]),
    dict(name="contrastive", twin="torch_contrastive.py"),
    dict(name="weights", twin="torch_weights.py", twin_args=["--json"]),
    dict(name="embed", twin="torch_embed.py"),
    dict(name="scene", twin="torch_scene.py", twin_args=["--json"]),
    # pedalboard renders on one thread per call.
    dict(name="fx", twin="pedalboard_fx.py", threads=(1,), steps=10, warmup=2, twin_threads=False),
    # llama.cpp (llama-cpp-python) lives in its own venv: see bench/llama_cpp.py.
    dict(name="lm", twin="llama_cpp.py", steps=5, warmup=1, python="~/venv-llama/bin/python"),
]

# Rows the two sides name differently: bench -> {genlab key: twin key}.
PAIRS = {
    "guidance": {
        "guidance train (digits MLP 3x384, batch 128)": "guidance train",
        "guidance denoise (cond + uncond, 1000 sequences)": "guidance denoise",
    },
    "gan": {
        f"gan {net} step ({head}, N = 50, batch 256)": f"gan {net} step ({head})"
        for net in "DG"
        for head in ("projection", "sona")
    },
    "embed": {
        "embed train step (virtue, SCaR phase, batch 32 + 320 captions)": "embed train step",
        "embed 100 prompted queries (virtue, box)": "embed 100 prompted queries",
    },
    "attribution": {
        "per-example gradients, outer-product trick": "per-example gradients, torch.func vmap(grad)",
        "projection alone, Gaussian (P regenerated per call)": "projection alone, traker BasicProjector normal",
        "projection alone, Rademacher (P regenerated per call)": "projection alone, traker BasicProjector rademacher",
        "gradients + Gaussian projection (featurise)": "gradients + BasicProjector normal (featurise)",
    },
}

THROUGHPUT = ("steps_per_s", "per_second", "examples_per_second", "rate", "rtf")
IMPL_TAG = re.compile(r"\s*\((genlab[^)]*|[^)]*scipy[^)]*|torch[^)]*)\)$")
ASCII = str.maketrans({"×": "x", "→": "->", "−": "-"})


def key(bench, row):
    """The name a row is paired by."""
    name = row["name"]
    if name.startswith(" "):  # a part of a step (sae's breakdown): not compared
        return None
    name = IMPL_TAG.sub("", name.split(":")[0].strip()).translate(ASCII).replace("- >", "->")
    if "block" in row:  # fx: each effect at two block sizes
        name = f"{name} [{row['block']}]"
    return name


def throughput(row):
    return next((float(row[k]) for k in THROUGHPUT if row.get(k) is not None), None)


def json_rows(stdout):
    """The rows a side printed: one JSON document, a JSON line holding the list, or one JSON
    object per line."""
    text = stdout.strip()
    try:
        docs = [json.loads(text)]
    except ValueError:
        docs = []
        for line in text.splitlines():
            try:
                docs.append(json.loads(line))
            except ValueError:
                pass
    rows = []
    for doc in docs:
        if isinstance(doc, dict):
            doc = doc.get("rows", [doc])
        if isinstance(doc, list):
            rows += [r for r in doc if isinstance(r, dict) and "name" in r]
    if not rows:
        raise RuntimeError("no JSON rows in the output")
    return rows


def run(cmd):
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def measure(b, threads, python, smoke):
    steps, warmup = (2, 0) if smoke else (b.get("steps"), b.get("warmup"))
    sizes = []
    if steps is not None:
        sizes += ["--steps", str(steps), "--warmup", str(warmup)]
    extra = ["--seconds", "2"] if smoke and b["name"] == "fx" else []
    genlab = [GENLAB, "--threads", str(threads), "bench", b["name"], "--json", *sizes, *extra]
    python = os.path.expanduser(b.get("python", python))
    twin = [python, ROOT / "bench" / b["twin"], *b.get("twin_args", [])]
    if b.get("twin_threads", True):
        twin += ["--threads", str(threads)]
    if b.get("twin_steps", True):
        twin += sizes
    pairs = PAIRS.get(b["name"], {})
    ours = {}
    for row in json_rows(run(genlab)):
        k = key(b["name"], row)
        if k is not None and throughput(row) is not None:
            ours[pairs.get(k, k)] = throughput(row)
    theirs = {}
    for row in json_rows(run(twin)):
        k = key(b["name"], row)
        if k is not None and throughput(row) is not None:
            theirs[k] = throughput(row)
    return ours, theirs


def sitting(args, python):
    results = {}  # (bench, row, threads) -> {"genlab": [...], "twin": [...]}
    for b in BENCHES:
        if args.only and b["name"] not in args.only:
            continue
        for threads in b.get("threads", (1, 2)):
            for rep in range(args.reps):
                print(f"{b['name']} threads {threads} rep {rep + 1}/{args.reps}", file=sys.stderr)
                ours, theirs = measure(b, threads, python, args.smoke)
                for row in sorted(set(ours) | set(theirs)):
                    cell = results.setdefault((b["name"], row, threads), {"genlab": [], "twin": []})
                    if row in ours:
                        cell["genlab"].append(ours[row])
                    if row in theirs:
                        cell["twin"].append(theirs[row])
    return results


def fmt(x):
    return f"{x:.3g}" if x < 1000 else f"{x:,.0f}"


def spread(values):
    med = statistics.median(values)
    return fmt(med) if len(values) == 1 else f"{fmt(med)} ({fmt(min(values))}–{fmt(max(values))})"


def table(results):
    lines = [
        "| benchmark | row | threads | genlab /s | twin /s | genlab / twin |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for (bench, row, threads), cell in results.items():
        ours, theirs = cell["genlab"], cell["twin"]
        ratio = "—"
        if ours and theirs and len(ours) == len(theirs):
            ratios = [a / b for a, b in zip(ours, theirs)]
            med = statistics.median(ratios)
            ratio = f"**{med:.2f}** ({min(ratios):.2f}–{max(ratios):.2f})"
        lines.append(
            f"| {bench} | {row} | {threads} | {spread(ours) if ours else '—'} | "
            f"{spread(theirs) if theirs else '—'} | {ratio} |"
        )
    return "\n".join(lines)


def machine(python):
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return "?"

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "0")
    torch = out([python, "-c", "import torch; print(torch.__version__)"]) or "not installed"
    return (
        f"{os.cpu_count()} vCPU {cpu}, {int(mem) // 2**20} GiB, {platform.system()} {platform.release()}; "
        f"{out(['rustc', '--version'])}; torch {torch}; genlab {out(['git', 'rev-parse', '--short', 'HEAD'])}"
    )


def loadavg():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def splice_readme(block):
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text()
    begin, end = "<!-- compare:begin -->", "<!-- compare:end -->"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + begin + "\n" + block + "\n" + end + rest.split(end, 1)[1]
    else:
        text += f"\n## Latest sitting (`bench/compare.sh`)\n\n{begin}\n{block}\n{end}\n"
    tmp = readme.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(readme)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=3, help="repetitions of each pair (default 3)")
    p.add_argument("--only", type=lambda s: set(s.split(",")), help="comma-separated benchmark names")
    p.add_argument("--smoke", action="store_true", help="two steps per side: checks the harness only")
    p.add_argument("--no-readme", action="store_true", help="write bench/results/ only")
    args = p.parse_args()
    python = sys.executable
    if not GENLAB.exists():
        sys.exit(f"compare: {GENLAB} is missing; run `cargo build --release` first")
    before, started = loadavg(), datetime.datetime.now(datetime.timezone.utc)
    results = sitting(args, python)
    after = loadavg()
    minutes = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds() / 60
    block = (
        f"**Sitting of {started:%Y-%m-%d %H:%M} UTC** ({minutes:.0f} min, {args.reps} repetitions"
        f"{', SMOKE: not a measurement' if args.smoke else ''}): {machine(python)}. "
        f"Load average before {before}, after {after}. Each cell: median (min–max over "
        f"repetitions); the ratio is the median of the per-repetition ratios.\n\n{table(results)}"
    )
    print(block)
    if args.smoke:
        return
    out = ROOT / "bench" / "results" / f"{started:%Y-%m-%d-%H%M}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(block + "\n")
    if not args.no_readme:
        splice_readme(block)
    print(f"wrote {out.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
