"""Store memory benchmark (run on demand, not a test): peak RSS of a process writing N documents' parsed blocks
(`document_blocks`) through `Store.write` in groups of 10, with the blocks as stored (zlib + base64) against the same
blocks as plain JSON (how they were stored before), each in a fresh process, in the same run.

    .venv/bin/python bench/bench_blocks_memory.py [--documents 4000]

The blocks are the corpus documents' own (`yusuan.index.blocks.encode_blocks`), made distinct per document; the rest of
each document's rows is one `documents` row. DuckDB's peak while it checkpoints grows with this column.
"""

from __future__ import annotations

import argparse
import base64
import json
import resource
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write(mode: str, documents: int) -> None:
    from yusuan.extract import extract_document
    from yusuan.index.blocks import encode_blocks
    from yusuan.ingest import ingest_path
    from yusuan.store import Store, document_rows

    samples = []
    for path in sorted((ROOT / "corpus").glob("*.txt")):
        doc = ingest_path(path)
        extraction = extract_document(doc)
        extraction.blocks = encode_blocks(doc)
        samples.append(document_rows(extraction))
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "bench.duckdb") as store:
        for start in range(0, documents, 10):
            group = []
            for i in range(start, start + 10):
                rows = samples[i % len(samples)]
                text = zlib.decompress(base64.b64decode(rows.blocks)).decode("utf-8") + f" {i}"  # distinct per document
                blocks = base64.b64encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii") if mode == "stored" else text
                document = list(rows.document)
                document[0] = f"{rows.doc_id}-{i}"
                group.append(type(rows)(f"{rows.doc_id}-{i}", f"{rows.source}#{i}", document, {}, blocks, None))
            store.write(group)
    print(json.dumps({"mode": mode, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=4000)
    parser.add_argument("--mode", choices=("stored", "json"), help=argparse.SUPPRESS)  # one measurement (child)
    args = parser.parse_args()
    if args.mode:
        write(args.mode, args.documents)
        return
    peaks = {}
    for mode in ("json", "stored"):
        out = subprocess.run([sys.executable, __file__, "--mode", mode, "--documents", str(args.documents)],
                             capture_output=True, text=True, check=True).stdout
        peaks[mode] = json.loads(out.strip().splitlines()[-1])["peak_mb"]
    print(f"{args.documents} documents written in groups of 10")
    print(f"blocks as plain JSON (baseline)   peak {peaks['json']:7.0f} MB  1.00x")
    print(f"blocks as stored (zlib + base64)  peak {peaks['stored']:7.0f} MB  {peaks['stored'] / peaks['json']:.2f}x")


if __name__ == "__main__":
    main()
