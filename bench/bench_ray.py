"""Bulk extraction throughput: the local batch (1 and 2 worker processes) vs `--engine ray` (1 and 2 Ray CPUs), same run.

Real PDFs from ../shared/realdocs (the smallest of each folder, --files of them, smallest first). Each Ray run starts a
local cluster (`ray start --head` on 127.0.0.1) first and times `run_on_ray` from connecting to the last file written;
the cluster start is printed apart. Run: `.venv/bin/python bench/bench_ray.py [--files 6]` (needs the `ray` extra).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from yusuan.extract.batch import BatchResult, run_batch
from yusuan.extract.ray_engine import local_cluster, run_on_ray
from yusuan.store import Store
from yusuan.store.dataset import Dataset

REALDOCS = Path(__file__).resolve().parents[2] / "shared" / "realdocs"


def pick(count: int) -> list[Path]:
    smallest: dict[Path, Path] = {}
    for path in sorted(REALDOCS.rglob("*.pdf"), key=lambda p: (p.stat().st_size, str(p))):
        smallest.setdefault(path.parent, path)
    return sorted(smallest.values(), key=lambda p: p.stat().st_size)[:count]


def line(name: str, result: BatchResult, seconds: float, baseline: float | None) -> str:
    pages = sum(o.pages for o in result.outcomes)
    ratio = f"{baseline / seconds:5.2f}x" if baseline else "  1.00x"
    failed = f"  ({len(result.failed)} failed)" if result.failed else ""
    return (f"{name:<22} {seconds:7.1f} s  {len(result.outcomes) / seconds:6.2f} files/s  {pages / seconds:6.1f} pages/s"
            f"  {ratio}{failed}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=6, help="real PDFs to extract (default 6)")
    args = parser.parse_args()
    files = pick(args.files)
    pages = 0
    work = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    lines = []
    try:
        baseline = None
        for workers in (1, 2):
            started = time.perf_counter()
            with Store(work / f"local{workers}.duckdb") as store:
                result = run_batch(files, store, workers=workers)
            seconds = time.perf_counter() - started
            pages = sum(o.pages for o in result.outcomes)
            lines.append(line(f"local --workers {workers}", result, seconds, baseline))
            baseline = baseline or seconds
        for cpus in (1, 2):
            started = time.perf_counter()
            with local_cluster(cpus) as address:
                start = time.perf_counter() - started
                started = time.perf_counter()
                result = run_on_ray(files, Dataset(work / f"ray{cpus}"), address=address)
                seconds = time.perf_counter() - started
            lines.append(line(f"ray, {cpus} CPU{'s' if cpus > 1 else ''}", result, seconds, baseline)
                         + f"  (cluster start {start:.1f} s, not counted)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(files)} PDFs, {pages} pages; ratio = local --workers 1 time / this time")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
