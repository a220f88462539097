"""Twin of `genlab bench lm`: llama.cpp (through llama-cpp-python) on the same GGUF file.

  ~/venv-llama/bin/python bench/llama_cpp.py [--threads 2] [--steps 5] [--warmup 1] [--json]

Rows (the same names, prompts and steps as crates/lm/src/bench.rs):

  prompt T tokens to layer 6    a copy of the file cut to its first 6 blocks (llama.block_count
                                = 6, later blocks' tensors dropped), prompt eval into an empty
                                KV cache; llama.cpp then also applies the final norm and the
                                unembedding to the last position (≈1% of 6 blocks at T = 128)
  prompt T tokens, full model   the whole file, prompt eval into an empty KV cache (logits of
                                the last position only), T = 128 and 512
  decode after 128 tokens       after the 128-token prompt, 32 greedy tokens one eval at a time,
                                then the cache is cut back to the prompt

prompt ids: (1 + 7919 i) mod V. n_batch = n_ubatch = 512, so a prompt runs as one batch;
n_threads = n_threads_batch = --threads. Flash attention off unless --flash-attn (the
llama-cpp-python default; printed). Output: a table for people and, last, one JSON line with the rows — the convention
of bench/twin.py (not imported: torch is not in this venv); throughput is `per_second`
(tokens/s).

Setup (not in CI; compiles llama.cpp, ~10 min on 2 cores):
  python3 -m venv ~/venv-llama && ~/venv-llama/bin/pip install llama-cpp-python
"""

import argparse
import json
import os
import struct
import sys
import tempfile
import time
from pathlib import Path

# This file's name is the package's: keep bench/ off the import path so `llama_cpp` is the library.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import llama_cpp  # noqa: E402
from llama_cpp import Llama  # noqa: E402

CONTEXTS = (128, 512)
PARTIAL_LAYER = 6
DECODE_PROMPT = 128
DECODE_TOKENS = 32
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def model_path():
    """The file `genlab data fetch smollm2-135m` installs (GENLAB_DATA, XDG_CACHE_HOME or ~/.cache)."""
    if os.environ.get("GENLAB_DATA"):
        root = Path(os.environ["GENLAB_DATA"])
    elif os.environ.get("XDG_CACHE_HOME", "").startswith("/"):
        root = Path(os.environ["XDG_CACHE_HOME"]) / "genlab"
    else:
        root = Path.home() / ".cache" / "genlab"
    return root / "smollm2-135m" / MODEL_FILE


# --- GGUF: just enough to copy a file with fewer blocks ------------------------------------

SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def _skip_value(buf, pos, vtype):
    if vtype in SCALAR:
        return pos + struct.calcsize(SCALAR[vtype])
    if vtype == 8:
        (n,) = struct.unpack_from("<Q", buf, pos)
        return pos + 8 + n
    if vtype == 9:
        etype, n = struct.unpack_from("<IQ", buf, pos)
        pos += 12
        for _ in range(n):
            pos = _skip_value(buf, pos, etype)
        return pos
    raise ValueError(f"GGUF value type {vtype}")


def _string(buf, pos):
    (n,) = struct.unpack_from("<Q", buf, pos)
    return buf[pos + 8 : pos + 8 + n].decode(), pos + 8 + n


def truncate_blocks(src, dst, n_blocks):
    """Writes `src` with `llama.block_count = n_blocks` and the tensors of later blocks dropped."""
    buf = Path(src).read_bytes()
    assert buf[:4] == b"GGUF", "not a GGUF file"
    version, n_tensors, n_kv = struct.unpack_from("<IQQ", buf, 4)
    pos, kvs, alignment = 24, [], 32
    for _ in range(n_kv):
        start = pos
        key, pos = _string(buf, pos)
        (vtype,) = struct.unpack_from("<I", buf, pos)
        end = _skip_value(buf, pos + 4, vtype)
        raw = buf[start:end]
        if key == "llama.block_count":
            raw = buf[start : pos + 4] + struct.pack(SCALAR[vtype], n_blocks)
        if key == "general.alignment":
            (alignment,) = struct.unpack_from(SCALAR[vtype], buf, pos + 4)
        kvs.append(raw)
        pos = end
    tensors = []
    for _ in range(n_tensors):
        start = pos
        name, pos = _string(buf, pos)
        (n_dims,) = struct.unpack_from("<I", buf, pos)
        pos += 4 + 8 * n_dims + 4
        (offset,) = struct.unpack_from("<Q", buf, pos)
        tensors.append((name, buf[start:pos], offset))
        pos += 8
    data = (pos + alignment - 1) // alignment * alignment
    by_offset = sorted(t[2] for t in tensors) + [len(buf) - data]
    size = {o: by_offset[i + 1] - o for i, o in enumerate(by_offset[:-1])}

    def keep(name):
        return not name.startswith("blk.") or int(name.split(".")[1]) < n_blocks

    kept = [t for t in tensors if keep(t[0])]
    head = bytearray(b"GGUF" + struct.pack("<IQQ", version, len(kept), n_kv))
    for raw in kvs:
        head += raw
    body, cursor = bytearray(), 0
    for name, info, offset in kept:
        head += info + struct.pack("<Q", cursor)
        body += buf[data + offset : data + offset + size[offset]]
        cursor += size[offset]
    head += b"\0" * ((-len(head)) % alignment)
    Path(dst).write_bytes(bytes(head + body))


# --- timing ---------------------------------------------------------------------------------


def prompt(n, vocab):
    return [(1 + 7919 * i) % vocab for i in range(n)]


def timed(warmup, steps, step):
    seconds = []
    for i in range(warmup + steps):
        t = time.perf_counter()
        step()
        if i >= warmup:
            seconds.append(time.perf_counter() - t)
    return seconds


def row(name, tokens, seconds, threads):
    mean = len(seconds) / sum(seconds)
    return {
        "name": name,
        "threads": threads,
        "per_second": tokens * mean,
        "p10_per_second": tokens / sorted(seconds)[int(len(seconds) * 0.1)],
        "tokens_per_step": tokens,
        "ms_per_step": 1e3 / mean,
    }


def load(path, threads, flash_attn):
    return Llama(
        model_path=str(path),
        n_ctx=1024,
        n_batch=512,
        n_ubatch=512,
        n_threads=threads,
        n_threads_batch=threads,
        logits_all=False,
        flash_attn=flash_attn,
        verbose=False,
    )


def prompt_rows(llm, label, args):
    rows = []
    for t in CONTEXTS:
        tokens = prompt(t, llm.n_vocab())

        def step():
            llm.reset()
            llm.eval(tokens)

        rows.append(row(label.format(t=t), t, timed(args.warmup, args.steps, step), args.threads))
    return rows


def last_argmax(llm):
    """The greedy next token: argmax of the last evaluated position's logits."""
    return int(np.argmax(np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))))


def decode_row(llm, args):
    llm.reset()
    llm.eval(prompt(DECODE_PROMPT, llm.n_vocab()))
    first = last_argmax(llm)

    def step():
        llm.n_tokens = DECODE_PROMPT  # eval drops the cache from n_tokens on
        nxt = first
        for _ in range(DECODE_TOKENS):
            llm.eval([nxt])
            nxt = last_argmax(llm)

    seconds = timed(args.warmup, args.steps, step)
    return row(f"decode after {DECODE_PROMPT} tokens", DECODE_TOKENS, seconds, args.threads)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print only the JSON rows")
    p.add_argument("--flash-attn", action="store_true", help="llama.cpp's flash attention (default off)")
    args = p.parse_args()
    path = model_path()
    if not path.is_file():
        raise SystemExit(f"llama_cpp.py: {path} is missing; run `genlab data fetch smollm2-135m`")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cut = Path(tmp) / f"blocks-{PARTIAL_LAYER}.gguf"
        truncate_blocks(path, cut, PARTIAL_LAYER)
        llm = load(cut, args.threads, args.flash_attn)
        partial = prompt_rows(llm, f"prompt {{t}} tokens to layer {PARTIAL_LAYER}", args)
        del llm
    llm = load(path, args.threads, args.flash_attn)
    full = prompt_rows(llm, "prompt {t} tokens, full model", args)
    for a, b in zip(partial, full):
        rows += [a, b]
    rows.append(decode_row(llm, args))
    if not args.json:
        print(f"llama-cpp-python {llama_cpp.__version__}, threads: {args.threads}, flash attention: {args.flash_attn}")
        width = max(len(r["name"]) for r in rows) + 2
        print(f"{'row':{width}} {'tokens/s':>10} {'p10':>10} {'ms/step':>9}")
        for r in rows:
            print(f"{r['name']:{width}} {r['per_second']:>10.1f} {r['p10_per_second']:>10.1f} {r['ms_per_step']:>9.1f}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
