"""Independent reference for genlab-lm's SmolLM2 forward pass and tokenizer.

Writes crates/lm/tests/fixtures/smollm2_golden.json, which `crates/lm/tests/golden.rs`
compares against. Nothing here uses genlab code:

- the GGUF file is read and dequantised by the `gguf` Python package (llama.cpp's own reader);
- the tokenizer is Hugging Face `tokenizers`' BPE built from the GGUF vocabulary and merges,
  with SmolLM2's pre-tokenizer (Digits(individual_digits) then ByteLevel, no prefix space);
- the model is a plain PyTorch Llama in float64, written in Hugging Face's convention: the
  q/k weight rows are un-permuted back from llama.cpp's layout and RoPE is `rotate_half`
  (genlab rotates adjacent pairs on the permuted weights, so the two conventions are tested
  against each other).

Run once (about a minute on CPU):

    /work/venv-torch/bin/pip install gguf tokenizers
    /work/venv-torch/bin/python bench/reference/smollm2_reference.py \
        PATH/TO/SmolLM2-135M-Instruct.Q4_1.gguf crates/lm/tests/fixtures/smollm2_golden.json
"""

import json
import sys

import numpy as np
import torch
from gguf import GGUFReader
from gguf.quants import dequantize
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

PROMPTS = [
    "The capital of France is",
    "In 1611, the King James Bible was printed; it's still read.",
]
TOKENIZER_CHECKS = [
    "The capital of France is",
    "Hello, world! It's 2024 and we'll see 3.14159…",
    "  leading spaces\n\n\ttabs and\r\nwindows lines   ",
    "naïve café — Ünïcödé, 中文, emoji 🙂🚀 and x²+y³",
    "And God said, Let there be light: and there was light.",
    "don't DON'T you've I'D 'quoted' ''' x--y==z",
    "1234567890 12,345.67 $99 #1 @home",
]
LAYERS = [0, 1, 6, 15, 29, 30]
TOP = 20
FIRST = 16


def field(reader, key):
    f = reader.fields[key]
    return f.contents()


def load(path):
    r = GGUFReader(path)
    meta = {k: field(r, k) for k in r.fields if not k.startswith("GGUF.")}
    tensors = {}
    for t in r.tensors:
        w = dequantize(t.data, t.tensor_type)
        # gguf dims are fastest-first; numpy shape is the reverse.
        w = np.asarray(w, dtype=np.float64).reshape(tuple(int(x) for x in reversed(t.shape)))
        tensors[t.name] = torch.from_numpy(w)
    return meta, tensors


def build_tokenizer(meta):
    tokens = meta["tokenizer.ggml.tokens"]
    vocab = {t: i for i, t in enumerate(tokens)}
    merges = [tuple(m.split(" ", 1)) for m in meta["tokenizer.ggml.merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    return tok


def unpermute(w, n_head):
    """llama.cpp's convert permutes q/k rows (HF half-split → interleaved pairs); undo it."""
    out, inp = w.shape
    return w.reshape(n_head, out // n_head // 2, 2, inp).transpose(1, 2).reshape(out, inp)


def rms_norm(x, g, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * g


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def forward(meta, W, ids):
    L = int(meta["llama.block_count"])
    d = int(meta["llama.embedding_length"])
    H = int(meta["llama.attention.head_count"])
    K = int(meta["llama.attention.head_count_kv"])
    eps = float(meta["llama.attention.layer_norm_rms_epsilon"])
    base = float(meta["llama.rope.freq_base"])
    hd = d // H
    T = len(ids)
    emb = W["token_embd.weight"]  # [V, d]
    x = emb[torch.tensor(ids)]
    inv = 1.0 / base ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    ang = torch.cat([ang, ang], dim=-1)
    cos, sin = ang.cos(), ang.sin()
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    hidden = [x.clone()]
    for l in range(L):
        p = f"blk.{l}."
        h = rms_norm(x, W[p + "attn_norm.weight"], eps)
        q = h @ unpermute(W[p + "attn_q.weight"], H).T
        k = h @ unpermute(W[p + "attn_k.weight"], K).T
        v = h @ W[p + "attn_v.weight"].T
        q = q.view(T, H, hd).transpose(0, 1)
        k = k.view(T, K, hd).transpose(0, 1)
        v = v.view(T, K, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // K, dim=0)
        v = v.repeat_interleave(H // K, dim=0)
        att = torch.softmax(q @ k.transpose(1, 2) / hd**0.5 + mask, dim=-1)
        a = (att @ v).transpose(0, 1).reshape(T, H * hd)
        x = x + a @ W[p + "attn_output.weight"].T
        m = rms_norm(x, W[p + "ffn_norm.weight"], eps)
        g = m @ W[p + "ffn_gate.weight"].T
        u = m @ W[p + "ffn_up.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ W[p + "ffn_down.weight"].T
        hidden.append(x.clone())
    out = W.get("output.weight", emb)
    logits = rms_norm(x, W["output_norm.weight"], eps) @ out.T
    return hidden, logits


def main():
    path, out_path = sys.argv[1], sys.argv[2]
    meta, W = load(path)
    tok = build_tokenizer(meta)
    fixture = {
        "model": path.rsplit("/", 1)[-1],
        "tokenizer": [{"text": s, "ids": tok.encode(s).ids} for s in TOKENIZER_CHECKS],
        "layers": LAYERS,
        "sequences": [],
    }
    for text in PROMPTS:
        ids = tok.encode(text).ids
        with torch.no_grad():
            hidden, logits = forward(meta, W, ids)
        last = logits[-1]
        top = torch.topk(last, TOP)
        logp = torch.log_softmax(logits, dim=-1)
        nll = [-float(logp[t, ids[t + 1]]) for t in range(len(ids) - 1)]
        greedy = int(last.argmax())
        fixture["sequences"].append(
            {
                "text": text,
                "ids": ids,
                "top_ids": top.indices.tolist(),
                "top_logits": top.values.tolist(),
                "argmax_per_position": logits.argmax(-1).tolist(),
                "nll": nll,
                "greedy_next": greedy,
                "greedy_next_text": tok.decode([greedy]),
                "hidden_norms": {str(l): hidden[l].norm(dim=-1).tolist() for l in LAYERS},
                "hidden_last_first": {str(l): hidden[l][-1, :FIRST].tolist() for l in LAYERS},
            }
        )
        print(text, ids, "->", repr(tok.decode([greedy])))
    with open(out_path, "w") as f:
        json.dump(fixture, f, indent=1)


if __name__ == "__main__":
    main()
