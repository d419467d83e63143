"""Helpers for the bulk-extraction tests: a worker task that misbehaves on cue (it runs in worker processes)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from yusuan.extract.worker import extract_one

_HOARD: list[bytes] = []


def misbehaving(path: str, timeout: float | None = None):
    """crash.* dies, hang.* hangs where SIGALRM cannot reach, hog.* eats memory; anything else is extracted."""
    name = Path(path).stem
    if name == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    if name in ("hang", "hog"):
        signal.signal(signal.SIGALRM, signal.SIG_IGN)  # as if stuck in C code
        if name == "hog":
            _HOARD.append(b"x" * (400 * 2**20))  # resident, not just reserved
        time.sleep(600)
    return extract_one(path, timeout)


def swallows_time_out(path: str, timeout: float | None = None):
    """A reader whose catch-all handler swallows the time-out and returns the part of the file it has read."""
    import yusuan.ingest

    read = yusuan.ingest.ingest_path

    def read_then_stall(source, **options):
        document = read(source, **options)
        with contextlib.suppress(BaseException):
            time.sleep(600)  # interrupted by the time-out
        return document

    yusuan.ingest.ingest_path = read_then_stall
    try:
        return extract_one(path, timeout)
    finally:
        yusuan.ingest.ingest_path = read
