"""Text-embedding throughput of the representation center: sentence-transformers default vs. our path.

    .venv/bin/python bench/content_throughput.py -w /tmp/ws20k --texts 3000 --rounds 3

Embeds the same random sample of a workspace's distinct event texts with

* `st-default`   SentenceTransformer.encode with its defaults (batch 32, torch's threads);
* `textencoder`  targetbot.towers.text_encoder.TextEncoder.encode (batch 128);
* `fast`         towers.content.embed: length-bucketed batches without padding or attention
                 mask, inference_mode, one worker thread per CPU with one intra-op thread each;
* `fast-1x{n}`   the same batches in one worker thread with n intra-op threads (the classic way),

interleaved over rounds (so a noisy neighbour hits all of them alike), and prints the median
texts/s of each, the ratio to `st-default`, texts per CPU-second of this process (less
sensitive to other load on a shared machine; OpenMP spin-waiting counts as CPU), and the
smallest cosine to `st-default`'s vectors.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-w", "--workspace", default=os.environ.get("TARGETBOT_WORKSPACE", "/tmp/ws20k"))
    ap.add_argument("--texts", type=int, default=3000, help="sample size (distinct texts)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import torch

    from targetbot.commands.common import settings_from_env
    from targetbot.core.workspace import Workspace
    from targetbot.towers.content import embed, event_texts, usable_cpus
    from targetbot.towers.text_encoder import load_text_encoder

    texts = event_texts(Workspace.open(args.workspace))
    random.Random(args.seed).shuffle(texts)
    texts = texts[: args.texts]
    enc = load_text_encoder(settings_from_env())
    st = enc.model
    cpus = usable_cpus()
    tokens = [len(x) for x in st.tokenizer(texts)["input_ids"]]
    print(f"{len(texts):,} texts from {args.workspace}; tokens mean {np.mean(tokens):.1f} max {max(tokens)}; "
          f"{cpus} CPUs, torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}")

    methods = {
        "st-default": lambda xs: st.encode(xs, normalize_embeddings=True),
        "textencoder": lambda xs: enc.encode(xs),
        "fast": lambda xs: embed(enc, xs),
        f"fast-1x{cpus}": lambda xs: embed(enc, xs, workers=1),
    }
    for fn in methods.values():  # warm-up (and the fast path's one-off self-check)
        fn(texts[:64])
    rates: dict[str, list[float]] = {k: [] for k in methods}
    per_cpu: dict[str, list[float]] = {k: [] for k in methods}
    vecs: dict[str, np.ndarray] = {}
    for r in range(args.rounds):
        order = list(methods) if r % 2 == 0 else list(methods)[::-1]
        for name in order:
            t, c = time.perf_counter(), time.process_time()
            vecs[name] = methods[name](texts)
            rates[name].append(len(texts) / (time.perf_counter() - t))
            per_cpu[name].append(len(texts) / (time.process_time() - c))
    base = statistics.median(rates["st-default"])
    print(f"{'method':<14}{'texts/s':>10}{'ratio':>8}{'texts/cpu-s':>13}{'min cos':>10}   texts/s by round")
    for name, rs in rates.items():
        med = statistics.median(rs)
        cos = float((vecs[name] * vecs["st-default"]).sum(1).min())
        print(f"{name:<14}{med:>10.0f}{med / base:>8.2f}{statistics.median(per_cpu[name]):>13.0f}{cos:>10.6f}   "
              f"{' '.join(f'{x:.0f}' for x in rs)}")
    print(f"fast / st-default: {statistics.median(rates['fast']) / base:.2f}x "
          f"(load average at the end {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
