"""Bulk extraction: walk folders, extract in a process pool, commit each document atomically, report errors.

Restart-safe by construction: a document is either fully in the store or not at all, and files whose sha256 is
already stored (by the same extractor version) are skipped, so re-running after a kill finishes the rest.
"""

from __future__ import annotations

import hashlib
import json
import signal
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

from yusuan import __version__
from yusuan.ingest import IngestError
from yusuan.model import Extraction
from yusuan.store import Store

SUFFIXES = {".pdf", ".xlsx", ".xlsm", ".xls", ".docx", ".html", ".htm", ".txt", ".md"}


@dataclass
class FileOutcome:
    source: str
    status: str  # extracted | skipped | failed
    stage: str = ""
    reason: str = ""
    pages: int = 0
    records: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    pages_needing_ocr: list[int] = field(default_factory=list)


def collect_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES))
        else:
            files.append(path)
    return files


def sha256_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class _Timeout(Exception):
    pass


def _alarm(signum, frame):  # pragma: no cover - runs in worker processes
    raise _Timeout()


def extract_one(path: str, timeout: float | None = None) -> tuple[Extraction | None, FileOutcome]:
    """Runs in a worker process; never raises: failures come back as an outcome with stage and reason."""
    from yusuan.extract import extract_document
    from yusuan.ingest import ingest_path

    started = time.perf_counter()
    if timeout:
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    stage = "ingest"
    try:
        doc = ingest_path(path)
        stage = "extract"
        extraction = extract_document(doc)
    except IngestError as exc:
        return None, FileOutcome(path, "failed", exc.stage, exc.reason, seconds=time.perf_counter() - started)
    except _Timeout:
        return None, FileOutcome(path, "failed", stage, f"timed out after {timeout:g} s",
                                 seconds=time.perf_counter() - started)
    except Exception as exc:  # a bug or an unexpected file must not stop the batch
        return None, FileOutcome(path, "failed", stage, f"{type(exc).__name__}: {exc}",
                                 seconds=time.perf_counter() - started)
    finally:
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)
    outcome = FileOutcome(
        path, "extracted", pages=doc.pages, records=len(extraction.records), seconds=time.perf_counter() - started,
        warnings=extraction.document.warnings, pages_needing_ocr=doc.pages_needing_ocr,
    )
    return extraction, outcome


@dataclass
class BatchResult:
    outcomes: list[FileOutcome]

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def run_batch(
    files: list[Path], store: Store, workers: int = 1, timeout: float | None = 300, force: bool = False,
    on_progress: Callable[[FileOutcome], None] | None = None, max_tasks_per_child: int = 50,
) -> BatchResult:
    outcomes: list[FileOutcome] = []
    todo: list[str] = []
    for path in files:
        digest = sha256_of(path)
        if digest and not force and store.is_current(digest, __version__):
            outcome = FileOutcome(str(path), "skipped", reason="unchanged (same sha256 already extracted)")
            outcomes.append(outcome)
            if on_progress:
                on_progress(outcome)
            continue
        todo.append(str(path))

    def finish(extraction: Extraction | None, outcome: FileOutcome) -> None:
        if extraction is not None:
            try:
                store.replace(extraction)
            except Exception as exc:
                outcome.status, outcome.stage, outcome.reason = "failed", "store", f"{type(exc).__name__}: {exc}"
        outcomes.append(outcome)
        if on_progress:
            on_progress(outcome)

    if workers <= 1:
        for path in todo:
            finish(*extract_one(path, timeout))
        return BatchResult(outcomes)

    with ProcessPoolExecutor(max_workers=workers, max_tasks_per_child=max_tasks_per_child) as pool:
        pending: dict[Future, str] = {}
        queue = list(reversed(todo))
        while queue or pending:
            while queue and len(pending) < workers * 2:
                path = queue.pop()
                pending[pool.submit(extract_one, path, timeout)] = path
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                path = pending.pop(future)
                try:
                    finish(*future.result())
                except Exception as exc:  # the worker died (e.g. out of memory): report and go on
                    finish(None, FileOutcome(path, "failed", "worker", f"worker crashed: {type(exc).__name__}: {exc}"))
    return BatchResult(outcomes)


def write_error_report(result: BatchResult, data_dir: Path) -> Path:
    path = data_dir / "errors.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for outcome in result.outcomes:
            if outcome.status == "failed" or outcome.warnings or outcome.pages_needing_ocr:
                handle.write(json.dumps(asdict(outcome), ensure_ascii=False) + "\n")
    return path
