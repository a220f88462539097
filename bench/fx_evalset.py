"""A pedalboard-rendered evaluation set for `genlab fx estimate`, and its scorer (issue 23).

Never run in CI: it needs pedalboard (`~/venv-torch/bin/pip install pedalboard`) and, for the
recorded-music source, the fetched `moh-music` dataset (`genlab data fetch moh-music`).

build   bench/fx_evalset.py build DIR [--pairs 48] [--seed 23]
        Writes DIR/NNN.dry.wav, DIR/NNN.wet.wav (float32, 44.1 kHz stereo, 2 s, the wet the same
        length as the dry as in LLM2Fx-Tools' 10-s chunks: tails are cut), DIR/NNN.chain.json
        (the true chain as genlab tool calls) and DIR/manifest.json.
          sources  pluck (Karplus-Strong notes), pad (detuned saw chord, slow attack, low-pass),
                   drum (kick/snare/hat pattern), chords (decaying additive piano-like chords),
                   music (a 2-s crop of a moh-music recording, mono duplicated); peak -1..-6
                   dBFS; drawn in turn so every source gets the same number of pairs
          chains   N = 1..4 effects drawn without replacement, in random order, from gain,
                   distortion, compressor, limiter, delay, reverb, equalizer; N cycles so
                   every N gets the same number of pairs; every parameter uniform on its
                   LLM2Fx-Tools step grid (genlab's spec grid, from min + step; dB values
                   re-drawn once when 0)
          render   pedalboard: Gain, Distortion, Compressor (no make-up), Limiter (JUCE: two
                   compressors, make-up to 0 dBFS and a clip), Delay, Reverb (wet_level = mix,
                   dry_level = 1 - mix, LLM2Fx-Tools' mapping), LowShelf -> Peak -> HighShelf
          filter   LP-Fx's triviality filter: a chain whose MRSTFT(wet, dry) < 0.3 (auraloss
                   resolutions, numpy) is re-drawn
        Everything is seeded by --seed: the same seed writes the same files.

score   bench/fx_evalset.py score DIR --genlab BIN [--label NAME] [--out FILE] [--args 'ARGS...']
        Runs `BIN fx estimate --dry NNN.dry.wav --wet NNN.wet.wav ARGS` on every pair, one at a
        time, and reports:
          presence F1      micro F1 of the predicted effect names against the true ones, pooled
                           over pairs
          exact order      over pairs whose prediction shares >= 2 effects with the truth: the
                           fraction where the shared effects appear in the same relative order
                           (also "up to commuting": runs of adjacent gain / delay / reverb /
                           equalizer compared as sets, since their order is not audible)
          MRSTFT / no-op   mean over pairs of genlab's re-rendered MRSTFT (the `mrstft` field)
                           divided by the dry signal's (`mrstft_no_op`); also the median
          seconds          median wall seconds per pair, and median CPU seconds (user + sys of
                           the child; under load, CPU time is the steadier number)
        and per-effect recall / precision.

truth   bench/fx_evalset.py truth DIR --genlab BIN [--out FILE]
        The engine-mismatch floor: renders each pair's true chain with genlab
        (`BIN fx apply --no-tail`) and prints MRSTFT(genlab render, wet) / MRSTFT(dry, wet)
        (numpy auraloss, as the build filter) per pair and its mean. A pair whose true chain,
        rendered by genlab, is far from pedalboard's wet cannot be recovered by any search
        over genlab's effects; the rest of an estimate's error is the search's.
"""

import argparse
import json
import os
import resource
import shlex
import struct
import subprocess
import sys
import time

import numpy as np

SR = 44100
SECONDS = 2.0
EFFECTS = ["gain", "distortion", "compressor", "limiter", "delay", "reverb", "equalizer"]
SOURCES = ["pluck", "pad", "drum", "chords", "music"]
TRIVIAL = 0.3


# ---------------------------------------------------------------- WAV I/O


def write_wav(path, x):
    """(channels, samples) float32 -> 32-bit float WAV."""
    x = np.asarray(x, dtype="<f4")
    ch, n = x.shape
    data = x.T.reshape(-1).tobytes()
    fmt = struct.pack("<HHIIHH", 3, ch, SR, SR * 4 * ch, 4 * ch, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)
    os.replace(tmp, path)


def read_wav(path):
    """PCM 16/24-bit or float32 WAV -> ((channels, samples) float32, rate)."""
    data = open(path, "rb").read()
    i, fmt, fmt_body, payload = 12, None, b"", None
    while i + 8 <= len(data):
        cid, size = data[i : i + 4], struct.unpack("<I", data[i + 4 : i + 8])[0]
        body = data[i + 8 : i + 8 + size]
        if cid == b"fmt ":
            fmt, fmt_body = struct.unpack("<HHIIHH", body[:16]), body
        elif cid == b"data":
            payload = body
        i += 8 + size + (size & 1)
    code, channels, rate, _, _, bits = fmt
    if code == 0xFFFE:  # WAVE_FORMAT_EXTENSIBLE: the sub-format's first two bytes
        code = struct.unpack("<H", fmt_body[24:26])[0]
    if code == 3 and bits == 32:
        x = np.frombuffer(payload, dtype="<f4")
    elif bits == 16:
        x = np.frombuffer(payload, dtype="<i2").astype(np.float32) / 32768.0
    elif bits == 24:
        b = np.frombuffer(payload[: len(payload) // 3 * 3], dtype=np.uint8).reshape(-1, 3)
        v = (b[:, 0].astype(np.int32) | (b[:, 1].astype(np.int32) << 8) | (b[:, 2].astype(np.int32) << 16))
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v.astype(np.float32) / float(1 << 23)
    else:
        raise ValueError(f"{path}: unsupported WAV format {code}/{bits}")
    return x.reshape(-1, channels).T.copy(), rate


# ---------------------------------------------------------------- sources


def midi_hz(m):
    return 440.0 * 2.0 ** ((m - 69) / 12.0)


def one_pole_lowpass(x, a):
    from scipy.signal import lfilter

    return lfilter([1 - a], [1, -a], x)


def pluck(rng, n):
    out = np.zeros((2, n))
    t0 = 0
    while t0 < n:
        f = midi_hz(rng.integers(45, 76))
        period = max(2, int(round(SR / f)))
        length = min(n - t0, int(rng.uniform(0.25, 0.6) * SR))
        buf = rng.uniform(-1, 1, period)
        y = np.empty(length)
        for k in range(length):
            y[k] = buf[k % period]
            buf[k % period] = 0.996 * 0.5 * (buf[k % period] + buf[(k + 1) % period])
        pan = rng.uniform(0.3, 0.7)
        out[0, t0 : t0 + length] += np.sqrt(1 - pan) * y
        out[1, t0 : t0 + length] += np.sqrt(pan) * y
        t0 += int(rng.uniform(0.2, 0.5) * SR)
    return out


def pad(rng, n):
    t = np.arange(n) / SR
    root = rng.integers(45, 58)
    chord = [root, root + rng.choice([3, 4]), root + 7, root + 12]
    out = np.zeros((2, n))
    for m in chord:
        for c, detune in enumerate((-0.004, 0.004)):
            f = midi_hz(m) * (1 + detune + rng.uniform(-0.002, 0.002))
            saw = 2.0 * np.mod(f * t + rng.uniform(), 1.0) - 1.0
            out[c] += saw
    attack = rng.uniform(0.2, 0.6)
    env = np.minimum(1.0, t / attack) * np.minimum(1.0, (t[-1] - t) / 0.2 + 0.05)
    cutoff = rng.uniform(800, 3000)
    a = np.exp(-2 * np.pi * cutoff / SR)
    return np.stack([one_pole_lowpass(one_pole_lowpass(ch, a), a) for ch in out]) * env


def drum(rng, n):
    out = np.zeros((2, n))
    beat = 60.0 / rng.uniform(90, 140)
    step = beat / 2
    k = 0
    while k * step * SR < n:
        i = int(k * step * SR)
        m = min(n - i, int(0.4 * SR))
        tt = np.arange(m) / SR
        if k % 4 == 0 or (k % 8 == 5 and rng.uniform() < 0.5):
            f = 50 + 100 * np.exp(-tt / 0.03)
            hit = np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-tt / 0.15)
            out[:, i : i + m] += hit
        if k % 4 == 2:
            noise = rng.uniform(-1, 1, m)
            hit = 0.6 * noise * np.exp(-tt / 0.08) + 0.4 * np.sin(2 * np.pi * 190 * tt) * np.exp(-tt / 0.05)
            out[:, i : i + m] += hit
        h = min(n - i, int(0.05 * SR))
        hat = np.diff(rng.uniform(-1, 1, h + 1)) * np.exp(-np.arange(h) / SR / 0.015) * 0.4
        pan = rng.uniform(0.2, 0.8)
        out[0, i : i + h] += np.sqrt(1 - pan) * hat
        out[1, i : i + h] += np.sqrt(pan) * hat
        k += 1
    return out


def chords(rng, n):
    out = np.zeros((2, n))
    strikes = rng.integers(2, 4)
    for s in range(strikes):
        i = int(s * n / strikes)
        m = n - i
        tt = np.arange(m) / SR
        root = rng.integers(48, 62)
        notes = [root, root + rng.choice([3, 4]), root + 7, root + rng.choice([10, 11, 12])]
        for note in notes:
            f = midi_hz(note)
            for h in range(1, 9):
                if f * h > SR / 2.2:
                    break
                amp = 0.5 / h**1.2 * np.exp(-tt * (0.8 + 0.6 * h))
                tone = amp * np.sin(2 * np.pi * f * h * tt * (1 + 0.0004 * h * h) + rng.uniform(0, 6.28))
                pan = rng.uniform(0.35, 0.65)
                out[0, i:] += np.sqrt(1 - pan) * tone
                out[1, i:] += np.sqrt(pan) * tone
    return out


def music(rng, n, tracks):
    from scipy.signal import resample_poly

    for _ in range(16):
        x, rate = tracks[rng.integers(len(tracks))]
        length = int(np.ceil(n * rate / SR)) + 64
        start = rng.integers(0, x.shape[1] - length)
        crop = x.mean(axis=0)[start : start + length]
        if rate != SR:
            g = np.gcd(SR, rate)
            crop = resample_poly(crop, SR // g, rate // g)
        crop = crop[:n]
        if 10 * np.log10(np.mean(crop**2) + 1e-12) > -40:
            break
    return np.stack([crop, crop])


def load_tracks():
    root = os.path.expanduser("~/.cache/genlab/moh-music")
    if not os.path.isdir(root):
        sys.exit("the music source needs the moh-music dataset: run `genlab data fetch moh-music`")
    return [read_wav(os.path.join(root, f)) for f in sorted(os.listdir(root)) if f.endswith(".wav")]


def make_source(name, rng, tracks):
    n = int(SR * SECONDS)
    x = {"pluck": pluck, "pad": pad, "drum": drum, "chords": chords}.get(name)
    x = x(rng, n) if x else music(rng, n, tracks)
    peak_db = rng.uniform(-6.0, -1.0)
    x = x / max(np.abs(x).max(), 1e-9) * 10 ** (peak_db / 20)
    return x.astype(np.float32)


# ---------------------------------------------------------------- chains


def lin(lo, hi, step):
    return [round(lo + k * step, 6) for k in range(int(round((hi - lo) / step)) + 1)]


def log_grid(lo, hi, decades_step):
    k = int(round(np.log10(hi / lo) / decades_step))
    return [float(f"{lo * 10 ** (i * decades_step):.4g}") for i in range(k + 1)]


# genlab's spec grids (crates/fx/src/engine/spec.rs), which follow LLM2Fx-Tools' LP-Fx table;
# each parameter is drawn from grid[1:] (min + step and up), as LP-Fx does.
GRIDS = {
    "gain": {"gain_db": lin(-20, 20, 2)},
    "distortion": {"drive_db": lin(0, 20, 2)},
    "compressor": {
        "threshold_db": lin(-40, -5, 5),
        "ratio": lin(1, 20, 1),
        "attack_ms": [v for v in log_grid(1, 1000, 0.1) if v <= 500],
        "release_ms": log_grid(1, 1000, 0.1),
    },
    "limiter": {"threshold_db": lin(-20, -1, 1), "release_ms": log_grid(1, 1000, 0.1)},
    "delay": {"delay_seconds": lin(0.05, 0.7, 0.05), "feedback": lin(0, 0.6, 0.05), "mix": lin(0, 1, 0.1)},
    "reverb": {"room_size": lin(0, 0.9, 0.1), "damping": lin(0, 0.9, 0.1), "width": lin(0, 0.9, 0.1), "mix": lin(0, 1, 0.1)},
    "equalizer": {
        "low_gain_db": lin(-20, 20, 1),
        "low_cutoff_hz": lin(20, 400, 20),
        "low_q": lin(0.1, 6, 0.1),
        "mid_gain_db": lin(-20, 20, 1),
        "mid_center_hz": lin(250, 6000, 250),
        "mid_q": lin(0.1, 6, 0.1),
        "high_gain_db": lin(-20, 20, 1),
        "high_cutoff_hz": lin(4000, 19000, 1000),
        "high_q": lin(0.1, 6, 0.1),
    },
}


def draw_params(name, rng):
    out = {}
    for p, grid in GRIDS[name].items():
        v = grid[1 + rng.integers(len(grid) - 1)]
        if p.endswith("_db") and v == 0:
            v = grid[1 + rng.integers(len(grid) - 1)]
        out[p] = v
    if name == "compressor":
        out["makeup_db"] = 0.0
    return out


def plugins(call):
    import pedalboard as pb

    n, a = call["name"], call["arguments"]
    if n == "gain":
        return [pb.Gain(gain_db=a["gain_db"])]
    if n == "distortion":
        return [pb.Distortion(drive_db=a["drive_db"])]
    if n == "compressor":
        return [pb.Compressor(threshold_db=a["threshold_db"], ratio=a["ratio"], attack_ms=a["attack_ms"], release_ms=a["release_ms"])]
    if n == "limiter":
        return [pb.Limiter(threshold_db=a["threshold_db"], release_ms=a["release_ms"])]
    if n == "delay":
        return [pb.Delay(delay_seconds=a["delay_seconds"], feedback=a["feedback"], mix=a["mix"])]
    if n == "reverb":
        return [pb.Reverb(room_size=a["room_size"], damping=a["damping"], width=a["width"], wet_level=a["mix"], dry_level=1 - a["mix"])]
    if n == "equalizer":
        return [
            pb.LowShelfFilter(cutoff_frequency_hz=a["low_cutoff_hz"], gain_db=a["low_gain_db"], q=a["low_q"]),
            pb.PeakFilter(cutoff_frequency_hz=a["mid_center_hz"], gain_db=a["mid_gain_db"], q=a["mid_q"]),
            pb.HighShelfFilter(cutoff_frequency_hz=a["high_cutoff_hz"], gain_db=a["high_gain_db"], q=a["high_q"]),
        ]
    raise ValueError(n)


def render(chain, dry):
    import pedalboard as pb

    board = pb.Pedalboard([p for call in chain for p in plugins(call)])
    return board(dry, SR, reset=True)


# ---------------------------------------------------------------- MRSTFT (auraloss defaults)


def stft_mag(x, n_fft, hop, win):
    w = np.hanning(win + 1)[:-1]
    w = np.pad(w, ((n_fft - win) // 2, n_fft - win - (n_fft - win) // 2))
    x = np.pad(x, ((0, 0), (n_fft // 2, n_fft // 2)), mode="reflect")
    frames = 1 + (x.shape[1] - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    return np.abs(np.fft.rfft(x[:, idx] * w, axis=-1))


def mrstft(a, b):
    total = 0.0
    for n_fft, hop, win in ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240)):
        x, y = stft_mag(a, n_fft, hop, win), stft_mag(b, n_fft, hop, win)
        sc = np.linalg.norm(y - x) / max(np.linalg.norm(y), 1e-12)
        logmag = np.mean(np.abs(np.log(np.maximum(y, 1e-7)) - np.log(np.maximum(x, 1e-7))))
        total += sc + logmag
    return total / 3


# ---------------------------------------------------------------- build / score


def build(args):
    rng = np.random.default_rng(args.seed)
    tracks = load_tracks()
    os.makedirs(args.dir, exist_ok=True)
    manifest = []
    for i in range(args.pairs):
        src = SOURCES[i % len(SOURCES)]
        n_fx = 1 + (i // len(SOURCES)) % 4 if args.pairs >= 20 else 1 + i % 4
        dry = make_source(src, rng, tracks)
        for attempt in range(20):
            names = list(rng.choice(EFFECTS, size=n_fx, replace=False))
            chain = [{"name": str(n), "arguments": draw_params(str(n), rng)} for n in names]
            wet = render(chain, dry)
            d = mrstft(wet, dry)
            if np.all(np.isfinite(wet)) and d >= TRIVIAL:
                break
        pid = f"{i:03d}"
        write_wav(os.path.join(args.dir, f"{pid}.dry.wav"), dry)
        write_wav(os.path.join(args.dir, f"{pid}.wet.wav"), wet)
        with open(os.path.join(args.dir, f"{pid}.chain.json"), "w") as f:
            json.dump(chain, f, indent=1)
        manifest.append({"id": pid, "source": src, "n": n_fx, "effects": names, "mrstft_wet_dry": round(float(d), 4), "redraws": attempt})
        print(f"{pid} {src:7s} N={n_fx} {' -> '.join(names):50s} MRSTFT(wet,dry)={d:.3f}", flush=True)
    with open(os.path.join(args.dir, "manifest.json"), "w") as f:
        json.dump({"seed": args.seed, "sample_rate": SR, "seconds": SECONDS, "pairs": manifest}, f, indent=1)


# Linear, time-invariant, channel-alike effects: any two commute, so their relative order
# cannot be recovered from audio (genlab's `estimate::search::COMMUTING`).
COMMUTING = {"gain", "delay", "reverb", "equalizer"}


def canonical(seq):
    """`seq` with every run of adjacent commuting effects sorted."""
    out, run = [], []
    for e in seq:
        if e in COMMUTING:
            run.append(e)
        else:
            out += sorted(run) + [e]
            run = []
    return out + sorted(run)


def order_ok(truth, pred, up_to_commuting=False):
    shared = [e for e in pred if e in truth]
    if len(shared) < 2:
        return None
    in_truth = [e for e in truth if e in shared]
    if up_to_commuting:
        return canonical(in_truth) == canonical(shared)
    return in_truth == shared


def summarise(rows):
    tp = fp = fn = 0
    per = {e: [0, 0, 0] for e in EFFECTS}
    orders, orders_commuting = [], []
    for r in rows:
        t, p = set(r["truth"]), set(r["pred"])
        tp += len(t & p)
        fp += len(p - t)
        fn += len(t - p)
        for e in EFFECTS:
            per[e][0] += e in t and e in p
            per[e][1] += e in p and e not in t
            per[e][2] += e in t and e not in p
        o = order_ok(r["truth"], r["pred"])
        if o is not None:
            orders.append(o)
            orders_commuting.append(order_ok(r["truth"], r["pred"], up_to_commuting=True))
    f1 = 2 * tp / max(2 * tp + fp + fn, 1)
    ratios = [r["mrstft"] / r["mrstft_no_op"] for r in rows]
    return {
        "pairs": len(rows),
        "presence_f1": f1,
        "exact_order": float(np.mean(orders)) if orders else None,
        "order_pairs": len(orders),
        "exact_order_up_to_commuting": float(np.mean(orders_commuting)) if orders else None,
        "mrstft_over_no_op_mean": float(np.mean(ratios)),
        "mrstft_over_no_op_median": float(np.median(ratios)),
        "median_seconds": float(np.median([r["seconds"] for r in rows])),
        "median_cpu_seconds": float(np.median([r["cpu_seconds"] for r in rows])),
        "total_cpu_seconds": float(np.sum([r["cpu_seconds"] for r in rows])),
        "per_effect": {e: {"recall": v[0] / max(v[0] + v[2], 1), "precision": v[0] / max(v[0] + v[1], 1), "support": v[0] + v[2]} for e, v in per.items()},
    }


def score(args):
    manifest = json.load(open(os.path.join(args.dir, "manifest.json")))
    rows = []
    for item in manifest["pairs"][: args.limit or None]:
        pid = item["id"]
        cmd = [args.genlab, "fx", "estimate", "--dry", os.path.join(args.dir, f"{pid}.dry.wav"), "--wet", os.path.join(args.dir, f"{pid}.wet.wav"), *args.extra]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if out.returncode != 0:
            sys.exit(f"{pid}: {' '.join(cmd)} failed: {out.stderr.strip()}")
        est = json.loads(out.stdout)
        pred = [c["name"] for c in est["chain"]]
        row = {"id": pid, "source": item["source"], "truth": item["effects"], "pred": pred, "mrstft": est["mrstft"], "mrstft_no_op": est["mrstft_no_op"], "seconds": wall, "cpu_seconds": cpu, "renders": est.get("renders")}
        rows.append(row)
        print(f"{pid} {item['source']:7s} truth {' -> '.join(item['effects']):45s} pred {' -> '.join(pred):45s} {est['mrstft'] / est['mrstft_no_op']:.2f} {wall:.1f}s", flush=True)
    s = summarise(rows)
    s["label"] = args.label
    s["command"] = f"{args.genlab} fx estimate {' '.join(args.extra)}"
    print(json.dumps({k: v for k, v in s.items() if k != "per_effect"}, indent=1))
    for e, v in s["per_effect"].items():
        print(f"  {e:11s} recall {v['recall']:.2f} precision {v['precision']:.2f} (support {v['support']})")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"summary": s, "rows": rows}, f, indent=1)


def truth(args):
    import tempfile

    manifest = json.load(open(os.path.join(args.dir, "manifest.json")))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for item in manifest["pairs"][: args.limit or None]:
            pid = item["id"]
            base = os.path.join(args.dir, pid)
            out = os.path.join(tmp, f"{pid}.wav")
            cmd = [args.genlab, "fx", "apply", "--in", f"{base}.dry.wav", "--chain", f"{base}.chain.json", "--out", out, "--no-tail", "--policy", "clamp"]
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode != 0:
                sys.exit(f"{pid}: {' '.join(cmd)} failed: {run.stderr.strip()}")
            dry, _ = read_wav(f"{base}.dry.wav")
            wet, _ = read_wav(f"{base}.wet.wav")
            ours, _ = read_wav(out)
            ratio = mrstft(ours[:, : wet.shape[1]], wet) / mrstft(dry, wet)
            rows.append({"id": pid, "effects": item["effects"], "truth_over_no_op": float(ratio)})
            print(f"{pid} {item['source']:7s} {' -> '.join(item['effects']):50s} genlab(true chain) / no-op {ratio:.3f}", flush=True)
    ratios = [r["truth_over_no_op"] for r in rows]
    for e in EFFECTS:
        sel = [r["truth_over_no_op"] for r in rows if e in r["effects"]]
        print(f"  with {e:11s} mean {np.mean(sel):.3f} (n {len(sel)})")
    print(json.dumps({"pairs": len(rows), "truth_over_no_op_mean": float(np.mean(ratios)), "truth_over_no_op_median": float(np.median(ratios))}, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("dir")
    b.add_argument("--pairs", type=int, default=48)
    b.add_argument("--seed", type=int, default=23)
    s = sub.add_parser("score")
    s.add_argument("dir")
    s.add_argument("--genlab", default="target/release/genlab")
    s.add_argument("--label", default="")
    s.add_argument("--out")
    s.add_argument("--limit", type=int, default=0)
    s.add_argument("--args", default="", help="extra arguments of `fx estimate`, one string")
    t = sub.add_parser("truth")
    t.add_argument("dir")
    t.add_argument("--genlab", default="target/release/genlab")
    t.add_argument("--out")
    t.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    args.extra = shlex.split(getattr(args, "args", "") or "")
    {"build": build, "score": score, "truth": truth}[args.cmd](args)


if __name__ == "__main__":
    main()
