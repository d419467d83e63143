"""PDF throughput over the real disclosures: yusuan against a bare pdfplumber pass over the same pages.

Measured in one run, each pass in a fresh process (so peak memory is its own):

* bare     — pdfplumber alone: for every page `page.extract_words()` + `page.find_tables()`;
* yusuan   — the whole extraction of each file as a batch worker does it (`extract_one`: ingest, extract, the
             parsed blocks, the audit), in one process (one core, no store), pages read with PDFium (the default):
             the like-for-like comparison with the bare pass (target: ≤ 0.2× its time); like the bare pass, the
             libraries are imported before the clock starts;
* yusuan (pdfminer) — the same with `YUSUAN_PDF_BACKEND=pdfminer` (every page read by pdfplumber/pdfminer);
* batch ×1 / batch ×2 — `run_batch` into a fresh DuckDB store with 1 and 2 worker processes (worker start-up,
             hashing and store writes included), with each worker's peak resident memory.

Run: `.venv/bin/python bench/bench_pdf.py [FOLDER] [--limit N] [--repeat N]` (default folder: ../shared/realdocs).
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REALDOCS = ROOT.parent / "shared" / "realdocs"
TARGET = 0.2


def _peak_mb() -> float:
    from yusuan.extract.worker import peak_rss_mb

    return peak_rss_mb()


def bare_pass(files: list[str]) -> dict:
    import pdfplumber

    pages = words = tables = 0
    started, cpu = time.perf_counter(), time.process_time()
    for path in files:
        with pdfplumber.open(path) as pdf:
            for page in pdf.pages:
                words += len(page.extract_words())
                tables += len(page.find_tables())
                pages += 1
                page.close()
    return {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu, "pages": pages,
            "detail": f"{words} words, {tables} tables", "peak": _peak_mb()}


def yusuan_pass(files: list[str], backend: str = "pdfium") -> dict:
    os.environ["YUSUAN_PDF_BACKEND"] = backend
    from yusuan.extract.worker import collect_less_often, extract_one

    collect_less_often()  # as a batch worker does
    # the libraries extract_one imports on first use, imported before the clock starts (as the bare pass does)
    for module in ("pdfplumber", "pypdfium2", "yusuan.audit", "yusuan.index.blocks"):
        importlib.import_module(module)

    pages = records = failed = 0
    started, cpu = time.perf_counter(), time.process_time()
    for path in files:
        _extraction, outcome = extract_one(path)  # what a batch worker does per file, the store aside
        pages += outcome.pages
        records += outcome.records
        if outcome.status == "failed":
            failed += 1
            print(f"  yusuan failed on {path}: {outcome.stage}: {outcome.reason}", file=sys.stderr)
    detail = f"{records} records" + (f", {failed} failed" if failed else "")
    return {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu, "pages": pages,
            "detail": detail, "peak": _peak_mb()}


def batch_pass(files: list[str], workers: int) -> dict:
    from yusuan.extract.batch import run_batch
    from yusuan.store import Store

    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "yusuan.duckdb") as store:
        started, cpu = time.perf_counter(), _cpu_with_children()
        result = run_batch([Path(path) for path in files], store, workers=workers)
        seconds, cpu = time.perf_counter() - started, _cpu_with_children() - cpu
    pages = sum(outcome.pages for outcome in result.outcomes)
    records = sum(outcome.records for outcome in result.outcomes)
    detail = f"{records} records" + (f", {len(result.failed)} failed" if result.failed else "")
    peaks = sorted(result.worker_peak_rss_mb.values(), reverse=True)
    return {"seconds": seconds, "cpu": cpu, "pages": pages, "detail": detail, "peak": max(peaks, default=0.0),
            "workers": peaks}


def _cpu_with_children() -> float:
    """CPU seconds of this process and of its finished children (the batch workers)."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def in_fresh_process(function, *args) -> dict:
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def best_of(repeat: int, function, *args) -> dict:
    runs = [in_fresh_process(function, *args) for _ in range(repeat)]
    return min(runs, key=lambda run: run["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=REALDOCS, help="folder of PDFs (walked recursively)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N PDFs (sorted by path)")
    parser.add_argument("--repeat", type=int, default=1, help="run each pass N times and keep the fastest")
    parser.add_argument("--no-batch", action="store_true", help="skip the two batch passes")
    args = parser.parse_args()
    files = [str(path) for path in sorted(args.folder.rglob("*.pdf")) if args.folder != REALDOCS or "cities-2026" not in path.parts]
    if args.limit:
        files = files[: args.limit]
    if not files:
        print(f"no PDFs under {args.folder}")
        return
    megabytes = sum(Path(path).stat().st_size for path in files) / 1e6
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

    before = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    bare = best_of(args.repeat, bare_pass, files)
    yusuan = best_of(args.repeat, yusuan_pass, files)
    reference = best_of(args.repeat, yusuan_pass, files, "pdfminer")
    batches = [] if args.no_batch else [best_of(args.repeat, batch_pass, files, workers) for workers in (1, 2)]

    load = f" · load average {before:.1f} → {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    print(f"PDFs: {len(files)} ({megabytes:.1f} MB, {bare['pages']} pages) from {args.folder} · {cpus} CPUs{load}"
          + (f" · best of {args.repeat}" if args.repeat > 1 else ""))
    print(f"{'pass':<34}{'wall s':>8}{'CPU s':>8}{'pages/s':>9}{'× bare':>8}{'CPU×':>6}{'peak MB':>10}  detail")
    rows = [
        ("bare pdfplumber words + tables", bare),
        ("yusuan whole extraction (1 core)", yusuan),
        ("yusuan, pdfminer reader (1 core)", reference),
    ]
    rows += list(zip(("yusuan batch, 1 worker + store", "yusuan batch, 2 workers + store"), batches, strict=False))
    for name, run in rows:
        peak = " / ".join(f"{mb:.0f}" for mb in run.get("workers", [run["peak"]]))
        print(f"{name:<34}{run['seconds']:>8.2f}{run['cpu']:>8.2f}{run['pages'] / run['seconds']:>9.1f}"
              f"{run['seconds'] / bare['seconds']:>7.2f}×{run['cpu'] / bare['cpu']:>5.2f}×{peak:>10}  {run['detail']}")
    ratio, cpu_ratio = yusuan["seconds"] / bare["seconds"], yusuan["cpu"] / bare["cpu"]
    verdicts = {name: "met" if value <= TARGET else "NOT met" for name, value in (("wall", ratio), ("CPU", cpu_ratio))}
    # on a shared machine the CPU times are the steadier figure: wall time counts the other processes' turns too
    print(f"ratio yusuan / bare: {ratio:.2f}× wall time, {cpu_ratio:.2f}× CPU time (target ≤ {TARGET}×: "
          f"{verdicts['wall']} on wall time, {verdicts['CPU']} on CPU time) · "
          f"PDFium reader vs pdfminer reader: {yusuan['cpu'] / reference['cpu']:.2f}× CPU time · "
          + (f"2 workers vs 1: {batches[0]['seconds'] / batches[1]['seconds']:.2f}× faster · " if batches else "")
          + "peak MB: per worker process for the batches, the whole process for the others")

if __name__ == "__main__":
    main()
