"""Writes crates/fx/tests/fixtures/pedalboard_golden.json: pedalboard's output for each effect
genlab shares with it, at several parameter settings, for the engine's pedalboard-parity test
(crates/fx/tests/pedalboard_golden.rs). Never run in CI; rerun when pedalboard or a setting
changes:

  ~/venv-torch/bin/python bench/pedalboard_golden.py [--out crates/fx/tests/fixtures/pedalboard_golden.json]

input    0.5 s of the stereo test signal of crates/fx/src/bench.rs (the formula is repeated in
         bench/pedalboard_fx.py), 44.1 kHz, float32
cases    each effect alone, values on genlab's step grid, mapped to pedalboard as LLM2Fx-Tools
         and bench/fx_evalset.py map them (reverb: wet_level = mix, dry_level = 1 - mix; the
         equalizer: LowShelfFilter -> PeakFilter -> HighShelfFilter)
render   one board(x, 44100, buffer_size=8192, reset=True) call (pedalboard's default buffer)
stored   per case: genlab's tool call, and pedalboard's output at 128 fixed sample indices per
         channel (spread over the whole 0.5 s, denser at the start), plus the RMS of the whole
         output; 9 significant digits (float32 needs 9 to round-trip)
"""

import argparse
import json
import os
import sys

import numpy as np
import pedalboard as pb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pedalboard_fx import test_signal  # noqa: E402

SR = 44100
SECONDS = 0.5

CASES = [
    ("gain", dict(gain_db=-14.0)),
    ("gain", dict(gain_db=6.0)),
    ("distortion", dict(drive_db=12.0)),
    ("distortion", dict(drive_db=20.0)),
    ("compressor", dict(threshold_db=-20.0, ratio=4.0, attack_ms=10.0, release_ms=100.0, makeup_db=0.0)),
    ("compressor", dict(threshold_db=-35.0, ratio=12.0, attack_ms=1.0, release_ms=501.2, makeup_db=0.0)),
    ("limiter", dict(threshold_db=-6.0, release_ms=100.0)),
    ("limiter", dict(threshold_db=-18.0, release_ms=3.981)),
    ("limiter", dict(threshold_db=-1.0, release_ms=1000.0)),
    ("delay", dict(delay_seconds=0.25, feedback=0.3, mix=0.3)),
    ("delay", dict(delay_seconds=0.35, feedback=0.6, mix=1.0)),
    ("delay", dict(delay_seconds=0.05, feedback=0.0, mix=0.5)),
    ("reverb", dict(room_size=0.5, damping=0.5, width=0.9, mix=0.3)),
    ("reverb", dict(room_size=0.9, damping=0.0, width=0.0, mix=1.0)),
    ("reverb", dict(room_size=0.1, damping=0.9, width=0.5, mix=0.0)),
    ("equalizer", dict(low_gain_db=3.0, low_cutoff_hz=100.0, low_q=0.7, mid_gain_db=-4.0,
                       mid_center_hz=1000.0, mid_q=0.7, high_gain_db=2.0, high_cutoff_hz=8000.0, high_q=0.7)),
    ("equalizer", dict(low_gain_db=-20.0, low_cutoff_hz=20.0, low_q=6.0, mid_gain_db=20.0,
                       mid_center_hz=6000.0, mid_q=0.1, high_gain_db=-7.0, high_cutoff_hz=20000.0, high_q=2.5)),
]


def plugins(name, a):
    if name == "gain":
        return [pb.Gain(gain_db=a["gain_db"])]
    if name == "distortion":
        return [pb.Distortion(drive_db=a["drive_db"])]
    if name == "compressor":
        assert a["makeup_db"] == 0.0
        return [pb.Compressor(threshold_db=a["threshold_db"], ratio=a["ratio"], attack_ms=a["attack_ms"],
                              release_ms=a["release_ms"])]
    if name == "limiter":
        return [pb.Limiter(threshold_db=a["threshold_db"], release_ms=a["release_ms"])]
    if name == "delay":
        return [pb.Delay(delay_seconds=a["delay_seconds"], feedback=a["feedback"], mix=a["mix"])]
    if name == "reverb":
        return [pb.Reverb(room_size=a["room_size"], damping=a["damping"], width=a["width"],
                          wet_level=a["mix"], dry_level=1 - a["mix"])]
    if name == "equalizer":
        return [
            pb.LowShelfFilter(cutoff_frequency_hz=a["low_cutoff_hz"], gain_db=a["low_gain_db"], q=a["low_q"]),
            pb.PeakFilter(cutoff_frequency_hz=a["mid_center_hz"], gain_db=a["mid_gain_db"], q=a["mid_q"]),
            pb.HighShelfFilter(cutoff_frequency_hz=a["high_cutoff_hz"], gain_db=a["high_gain_db"], q=a["high_q"]),
        ]
    raise ValueError(name)


def indices(n, count=128):
    """Every sample of the first 32, then evenly spread to the end."""
    head = list(range(32))
    tail = np.linspace(32, n - 1, count - 32).round().astype(int).tolist()
    return head + tail


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="crates/fx/tests/fixtures/pedalboard_golden.json")
    args = ap.parse_args()
    x = test_signal(SR, SECONDS)
    idx = indices(x.shape[1])
    cases = []
    for name, arguments in CASES:
        y = pb.Pedalboard(plugins(name, arguments))(x, SR, buffer_size=8192, reset=True)
        cases.append(dict(
            call=dict(name=name, arguments=arguments),
            samples=[[float(f"{v:.9g}") for v in ch[idx]] for ch in y],
            rms=float(np.sqrt(np.mean(y.astype(np.float64) ** 2))),
        ))
    doc = dict(
        generator="bench/pedalboard_golden.py", pedalboard=pb.__version__, sample_rate=SR,
        seconds=SECONDS, signal="crates/fx/src/bench.rs test_signal", indices=idx, cases=cases,
    )
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    # Compact: one line per case.
    cases_text = ",\n".join(json.dumps(c, separators=(",", ":")) for c in doc.pop("cases"))
    head = json.dumps(doc, separators=(",", ":"))[:-1]
    with open(args.out, "w") as f:
        f.write(f"{head},\n\"cases\":[\n{cases_text}\n]}}\n")
    print(f"wrote {len(cases)} cases to {args.out}")


if __name__ == "__main__":
    main()
