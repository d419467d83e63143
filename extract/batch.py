"""Bulk extraction: walk folders, extract in worker processes, commit each document atomically, report errors.

Restart-safe by construction: a document is either fully in the store or not at all (documents are committed
whole, a group of them per transaction, written by this process only), and files whose sha256 is already stored by
the same extractor version are skipped, so re-running after a kill finishes the rest with no duplicates.

Fast by construction: a worker sends the document's store rows (:class:`yusuan.store.DocumentRows`), not its
pydantic models, and this process commits the documents read in the last second (at most ``GROUP_DOCUMENTS``)
in one transaction of one Arrow table per table, instead of a transaction and a connection per document.

Robust by construction: every file is read in a worker process (:mod:`yusuan.extract.worker`). A file that
raises is reported with its stage and reason; one that runs past its time limit is stopped (SIGALRM inside the
worker, and the worker is killed if that does not help within a grace period); a worker that crashes or grows
past the memory limit is killed and replaced; each costs that one file, never the batch.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import hashlib
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path

from yusuan import __version__
from yusuan.model import Extraction
from yusuan.store import DocumentRows, Store, document_rows

from .worker import STARTED, FileOutcome, Task, extract_one, rss_mb, task_name

__all__ = ["SUFFIXES", "BatchResult", "FileOutcome", "WorkerPool", "collect_files", "extract_one", "extract_rows",
           "run_batch", "write_error_report"]

SUFFIXES = {".pdf", ".xlsx", ".xlsm", ".xls", ".docx", ".html", ".htm", ".shtml", ".jsp", ".txt", ".md"}

POLL_S = 0.25  # how often busy workers are checked for overrunning their time or memory
GROUP_SECONDS = 1.0  # documents read within this long are committed together (what a kill can cost to redo) …
GROUP_WRITE_SHARE = 0.1  # … or longer, so that committing takes at most about this share of the time …
GROUP_MAX_SECONDS = 30.0  # … but never longer than this
GROUP_DOCUMENTS = 500  # at most this many documents per transaction
GROUP_RECORDS = 25_000  # and at most about this many records: what this process holds before writing

Payload = Extraction | DocumentRows
BatchTask = Callable[[str, float | None], tuple[Payload | None, FileOutcome]]


def collect_files(paths: Iterable[str | Path], refused: list[FileOutcome] | None = None) -> list[Path]:
    """Files named explicitly are taken as they are; folders are walked for SUFFIXES, skipping hidden files and
    Office lock files (``~$…``). A walk stays inside its folder: a symbolic link out of it is not followed.
    What cannot be read at all (a link out, a missing path, a pipe or device, a file without read permission) is
    left out and, when ``refused`` is given, added to it as a failed outcome (stage ``walk``)."""
    files: list[Path] = []

    def refuse(path: Path, reason: str) -> None:
        if refused is not None:
            refused.append(FileOutcome(str(path), "failed", "walk", reason))

    for path in map(Path, paths):
        if path.is_dir():
            files.extend(_walk(path, refuse))
            continue
        problem = _unreadable(path)
        if problem:
            refuse(path, problem)
        else:
            files.append(path)
    return files


def _walk(folder: Path, refuse: Callable[[Path, str], None]) -> list[Path]:
    root = folder.resolve()
    found: list[Path] = []
    for directory, subfolders, names in os.walk(folder):  # does not descend into linked folders
        here = Path(directory)
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in subfolders:
            if (here / name).is_symlink() and not (here / name).resolve().is_relative_to(root):
                refuse(here / name, "symbolic link to a folder outside the walked folder: not followed")
        for name in sorted(names):
            path = here / name
            if path.suffix.lower() not in SUFFIXES or name.startswith((".", "~$")):
                continue
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                refuse(path, "symbolic link to a file outside the walked folder: not followed")
            elif problem := _unreadable(path):
                refuse(path, problem)
            else:
                found.append(path)
    return sorted(found)


def _unreadable(path: Path) -> str:
    """Why the file cannot be read at all ('' when it can be tried)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "no such file" if not path.is_symlink() else "broken symbolic link"
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    if not stat.S_ISREG(mode):
        return "not a regular file (a pipe, device or socket)"
    if not os.access(path, os.R_OK):
        return "cannot be read: permission denied"
    return ""


def sha256_of(path: Path) -> str | None:
    try:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None


def extract_rows(path: str, timeout: float | None = None) -> tuple[DocumentRows | None, FileOutcome]:
    """:func:`extract_one`, the extraction turned into its store rows where it was read (the batch's default task)."""
    extraction, outcome = extract_one(path, timeout)
    return (document_rows(extraction) if extraction is not None else None), outcome


@dataclass
class BatchResult:
    outcomes: list[FileOutcome]

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def not_budget(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "not_budget"]

    @property
    def worker_peak_rss_mb(self) -> dict[int, float]:
        """Peak resident memory (MB) of each worker process, by pid (killed workers are not included)."""
        peaks: dict[int, float] = {}
        for outcome in self.outcomes:
            if outcome.worker:
                peaks[outcome.worker] = max(peaks.get(outcome.worker, 0.0), outcome.peak_rss_mb)
        return peaks


_OCR_WARNING = re.compile(r"^page (\d+): .*OCR (not available|failed)")


def _stored_problems(store: Store, digest: str) -> tuple[list[str], list[int]]:
    """Warnings (and pages needing OCR, read back from them) of a document already in the store."""
    with store.reading() as con:
        row = con.execute("SELECT warnings FROM documents WHERE sha256 = ? LIMIT 1", [digest]).fetchone()
    warnings = json.loads(row[0] or "[]") if row else []
    ocr = sorted({int(match.group(1)) for warning in warnings if (match := _OCR_WARNING.match(warning))})
    return warnings, ocr


def run_batch(
    files: list[Path], store: Store, workers: int = 1, timeout: float | None = 300, force: bool = False,
    on_progress: Callable[[FileOutcome], None] | None = None, max_tasks_per_child: int = 1000,
    max_memory_mb: float | None = 4096, on_start: Callable[[int, int], None] | None = None,
    task: BatchTask = extract_rows, refused: Iterable[FileOutcome] = (), commit_seconds: float = GROUP_SECONDS,
) -> BatchResult:
    """Extract ``files`` into ``store``.

    ``workers`` worker processes read the files (0: read them in this process, without isolation — for
    debugging). ``on_start(to_extract, skipped)`` is called once the unchanged files are known, then
    ``on_progress(outcome)`` once per file (``refused`` ones from :func:`collect_files` and skipped files first),
    after its rows are committed. ``store`` is anything with ``reading()``, ``write(payloads)`` and ``reject(...)``
    (:class:`yusuan.store.Store`, or the Ray engine's dataset sink). Documents read within ``commit_seconds`` are
    committed together (0: each on its own, the slowest and safest)."""
    outcomes: list[FileOutcome] = []
    todo: list[str] = []
    skipped: list[FileOutcome] = []
    seen: dict[str, str] = {}
    digests: dict[str, str] = {}
    # one read connection for the whole scan (documents are written in groups below); forced runs read nothing
    with nullcontext() if force else store.reading():
        current, rejected = (set(), {}) if force else store.known_contents(__version__)
        for path in files:
            digest = sha256_of(path)
            if digest and digest in seen:
                skipped.append(FileOutcome(str(path), "skipped", reason=f"same content as {seen[digest]}"))
            elif digest and (reason := rejected.get(digest)):
                skipped.append(FileOutcome(str(path), "not_budget", "classify", f"{reason} (decided by an earlier run)"))
            elif digest and digest in current:
                warnings, ocr = _stored_problems(store, digest)
                skipped.append(FileOutcome(str(path), "skipped", reason="unchanged (same sha256 already extracted)",
                                           warnings=warnings, pages_needing_ocr=ocr))
            else:
                todo.append(str(path))
            if digest:
                seen.setdefault(digest, str(path))
                digests[str(path)] = digest
    if on_start:
        on_start(len(todo), len(skipped))

    def report(outcome: FileOutcome) -> None:
        outcomes.append(outcome)
        if on_progress:
            on_progress(outcome)

    for outcome in [*refused, *skipped]:
        report(outcome)
    group = _Group(store, report, every=commit_seconds, wait=commit_seconds)

    def finish(payload: Payload | None, outcome: FileOutcome) -> None:
        if payload is not None:
            group.add(payload, outcome)
            return
        if outcome.status == "not_budget" and outcome.source in digests:
            store.reject(digests[outcome.source], outcome.source, outcome.reason, __version__)
        report(outcome)

    if workers <= 0:
        for path in todo:
            finish(*task(path, timeout))
            group.commit_if_due()
    else:
        WorkerPool(workers, timeout, max_tasks_per_child, max_memory_mb, task).run(todo, finish, tick=group.commit_if_due)
    group.commit()
    return BatchResult(outcomes)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc
        return None


def _release_freed_memory() -> None:
    """Hand the heap's freed pages back to the system. A commit frees tens of MB of small objects (rows, Arrow
    buffers) scattered over the heap; glibc keeps them, so the parent of a long batch grew ≈ 13 KB per document
    without it (bench/bench_extract.py)."""
    if (trim := _malloc_trim()) is not None:
        trim(0)


@dataclass
class _Group:
    """Documents read but not committed yet: committed together once the oldest has waited ``every`` seconds (or
    longer, when committing is slow: a commit's cost is mostly fixed) or the group is full, then reported; ``every``
    0 commits each document as it comes."""

    store: Store
    report: Callable[[FileOutcome], None]
    payloads: list[Payload] = field(default_factory=list)
    outcomes: list[FileOutcome] = field(default_factory=list)
    records: int = 0
    since: float = 0.0
    every: float = GROUP_SECONDS
    wait: float = GROUP_SECONDS

    def add(self, payload: Payload, outcome: FileOutcome) -> None:
        if not self.payloads:
            self.since = time.monotonic()
        self.payloads.append(payload)
        self.outcomes.append(outcome)
        self.records += outcome.records
        if self.every <= 0 or len(self.payloads) >= GROUP_DOCUMENTS or self.records >= GROUP_RECORDS:
            self.commit()

    def commit_if_due(self) -> None:
        if self.payloads and time.monotonic() - self.since >= self.wait:
            self.commit()

    def commit(self) -> None:
        if not self.payloads:
            return
        started = time.monotonic()
        try:
            self.store.write(self.payloads)
        except Exception:  # which document cannot be stored: each on its own, the others still go in
            for payload, outcome in zip(self.payloads, self.outcomes, strict=True):
                try:
                    self.store.write([payload])
                except Exception as exc:
                    outcome.status, outcome.stage, outcome.reason = "failed", "store", f"{type(exc).__name__}: {exc}"
        if self.every > 0:
            self.wait = min(GROUP_MAX_SECONDS, max(self.every, (time.monotonic() - started) / GROUP_WRITE_SHARE))
        outcomes = self.outcomes
        self.payloads, self.outcomes, self.records = [], [], 0
        _release_freed_memory()
        for outcome in outcomes:
            self.report(outcome)


@dataclass
class _Worker:
    process: subprocess.Popen
    tasks: Connection
    results: Connection
    path: str | None = None
    started: float = 0.0
    files: int = 0

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.tasks.close()
        self.results.close()


@dataclass
class WorkerPool:
    """Up to ``size`` worker processes reading files, each file under the time and memory limits; the batch
    extractor and the API's uploads both read files through it. Workers start in ``cwd`` (default: here)."""

    size: int
    timeout: float | None
    max_tasks: int
    max_memory_mb: float | None
    task: Task | BatchTask
    cwd: str | None = None
    workers: list[_Worker] = field(default_factory=list)

    @property
    def hard_timeout(self) -> float | None:
        """The worker gets SIGALRM at ``timeout``; if it is stuck in C code it is killed after a grace period."""
        return self.timeout + min(30.0, max(2.0, 0.1 * self.timeout)) if self.timeout else None

    def _spawn(self) -> _Worker:
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        # the same yusuan as here, wherever the worker starts
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in sys.path if p)}
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "yusuan.extract.worker", str(task_r), str(result_w), task_name(self.task),
                 str(os.getpid())],
                pass_fds=(task_r, result_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env,
                cwd=self.cwd,
            )
        finally:
            os.close(task_r)
            os.close(result_w)
        worker = _Worker(process, Connection(task_w, readable=False), Connection(result_r, writable=False))
        self.workers.append(worker)
        return worker

    def _retire(self, worker: _Worker, gently: bool) -> None:
        self.workers.remove(worker)
        if gently:
            try:
                worker.tasks.send(None)
                worker.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        worker.kill()

    def _assign(self, worker: _Worker, path: str) -> bool:
        try:
            worker.tasks.send((path, self.timeout))
        except OSError:  # died while idle: replace it
            self._retire(worker, gently=False)
            return False
        worker.path, worker.started = path, time.monotonic()
        return True

    def run(self, todo: list[str], finish: Callable[[Payload | None, FileOutcome], None],
            more: Callable[[], list[str]] | None = None, tick: Callable[[], None] | None = None) -> None:
        """Read ``todo`` (and whatever ``more()`` hands over while files are being read) until none is left;
        ``tick()`` is called between polls of the workers."""
        queue = deque(todo)
        failures = 0  # workers in a row that died before taking a file
        try:
            while queue or any(w.path for w in self.workers):
                if more is not None:
                    queue.extend(more())
                while len(self.workers) < self.size and sum(w.path is None for w in self.workers) < len(queue):
                    self._spawn()
                for worker in [w for w in self.workers if w.path is None]:
                    if not queue:
                        self._retire(worker, gently=True)
                    elif self._assign(worker, queue[0]):
                        queue.popleft()
                    elif (failures := failures + 1) >= 3:  # workers die before taking a file: give the file up
                        finish(None, FileOutcome(queue.popleft(), "failed", "worker",
                                                 f"worker process would not start ({_death(worker.process.returncode)})"))
                busy = [w for w in self.workers if w.path]
                ready = wait([w.results for w in busy], timeout=POLL_S) if busy else []
                for worker in busy:
                    if worker.results in ready:
                        failures = 0
                        self._collect(worker, finish)
                    else:
                        self._police(worker, finish)
                if tick is not None:
                    tick()
        finally:
            for worker in list(self.workers):
                self._retire(worker, gently=worker.path is None)

    def _collect(self, worker: _Worker, finish: Callable[[Payload | None, FileOutcome], None]) -> None:
        path = worker.path
        assert path is not None
        try:
            message = worker.results.recv()
        except (EOFError, OSError):
            self._retire(worker, gently=False)
            code = worker.process.returncode
            reason = f"worker died while reading the file: {_death(code)}"
            finish(None, FileOutcome(path, "failed", "worker", reason, seconds=time.monotonic() - worker.started))
            return
        if message == STARTED:  # time and memory limits count from here: a fresh worker spends seconds importing
            worker.started = time.monotonic()
            return
        extraction, outcome = message
        worker.path = None
        worker.files += 1
        memory = rss_mb(worker.process.pid)
        if worker.files >= self.max_tasks or (self.max_memory_mb and memory and memory > self.max_memory_mb / 2):
            self._retire(worker, gently=True)  # recycled: memory held by one odd file goes back to the system
        finish(extraction, outcome)

    def _police(self, worker: _Worker, finish: Callable[[Payload | None, FileOutcome], None]) -> None:
        path = worker.path
        assert path is not None
        elapsed = time.monotonic() - worker.started
        reason = ""
        if self.hard_timeout and elapsed > self.hard_timeout:
            reason = f"timed out after {self.timeout:g} s (worker killed)"
        elif self.max_memory_mb and (memory := rss_mb(worker.process.pid)) and memory > self.max_memory_mb:
            reason = f"used more than {self.max_memory_mb:g} MB of memory (worker killed)"
        if reason:
            self._retire(worker, gently=False)
            finish(None, FileOutcome(path, "failed", "worker", reason, seconds=elapsed))


def _death(code: int | None) -> str:
    """How a worker that yusuan did not stop ended (one that yusuan kills is reported with its own reason)."""
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        return f"killed by {name} (from outside yusuan: another process or the system's out-of-memory killer)"
    return f"exit code {code}"


REPORT_FIELDS = ("source", "status", "stage", "reason", "pages", "records", "pages_needing_ocr", "warnings", "seconds")


def problems(result: BatchResult) -> list[FileOutcome]:
    """Files that failed, are not budget disclosures, need OCR or have warnings: failures first, then by file name."""
    rows = [o for o in result.outcomes if o.status in ("failed", "not_budget") or o.warnings or o.pages_needing_ocr]
    return sorted(rows, key=lambda o: (o.status != "failed", o.status != "not_budget", not o.pages_needing_ocr, o.source))


def write_error_report(result: BatchResult, data_dir: Path) -> Path:
    """``data_dir/errors.jsonl``: one JSON object per file with a problem (format in docs/cli.md)."""
    path = data_dir / "errors.jsonl"
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle:
        for outcome in problems(result):
            entry = {name: getattr(outcome, name) for name in REPORT_FIELDS}
            entry["seconds"] = round(outcome.seconds, 3)
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
    os.replace(partial, path)
    return path
