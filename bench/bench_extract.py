"""Text extraction throughput, end to end: `yusuan extract` (ingest → extract → store) on the bundled corpus replicated.

The 5 text documents of corpus/ are copied until there are ``--documents`` of them, each copy with a line of its own so
that none is skipped as a duplicate. Every figure is printed beside a baseline measured in the same run on the same
files: a bare pass that reads each file, decodes it and splits its lines and tabs. Per core means per CPU second
(the batch's parent and its workers together), so the figure does not depend on how busy the machine is.

Splits the CPU per document between the workers (ingest, extract, audit, store rows) and the parent (store writes).
Also reports the peak resident memory of the batch's parent process and of its workers: run with
``--documents 1000 10000`` to see whether the parent stays flat as the batch grows.

Run: `.venv/bin/python bench/bench_extract.py [--documents 1000 10000] [--workers 1]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

# `yusuan extract` as the CLI runs it, plus a note of the parent's and the workers' peak memory at exit
_PROBE = """
import atexit, json, os, sys
from yusuan.extract import cli
from yusuan.extract.worker import peak_rss_mb
workers = {}
run_batch = cli.run_batch
def measured_run_batch(*args, **kwargs):
    result = run_batch(*args, **kwargs)
    workers.update(result.worker_peak_rss_mb)
    return result
cli.run_batch = measured_run_batch
def note():
    import resource
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(os.environ["BENCH_MEMORY"], "w") as handle:
        json.dump({"parent": peak_rss_mb(), "workers": max(workers.values(), default=0.0),
                   "parent_cpu": usage.ru_utime + usage.ru_stime}, handle)
atexit.register(note)
from yusuan.cli import app
sys.argv = ["yusuan", "extract", *sys.argv[1:]]
app()
"""


def replicate(folder: Path, documents: int) -> list[Path]:
    seeds = [(path.name, path.read_bytes()) for path in sorted(CORPUS.glob("*.txt"))]
    paths = []
    for i in range(documents):
        name, data = seeds[i % len(seeds)]
        path = folder / f"{i // len(seeds)}-{name}"
        path.write_bytes(data + f"\n附注{i // len(seeds)}\n".encode())
        paths.append(path)
    return paths


def bare_pass(paths: list[Path]) -> float:
    """CPU seconds to read, decode and split every file into lines and cells."""
    started = time.process_time()
    cells = 0
    for path in paths:
        for line in path.read_bytes().decode("utf-8").split("\n"):
            cells += len(line.split("\t"))
    return time.process_time() - started


def yusuan_extract(folder: Path, data: Path, workers: int) -> dict[str, float]:
    """Run `yusuan extract` in a child process: wall and CPU seconds (it and its workers), peak memory in MB."""
    memory = data / "memory.json"
    env = {**os.environ, "BENCH_MEMORY": str(memory)}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", _PROBE, str(folder), "--data", str(data), "--workers", str(workers)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"yusuan extract failed: {process.stderr.read().decode()[-2000:]}")
    peaks = json.loads(memory.read_text())
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, **peaks}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, nargs="+", default=[1000], help="batch sizes to run (default 1000)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes of `yusuan extract` (default 1)")
    args = parser.parse_args()
    runs = []
    for documents in args.documents:
        with tempfile.TemporaryDirectory(prefix="bench-extract-") as scratch:
            folder = Path(scratch) / "in"
            folder.mkdir()
            paths = replicate(folder, documents)
            megabytes = sum(path.stat().st_size for path in paths) / 1e6
            baseline = bare_pass(paths)
            run = yusuan_extract(folder, Path(scratch) / "data", args.workers)
            runs.append((documents, run))
        per_core = documents / run["cpu"]
        print(f"{documents} documents ({megabytes:.1f} MB), yusuan extract --workers {args.workers}:")
        print(f"  baseline (read + decode + split): {documents / baseline:9.0f} docs/s per core   {megabytes / baseline:7.1f} MB/s")
        print(f"  yusuan extract (ingest → store):  {per_core:9.1f} docs/s per core   {megabytes / run['cpu']:7.2f} MB/s"
              f"   ({documents / run['wall']:.1f} docs/s wall)")
        print(f"  ratio yusuan / baseline CPU time: {run['cpu'] / baseline:.0f}x   (target: >= 200 docs/s per core)")
        parent_ms = run["parent_cpu"] * 1000 / documents
        print(f"  CPU per document: {run['cpu'] * 1000 / documents:.1f} ms = workers {run['cpu'] * 1000 / documents - parent_ms:.1f}"
              f" + parent (store writes, bookkeeping) {parent_ms:.1f}")
        print(f"  peak RSS: parent {run['parent']:.0f} MB, workers {run['workers']:.0f} MB")
    if len(runs) > 1:
        (small, first), (large, last) = runs[0], runs[-1]
        growth = (last["parent"] - first["parent"]) * 1024 / (large - small)
        print(f"parent growth from {small} to {large} documents: {growth:.1f} KB per document "
              f"(ratio of peaks {last['parent'] / first['parent']:.2f}x)")


if __name__ == "__main__":
    main()
