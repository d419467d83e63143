"""`yusuan extract --engine ray`: the bulk extractor on a Ray cluster, writing a Parquet dataset.

Each Ray task takes a chunk of files and runs the local batch on it (:func:`yusuan.extract.batch.run_batch` with
one worker process), so time-out, memory cap and per-file errors are those of `yusuan extract`: a hang in C code or
a crash costs one file. The chunk's documents go to the Parquet dataset (:mod:`yusuan.store.dataset`) instead of the
DuckDB store, each file as soon as it is read. A Ray worker that dies (killed, out of memory, node lost) costs the
files of its chunk not yet written: they are reported as failed, and the next run reads them. Files whose sha256 the
dataset already holds (same yusuan version) are skipped.

``ray`` is imported only here, inside functions: it is an optional extra (``pip install yusuan[ray]``).
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from yusuan import __version__
from yusuan.extract.batch import BatchResult, run_batch, sha256_of
from yusuan.extract.worker import FileOutcome, Task, extract_one
from yusuan.model import RECORD_KINDS, Extraction
from yusuan.store.dataset import DOCUMENTS, Dataset

if TYPE_CHECKING:
    from rich.console import Console

LIST_SUFFIX = ".list"
MAX_CHUNK = 16  # files per Ray task at most: the worker process start-up is paid once per chunk


def expand_list_files(paths: Iterable[str | Path]) -> list[Path]:
    """Paths with a ``*.list`` file replaced by the files and folders it names, one per line (blank lines and
    ``#`` comments ignored; relative paths are relative to the list's folder)."""
    expanded: list[Path] = []
    for path in map(Path, paths):
        if path.suffix != LIST_SUFFIX or not path.is_file():
            expanded.append(path)
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = line.strip()
            if entry and not entry.startswith("#"):
                expanded.append(path.parent / entry if not Path(entry).is_absolute() else Path(entry))
    return expanded


class _DatasetSink:
    """What :func:`run_batch` needs of a store (``write``), writing to the dataset instead, plus each file's
    errors entry once its outcome is known."""

    def __init__(self, dataset: Dataset, digests: dict[str, str | None]):
        self.dataset = dataset
        self.digests = digests

    def reading(self) -> contextlib.nullcontext:  # run_batch scans the store under this; the dataset needs no lock
        return contextlib.nullcontext()

    def write(self, extractions: list[Extraction]) -> None:  # the Ray task reads with extract_one: Extractions
        for extraction in extractions:
            self.dataset.write_extraction(extraction)

    def reject(self, sha256: str, source: str, reason: str, extractor_version: str) -> None:
        """A file turned away is remembered by its errors entry (``record``), which a re-run reads to skip it."""

    def record(self, outcome: FileOutcome) -> None:
        self.dataset.write_outcome(outcome, self.digests.get(outcome.source), __version__)


def extract_chunk(files: list[tuple[str, str | None]], root: str, cwd: str, timeout: float | None,
                  max_memory_mb: float | None, task: Task) -> list[FileOutcome]:
    """The Ray task: (path, sha256) pairs → their outcomes, with each document written to the dataset at ``root``.
    Relative paths are read from ``cwd``, the driver's folder (the same path on shared storage)."""
    os.chdir(cwd)
    sink = _DatasetSink(Dataset(Path(root)), dict(files))
    result = run_batch([Path(path) for path, _ in files], sink, workers=1, timeout=timeout, force=True,
                       max_memory_mb=max_memory_mb, on_progress=sink.record, task=task)
    return result.outcomes


def _lost_chunk(files: list[tuple[str, str | None]], dataset: Dataset, reason: str) -> list[FileOutcome]:
    """Outcomes of a chunk whose Ray task died: files committed before that count as extracted, the rest failed."""
    import pyarrow.parquet as pq

    partitions = [path for path in (dataset.root / DOCUMENTS).glob("*/*") if path.is_dir()]
    outcomes = []
    for source, digest in files:
        committed = next((part / f"{digest}.parquet" for part in partitions if (part / f"{digest}.parquet").exists()), None)
        if digest and committed:
            row = pq.read_table(committed, columns=["pages", "warnings"]).to_pylist()[0]
            part = committed.relative_to(dataset.root / DOCUMENTS)
            records = sum(pq.read_metadata(path).num_rows for kind in RECORD_KINDS
                          if (path := dataset.root / kind / part).exists())
            outcome = FileOutcome(source, "extracted", pages=row["pages"], records=records)
        else:
            outcome = FileOutcome(source, "failed", "worker", reason)
        dataset.write_outcome(outcome, digest, __version__)
        outcomes.append(outcome)
    return outcomes


def run_on_ray(
    files: list[Path], dataset: Dataset, workers: int = 1, timeout: float | None = 300, force: bool = False,
    on_progress: Callable[[FileOutcome], None] | None = None, max_memory_mb: float | None = 4096,
    on_start: Callable[[int, int], None] | None = None, address: str | None = None, chunk_size: int | None = None,
    task: Task = extract_one,
) -> BatchResult:
    """Extract ``files`` into ``dataset`` on the Ray cluster at ``address`` (default: ``$RAY_ADDRESS``, else a
    local one with ``workers`` CPUs, shut down at the end). Same callbacks and result as :func:`run_batch`."""
    import ray

    address = address or os.environ.get("RAY_ADDRESS")
    committed = {} if force else dataset.committed()
    todo: list[tuple[str, str | None]] = []
    skipped: list[FileOutcome] = []
    seen: dict[str, str] = {}
    for path in files:
        digest = sha256_of(path)
        stored = committed.get(digest) if digest else None
        if digest and digest in seen:
            skipped.append(FileOutcome(str(path), "skipped", reason=f"same content as {seen[digest]}"))
        elif stored and stored.extractor_version == __version__:
            reason = "unchanged (same sha256 already extracted)" if stored.status == "extracted" else \
                "unchanged (same sha256 already found not to be a budget disclosure)"
            skipped.append(FileOutcome(str(path), "skipped", reason=reason, warnings=stored.warnings,
                                       pages_needing_ocr=stored.pages_needing_ocr))
        else:
            todo.append((str(path), digest))
        if digest:
            seen.setdefault(digest, str(path))
    if on_start:
        on_start(len(todo), len(skipped))
    outcomes: list[FileOutcome] = []

    def finish(outcome: FileOutcome) -> None:
        outcomes.append(outcome)
        if on_progress:
            on_progress(outcome)

    for outcome in skipped:
        finish(outcome)
    if not todo:
        return BatchResult(outcomes)
    if address:
        ray.init(address=address, logging_level="ERROR", log_to_driver=False)
    else:
        ray.init(num_cpus=workers, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        size = chunk_size or max(1, min(MAX_CHUNK, math.ceil(len(todo) / (4 * cpus))))
        remote = ray.remote(num_cpus=1, max_retries=0)(extract_chunk)
        root, cwd = str(dataset.root.resolve()), os.getcwd()
        pending = {remote.remote(chunk, root, cwd, timeout, max_memory_mb, task): chunk
                   for chunk in (todo[i:i + size] for i in range(0, len(todo), size))}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                chunk = pending.pop(ref)
                try:
                    chunk_outcomes = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    reason = f"Ray task lost ({type(exc).__name__}): {str(exc).strip().splitlines()[0]}"
                    chunk_outcomes = _lost_chunk(chunk, dataset, reason)
                for outcome in chunk_outcomes:
                    finish(outcome)
    finally:
        ray.shutdown()
    dataset.prune()
    return BatchResult(outcomes)


_LOCAL_TOKEN = secrets.token_hex(32)  # one per process: Ray's client keeps the first token it reads


@contextmanager
def local_cluster(cpus: int, pythonpath: list[str] = (), timeout: float = 300) -> Iterator[str]:
    """A Ray head on 127.0.0.1 with ``cpus`` CPUs, for tests and benchmarks; yields its address, stops it at the end.

    Started with `ray start --head --block` in its own process group, with token authentication (a token of this
    process, set in its environment while the cluster runs, for the `yusuan` commands it starts): terminating that
    process stops the cluster it started and nothing else. ``pythonpath`` is added to its workers' import path."""
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay short
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": _LOCAL_TOKEN, "RAY_USAGE_STATS_ENABLED": "0"}
    saved = {name: os.environ.get(name) for name in auth}
    log = Path(temp) / "head.log"
    head = None
    try:
        os.environ.update(auth)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([*pythonpath, *filter(None, [os.environ.get("PYTHONPATH")])])}
        with log.open("w") as out:
            head = subprocess.Popen(
                [str(Path(sys.executable).with_name("ray")), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
                 f"--port={port}", f"--num-cpus={cpus}", "--object-store-memory=100000000", "--include-dashboard=false",
                 f"--temp-dir={temp}"],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while "Ray runtime started" not in log.read_text(errors="replace"):
            if head.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ray start failed:\n{log.read_text(errors='replace')}")
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        if head is not None:
            head.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                head.wait(timeout=60)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(head.pid, signal.SIGKILL)  # anything of this cluster still running
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def dataset_counts(dataset: Dataset) -> dict[str, int]:
    """Rows per table as the views show them (documents, each record kind, errors)."""
    import duckdb

    con = duckdb.connect()
    try:
        dataset.views(con)
        return {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in (DOCUMENTS, *RECORD_KINDS, "errors")}
    finally:
        con.close()


def print_summary(out: Console, result: BatchResult, dataset: Dataset, report: Path, seconds: float) -> None:
    extracted = [o for o in result.outcomes if o.status == "extracted"]
    skipped = sum(o.status == "skipped" for o in result.outcomes)
    not_budget = sum(o.status == "not_budget" for o in result.outcomes)
    pages = sum(o.pages for o in extracted)
    rate = f" ({pages / seconds:.1f} pages/s)" if pages and seconds > 0 else ""
    counts = dataset_counts(dataset)
    out.print(f"{len(result.outcomes)} files: {len(extracted)} extracted ({pages} pages), {skipped} skipped, "
              f"{not_budget} not budget disclosures, {len(result.failed)} failed in {seconds:.1f} s{rate}")
    out.print(f"dataset {dataset.root}: " + " · ".join(f"{table} {count}" for table, count in counts.items())
              + " (load it into the store with `yusuan import`)")
    for outcome in result.failed:
        out.print(f"[red]failed[/red] {outcome.source}: {outcome.stage}: {outcome.reason}", highlight=False)
    if result.failed:
        out.print(f"details in {report}")
