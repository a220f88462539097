"""The rows of `genlab bench fx` with Spotify's pedalboard (JUCE effects in C++), for a
side-by-side real-time-factor comparison on the same CPU, and a sample-by-sample comparison of
the outputs where the two define an effect the same way.

  input:   30 s of 44.1 kHz stereo test signal, the formula of crates/fx/src/bench.rs:
             e(t) = 0.25 + 0.75 exp(-(t mod 0.5)/0.06)
             h(k) = k*0x9E3779B1 mod 2^32; h ^= h >> 15; h = h*0x85EBCA77 mod 2^32; h ^= h >> 13
             u_c[n] = 2 h(n + 1000003 c)/2^32 - 1
             x_c[n] = e(t)(0.3 sin(2 pi f_c t) + 0.2 u_c[n]) + 0.15 sin(2 pi 1000 t), f = (110, 165)
  rows:    the same effects at the same values as genlab's ROWS; pedalboard's counterparts:
             gain        Gain(gain_db)                        same definition: x * 10^(dB/20)
             distortion  Distortion(drive_db)                 same definition: tanh(x * 10^(dB/20))
             compressor  Compressor(threshold, ratio, attack, release)   same: JUCE dsp::Compressor
             limiter     Limiter(threshold, release)          same: JUCE dsp::Limiter (two compressors,
                         make-up gain, clip at 0 dBFS), as LLM2Fx-Tools and bench/fx_evalset.py use
             delay       Delay(delay_seconds, feedback, mix)  same (D = int(float(seconds) * fs))
             reverb      Reverb(room, damping, wet = mix, dry = 1 - mix, width)  same: LLM2Fx-Tools'
                         mapping; JUCE's dry gain is 2 dry_level, and genlab's is 2 (1 - mix)
             equalizer   LowShelfFilter -> PeakFilter -> HighShelfFilter
             panner      pedalboard has no panner; numpy constant-power pan as LLM2Fx-Tools'
                         NDSP backend does it: theta = (pan + 1) pi/4, L cos(theta), R sin(theta)
             stereo_widener  none either; numpy mid/side, side * width (LLM2Fx-Tools' NDSP)
             chain5      Gain -> Compressor -> the three filters -> Delay -> Reverb
             chain5+wav  chain5 as a command runs it: AudioFile read of a float WAV, board(...,
                         buffer_size=512), AudioFile write of a 32-bit float WAV (genlab: wav::read,
                         render in blocks of 512, wav::write)
  blocks:  buffer_size = 512, and the whole buffer
  timed:   one board(x, sr, buffer_size=..., reset=True) call, which returns a new array like
           genlab's render
  report:  RTF = seconds of audio / seconds of wall time (mean; p10 = 10th-percentile fastest)

With --genlab DIR (from `genlab bench fx --write DIR`), the rows are run once more, whole-buffer,
on DIR/input.wav and compared with genlab's DIR/ROW.wav: the maximum absolute sample difference
over both channels and all 30 s, and after the first 50 ms (JUCE smooths some parameters when they
change during playback).

Run: bench/pedalboard_fx.py [--steps 10] [--warmup 2] [--genlab DIR]
(from a venv with `pip install pedalboard numpy`; pedalboard is single-threaded per call).
"""

import argparse
import json
import struct
import time

import numpy as np
import pedalboard as pb

SAMPLE_RATE = 44100
SECONDS = 30.0
BLOCK = 512

EQ = dict(low=(3.0, 100.0, 0.7), mid=(-4.0, 1000.0, 0.7), high=(2.0, 8000.0, 0.7))
COMPRESSOR = dict(threshold_db=-20.0, ratio=4.0, attack_ms=10.0, release_ms=100.0)
DELAY = dict(delay_seconds=0.25, feedback=0.3, mix=0.3)
REVERB = dict(room_size=0.5, damping=0.5, width=0.9, mix=0.3)


def test_signal(sample_rate, seconds):
    n = int(round(seconds * sample_rate))
    i = np.arange(n, dtype=np.uint64)
    t = i.astype(np.float64) / sample_rate
    beat = 0.25 + 0.75 * np.exp(-np.mod(t, 0.5) / 0.06)
    mask = np.uint64(0xFFFFFFFF)
    out = []
    for c, f in enumerate((110.0, 165.0)):
        h = ((i + np.uint64(1000003 * c)) * np.uint64(0x9E3779B1)) & mask
        h ^= h >> np.uint64(15)
        h = (h * np.uint64(0x85EBCA77)) & mask
        h ^= h >> np.uint64(13)
        u = 2.0 * h.astype(np.float64) / 4294967296.0 - 1.0
        x = beat * (0.3 * np.sin(2 * np.pi * f * t) + 0.2 * u) + 0.15 * np.sin(2 * np.pi * 1000.0 * t)
        out.append(x.astype(np.float32))
    return np.stack(out)


def eq_plugins():
    (lg, lf, lq), (mg, mf, mq), (hg, hf, hq) = EQ["low"], EQ["mid"], EQ["high"]
    return [
        pb.LowShelfFilter(cutoff_frequency_hz=lf, gain_db=lg, q=lq),
        pb.PeakFilter(cutoff_frequency_hz=mf, gain_db=mg, q=mq),
        pb.HighShelfFilter(cutoff_frequency_hz=hf, gain_db=hg, q=hq),
    ]


def reverb():
    """LLM2Fx-Tools' mapping (wet = mix, dry = 1 - mix); JUCE multiplies the dry level by 2."""
    return pb.Reverb(
        room_size=REVERB["room_size"],
        damping=REVERB["damping"],
        wet_level=REVERB["mix"],
        dry_level=1.0 - REVERB["mix"],
        width=REVERB["width"],
    )


def pan(x, value=0.5):
    theta = (value + 1.0) * np.pi / 4.0
    return np.stack([x[0] * np.float32(np.cos(theta)), x[1] * np.float32(np.sin(theta))])


def widen(x, width=1.4):
    mid = 0.5 * (x[0] + x[1])
    side = 0.5 * (x[0] - x[1]) * np.float32(width)
    return np.stack([mid + side, mid - side])


def rows():
    """(name, process(x, buffer_size) -> y, same definition as genlab?)"""

    def board(plugins):
        b = pb.Pedalboard(plugins)
        return lambda x, bs: b(x, SAMPLE_RATE, buffer_size=bs, reset=True)

    return [
        ("gain", board([pb.Gain(gain_db=6.0)])),
        ("distortion", board([pb.Distortion(drive_db=12.0)])),
        ("compressor", board([pb.Compressor(**COMPRESSOR)])),
        ("limiter", board([pb.Limiter(threshold_db=-6.0, release_ms=100.0)])),
        ("delay", board([pb.Delay(**DELAY)])),
        ("reverb", board([reverb()])),
        ("equalizer", board(eq_plugins())),
        # numpy has no blocks: the whole buffer either way (LLM2Fx-Tools applies these at once).
        ("panner", lambda x, bs: pan(x)),
        ("stereo_widener", lambda x, bs: widen(x)),
        (
            "chain5",
            board([pb.Gain(gain_db=4.0), pb.Compressor(**COMPRESSOR), *eq_plugins(), pb.Delay(**DELAY), reverb()]),
        ),
    ]


def read_wav(path):
    """A float32 or 16-bit PCM WAV as (channels, samples) float32."""
    data = open(path, "rb").read()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", path
    i, fmt, payload = 12, None, None
    while i + 8 <= len(data):
        cid, size = data[i : i + 4], struct.unpack("<I", data[i + 4 : i + 8])[0]
        body = data[i + 8 : i + 8 + size]
        if cid == b"fmt ":
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif cid == b"data":
            payload = body
        i += 8 + size + (size & 1)
    code, channels, _, _, _, bits = fmt
    if code == 3 and bits == 32:
        x = np.frombuffer(payload, dtype="<f4")
    elif code == 1 and bits == 16:
        x = np.frombuffer(payload, dtype="<i2").astype(np.float32) / 32768.0
    else:
        raise ValueError(f"{path}: unsupported WAV format {code}/{bits}")
    return x.reshape(-1, channels).T.copy()


def time_wav_row(x, steps, warmup):
    """chain5 as a command runs it: read a float WAV, render in blocks of 512, write a float WAV
    (pedalboard's AudioFile both ways). Returns the timed seconds of each repetition."""
    import os
    import tempfile

    from pedalboard.io import AudioFile

    chain = dict(rows())["chain5"]
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "input.wav"), os.path.join(tmp, "output.wav")
        with AudioFile(src, "w", SAMPLE_RATE, x.shape[0], bit_depth=32) as f:
            f.write(x)
        for i in range(warmup + steps):
            t0 = time.perf_counter()
            with AudioFile(src) as f:
                audio = f.read(f.frames)
            y = chain(audio, BLOCK)
            with AudioFile(dst, "w", SAMPLE_RATE, y.shape[0], bit_depth=32) as f:
                f.write(y)
            dt = time.perf_counter() - t0
            if i >= warmup:
                times.append(dt)
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=SECONDS)
    ap.add_argument("--genlab", help="directory written by `genlab bench fx --write DIR`")
    args = ap.parse_args()

    x = test_signal(SAMPLE_RATE, args.seconds)
    audio_seconds = x.shape[1] / SAMPLE_RATE
    print(
        f"pedalboard {pb.__version__}: {args.seconds} s of {SAMPLE_RATE} Hz stereo per render, "
        f"{args.steps} timed render(s) after {args.warmup} warm-up"
    )
    print(f"{'row':16} {'block':>6} {'RTF':>10} {'p10 RTF':>10} {'ms/render':>12}")
    results = []

    def report(name, label, times):
        mean = sum(times) / len(times)
        p10 = sorted(times)[int(len(times) * 0.1)]
        row = dict(
            name=name, block=label, audio_seconds=audio_seconds, renders=len(times),
            rtf=audio_seconds / mean, p10_rtf=audio_seconds / p10, ms_per_render=1e3 * mean,
        )
        results.append(row)
        print(f"{name:16} {label:>6} {row['rtf']:10.1f} {row['p10_rtf']:10.1f} {1e3 * mean:12.2f}")

    for name, process in rows():
        for block in (BLOCK, None):
            bs = block or x.shape[1]
            times = []
            for i in range(args.warmup + args.steps):
                t0 = time.perf_counter()
                process(x, bs)
                dt = time.perf_counter() - t0
                if i >= args.warmup:
                    times.append(dt)
            report(name, str(block) if block else "whole", times)
    report("chain5+wav", str(BLOCK), time_wav_row(x, args.steps, args.warmup))

    comparison = []
    if args.genlab:
        same_input = read_wav(f"{args.genlab}/input.wav")
        drift = float(np.max(np.abs(same_input[:, : x.shape[1]] - x))) if same_input.shape == x.shape else None
        print(f"\ngenlab vs pedalboard on {args.genlab}/input.wav (whole buffer); "
              f"input formula drift vs this script's signal: {drift}")
        print(f"{'row':20} {'max |diff|':>12} {'after 50 ms':>12} {'rms diff':>12} {'rms out':>10}")
        settle = int(0.05 * SAMPLE_RATE)
        for file, name, process in [(n, n, p) for n, p in rows()]:
            theirs = process(same_input, same_input.shape[1])
            ours = read_wav(f"{args.genlab}/{file}.wav")
            n = min(ours.shape[1], theirs.shape[1])
            d = ours[:, :n].astype(np.float64) - theirs[:, :n]
            c = dict(
                name=name, max_abs_diff=float(np.max(np.abs(d))),
                max_abs_diff_after_50ms=float(np.max(np.abs(d[:, settle:]))),
                rms_diff=float(np.sqrt(np.mean(d * d))),
                rms_out=float(np.sqrt(np.mean(theirs.astype(np.float64) ** 2))),
            )
            comparison.append(c)
            print(
                f"{name:20} {c['max_abs_diff']:12.3e} {c['max_abs_diff_after_50ms']:12.3e} "
                f"{c['rms_diff']:12.3e} {c['rms_out']:10.4f}"
            )
    print(json.dumps(dict(rows=results, comparison=comparison)))


if __name__ == "__main__":
    main()
