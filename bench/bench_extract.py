"""Extraction throughput on one core: the bundled corpus replicated to >=1,000 documents.

Prints MB/s and documents/s for yusuan (ingest + extract, no store) and, as a baseline measured in the same run,
for a bare pass that only decodes the bytes and splits lines and tabs. Run: `.venv/bin/python bench/bench_extract.py`.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

from yusuan.extract import extract_document
from yusuan.ingest.text import ingest_text

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def replicated(copies: int) -> list[tuple[str, bytes]]:
    seeds = [(path.name, path.read_bytes()) for path in sorted(CORPUS.glob("*.txt"))]
    return [(f"{i}-{name}", data + f"\n附注{i}\n".encode()) for i in range(copies) for name, data in seeds]


def bare_pass(docs: list[tuple[str, bytes]]) -> int:
    cells = 0
    for _, data in docs:
        for line in data.decode("utf-8").split("\n"):
            cells += len(line.split("\t"))
    return cells


def yusuan_pass(docs: list[tuple[str, bytes]]) -> int:
    records = 0
    for name, data in docs:
        extraction = extract_document(ingest_text(name, data, hashlib.sha256(data).hexdigest()))
        records += len(extraction.records)
    return records


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=200, help="copies of the 5 seed documents (default 200 → 1000)")
    args = parser.parse_args()
    docs = replicated(args.copies)
    megabytes = sum(len(data) for _, data in docs) / 1e6

    started = time.perf_counter()
    bare_pass(docs)
    bare = time.perf_counter() - started

    started = time.perf_counter()
    records = yusuan_pass(docs)
    full = time.perf_counter() - started

    print(f"documents: {len(docs)}  text: {megabytes:.1f} MB  records: {records}")
    print(f"baseline (decode + split): {megabytes / bare:8.1f} MB/s  {len(docs) / bare:9.0f} docs/s")
    print(f"yusuan ingest + extract:   {megabytes / full:8.2f} MB/s  {len(docs) / full:9.1f} docs/s")
    print(f"ratio yusuan / baseline time: {full / bare:.1f}x   (target: >= 2 MB/s per core)")


if __name__ == "__main__":
    main()
