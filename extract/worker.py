"""One file → (extraction, outcome), and the worker process that runs it for the bulk extractor.

A worker is a plain ``python -m yusuan.extract.worker TASK_FD RESULT_FD TASK PARENT_PID`` subprocess: it imports
ingest, extract, audit and what its task needs (the batch's task turns the extraction into store rows), not the CLI;
it reads ``(path, timeout)`` messages from one pipe and answers ``(result, outcome)`` on the other (the extraction,
with its parsed blocks and audit issues, or its rows), until it gets ``None`` or its parent goes away. The parent
(:mod:`yusuan.extract.batch`) can kill it at any time: a hang in C code, a crash or an out-of-memory kill costs one
file, never the batch.
"""

from __future__ import annotations

import gc
import importlib
import json
import logging
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from yusuan.ingest import IngestError
from yusuan.model import Extraction, IngestedDocument


@dataclass
class FileOutcome:
    source: str
    status: str  # extracted | skipped | not_budget (read, not a budget disclosure: not stored) | failed
    stage: str = ""
    reason: str = ""
    pages: int = 0
    records: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    pages_needing_ocr: list[int] = field(default_factory=list)
    worker: int = 0  # pid of the worker process that read the file (0: read in the calling process)
    peak_rss_mb: float = 0.0  # that worker's peak resident memory so far
    checks_passed: int = 0  # consistency checks on the extracted records (a check shared by records counts per record)
    checks_failed: int = 0


Task = Callable[[str, float | None], tuple[Extraction | None, FileOutcome]]
OCR_PREVIEW_PAGES = 2  # scanned pages read before deciding whether a file is a budget disclosure at all


class _Timeout(BaseException):
    """Not an Exception, so that no ``except Exception`` in a reader can swallow it and carry on."""


_alarm_fired = threading.Event()


STARTED = "started"  # a worker's first message about a file: it has begun reading it


def _alarm(signum, frame):
    _alarm_fired.set()  # remembered even if something catches the exception below
    raise _Timeout()


def extract_one(path: str, timeout: float | None = None) -> tuple[Extraction | None, FileOutcome]:
    """Ingest + extract one file; never raises: failures come back as an outcome with stage and reason.

    ``timeout`` is enforced with SIGALRM when called on the main thread (in a worker process it always is)."""
    from yusuan.extract import extract_document
    from yusuan.index.blocks import encode_blocks
    from yusuan.ingest import ingest_path

    started = time.perf_counter()
    alarm = bool(timeout) and threading.current_thread() is threading.main_thread()
    if alarm:
        _alarm_fired.clear()
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    stage = "ingest"
    try:
        try:
            # a scan is OCR'd a few pages first: a notice or a report is turned away before paying for every page
            doc = ingest_path(path, ocr_page_limit=OCR_PREVIEW_PAGES)
            stage = "extract"
            extraction = extract_document(doc)
            if doc.ocr_deferred and extraction.document.inferred["disclosure"].value:
                stage = "ingest"
                doc = ingest_path(path)
                stage = "extract"
                extraction = extract_document(doc)
            extraction.blocks = encode_blocks(doc)
            if extraction.document.inferred["disclosure"].value and not _alarm_fired.is_set():
                extraction.audit_issues = _audit(doc, extraction)
        finally:
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
        if _alarm_fired.is_set():  # the time-out was caught and swallowed inside: whatever came back is partial
            raise _Timeout()
    except _Timeout:
        return None, FileOutcome(path, "failed", stage, f"timed out after {timeout:g} s",
                                 seconds=time.perf_counter() - started)
    except IngestError as exc:
        return None, FileOutcome(path, "failed", exc.stage, exc.reason, seconds=time.perf_counter() - started)
    except RecursionError:
        return None, FileOutcome(path, "failed", stage, "structure nested too deeply to read",
                                 seconds=time.perf_counter() - started)
    except Exception as exc:  # a bug or an unexpected file must not stop the batch
        return None, FileOutcome(path, "failed", stage, f"{type(exc).__name__}: {exc}",
                                 seconds=time.perf_counter() - started)
    disclosure = extraction.document.inferred["disclosure"]
    if not disclosure.value:
        preview = f" (decided on the first {OCR_PREVIEW_PAGES} OCR'd pages)" if doc.ocr_deferred else ""
        return None, FileOutcome(path, "not_budget", "classify", f"not a budget disclosure: {disclosure.how}{preview}",
                                 pages=doc.pages, seconds=time.perf_counter() - started)
    statuses = [check.status for record in extraction.records for check in record.checks]
    outcome = FileOutcome(
        path, "extracted", pages=doc.pages, records=len(extraction.records), seconds=time.perf_counter() - started,
        checks_passed=statuses.count("pass"), checks_failed=statuses.count("fail"),
        warnings=list(extraction.document.warnings), pages_needing_ocr=list(doc.pages_needing_ocr),
    )
    return extraction, outcome


def _audit(doc: IngestedDocument, extraction: Extraction) -> str | None:
    """The audit's issues (yusuan.audit) as compact JSON for the store. The extraction is complete by now, so a failure
    or a time-out here costs the issues alone: a warning says so, and the audit runs on demand instead."""
    try:
        from yusuan.audit import audit_document

        issues = audit_document(doc, extraction)
        encoded = json.dumps([issue.model_dump(mode="json", exclude_defaults=True) for issue in issues],
                             ensure_ascii=False, separators=(",", ":"))
        if _alarm_fired.is_set():  # the time-out was swallowed inside a rule: the issues are partial
            raise _Timeout()
        return encoded
    except _Timeout:
        _alarm_fired.clear()
        reason = "timed out"
    except Exception as exc:  # RecursionError included
        reason = f"{type(exc).__name__}: {exc}"
    extraction.document.warnings.append(f"audit at extraction failed ({reason}): issues not stored, audited on demand")
    return None


def task_name(task: Task) -> str:
    return f"{task.__module__}:{task.__qualname__}"


def resolve_task(name: str) -> Task:
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)


def rss_mb(pid: int | None = None) -> float | None:
    """Resident memory of a process in MB (Linux /proc), None where it cannot be read."""
    try:
        with open(f"/proc/{pid or 'self'}/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB: VmHWM on Linux (ru_maxrss there survives exec, so a worker
    would report its parent's peak), ru_maxrss elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def _die_with_parent(parent: int) -> None:
    """Linux: be killed when the parent dies (a SIGKILLed batch leaves no workers behind)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:  # best effort: without it the worker still exits at its next read
            pass
    if os.getppid() != parent:
        os._exit(0)


def collect_less_often() -> None:
    """A document allocates ~100k short-lived objects, few of them cyclic: at Python's default of a young collection
    every 700 allocations the collector took ~8 % of a text document's time; every 10,000 it takes ~2 %."""
    gc.set_threshold(10_000, *gc.get_threshold()[1:])


def main(argv: list[str]) -> None:
    from multiprocessing.connection import Connection

    task_fd, result_fd, name, parent = int(argv[0]), int(argv[1]), argv[2], int(argv[3])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops the workers
    _die_with_parent(parent)
    logging.basicConfig(level=logging.ERROR)  # pdfminer's warnings about odd PDFs are not worth a line each
    task = resolve_task(name)
    collect_less_often()
    tasks, results = Connection(task_fd, writable=False), Connection(result_fd, readable=False)
    while True:
        try:
            message = tasks.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        path, timeout = message
        try:
            results.send(STARTED)  # the file's clock starts now, not while this worker was still starting up
        except OSError:
            return
        extraction, outcome = task(path, timeout)
        outcome.worker, outcome.peak_rss_mb = os.getpid(), peak_rss_mb()
        try:
            results.send((extraction, outcome))
        except (BrokenPipeError, OSError):
            return
        except Exception as exc:  # the extraction would not pickle: report it instead of dying
            outcome = FileOutcome(path, "failed", "worker", f"result not transferable: {type(exc).__name__}: {exc}",
                                  worker=os.getpid(), peak_rss_mb=peak_rss_mb())
            results.send((None, outcome))


if __name__ == "__main__":
    # run the imported module, not this __main__ copy, so that results pickle as yusuan.extract.worker classes
    from yusuan.extract.worker import main as _main

    _main(sys.argv[1:])
