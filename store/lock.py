"""One data directory, many processes: short-lived DuckDB connections behind a cross-process reader/writer lock.

DuckDB lets one process open a database file read-write, or any number of processes open it read-only — never
both at once (https://duckdb.org/docs/stable/connect/concurrency). A process that keeps the file open therefore
locks every other process out, which is what `yusuan serve` used to do. Here no process keeps it open: every
reader (a CLI command, one API request) opens a read-only connection under a shared lock, and every writer (one
document's transaction, one `yusuan index` run) a read-write connection under an exclusive lock, and each closes
its connection before letting go. Readers run side by side; a writer waits for them, then they wait for it.

The locks are ``flock`` locks on two files beside the database (released by the kernel when a process dies, so a
killed process never leaves the store locked):

* ``<db>.writer`` — the turnstile: a writer takes it exclusively *before* waiting for the readers, and a reader
  passes through it (shared, for a moment) before taking its read lock, so a steady stream of readers (a busy
  server) cannot starve a writer. The holding writer writes who it is into it, for the "store busy" message.
* ``<db>.lock`` — shared by readers, exclusive for the writer.

Waits are bounded (``YUSUAN_READ_WAIT`` / ``YUSUAN_WRITE_WAIT`` seconds); running out raises :class:`StoreBusy`
naming the writer. A thread that already holds the store gets its own connection back (a read inside a write, or a
read inside a read), so nested helpers cannot deadlock against a waiting writer.

Each write bumps ``<db>.generation`` (an integer, replaced atomically), so a reader can tell whether the store
changed without opening it (the API uses it to keep its QA caches).
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import duckdb

READ_WAIT_S = float(os.environ.get("YUSUAN_READ_WAIT", "120"))
WRITE_WAIT_S = float(os.environ.get("YUSUAN_WRITE_WAIT", "900"))
_POLL_S = (0.005, 0.1)  # first and longest pause between tries


class StoreBusy(RuntimeError):
    """The store stayed locked by a writer (or, for a writer, by readers) longer than the caller would wait."""


@dataclass
class _Hold:
    connection: duckdb.DuckDBPyConnection
    write: bool
    lock_fd: int
    turnstile_fd: int | None  # held by a writer only
    depth: int = 1


_local = threading.local()


def _holds() -> dict[str, _Hold]:
    if not hasattr(_local, "holds"):
        _local.holds = {}
    return _local.holds


def _sidecar(path: str | Path, suffix: str) -> Path:
    path = Path(path)
    return path.with_name(path.name + suffix)


def generation(path: str | Path) -> int:
    """How many write transactions the store has seen (0 before the first): changes whenever its content may have."""
    try:
        return int(_sidecar(path, ".generation").read_text(encoding="ascii") or 0)
    except (OSError, ValueError):
        return 0


def _bump_generation(path: str | Path) -> None:
    target = _sidecar(path, ".generation")
    partial = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}")
    partial.write_text(str(generation(path) + 1), encoding="ascii")
    os.replace(partial, target)


def _who() -> str:
    """`yusuan extract (pid 123)`: the program and its subcommand."""
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] not in ("", "-c") else "python"
    program = "yusuan" if program in ("cli.py", "__main__.py") else program
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        program += f" {os.path.basename(sys.argv[1])}"
    return f"{program} (pid {os.getpid()})"


def _open(path: Path, write: bool) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except PermissionError:  # a read-only data directory: a reader can still lock the existing file
        if write:
            raise
        return os.open(path, os.O_RDONLY)


def _acquire(fd: int, exclusive: bool, deadline: float, busy: Callable[[], str]) -> None:
    pause = _POLL_S[0]
    while True:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise StoreBusy(busy()) from None
            time.sleep(pause)
            pause = min(pause * 2, _POLL_S[1])


def _writer_named(turnstile: Path, waited: float) -> str:
    try:
        who = turnstile.read_text(encoding="utf-8").strip()
    except OSError:
        who = ""
    return f"store busy: {who or 'another process'} is writing, waited {waited:.0f} s"


def _lock(path: Path, write: bool, wait: float) -> tuple[int, int | None]:
    started = time.monotonic()
    deadline = started + wait
    turnstile_path, lock_path = _sidecar(path, ".writer"), _sidecar(path, ".lock")
    turnstile = _open(turnstile_path, write)
    lock = None
    try:
        _acquire(turnstile, write, deadline, lambda: _writer_named(turnstile_path, time.monotonic() - started))
        if write:
            os.ftruncate(turnstile, 0)
            os.pwrite(turnstile, _who().encode(), 0)
        lock = _open(lock_path, write)
        _acquire(lock, write, deadline, lambda: (
            f"store busy: readers still have it open, waited {time.monotonic() - started:.0f} s" if write
            else _writer_named(turnstile_path, time.monotonic() - started)))
    except BaseException:
        _unlock(lock, turnstile if write else None)
        if not write:
            os.close(turnstile)
        raise
    if write:
        return lock, turnstile
    os.close(turnstile)  # a reader only passes through the turnstile
    return lock, None


def _unlock(lock_fd: int | None, turnstile_fd: int | None) -> None:
    if lock_fd is not None:
        os.close(lock_fd)
    if turnstile_fd is not None:
        with suppress(OSError):
            os.ftruncate(turnstile_fd, 0)
        os.close(turnstile_fd)


def acquire(path: str | Path, write: bool, wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """Lock the store for reading or writing and open a connection to it; pair with :func:`release`.

    A thread that holds the store already gets the same connection back (a write inside a read is an error)."""
    key = os.path.abspath(path)
    holds = _holds()
    hold = holds.get(key)
    if hold is not None:
        if write and not hold.write:
            raise RuntimeError(f"cannot write to {path} while reading it in the same thread")
        hold.depth += 1
        return hold.connection
    if not write and not Path(key).exists():
        raise FileNotFoundError(f"no store at {path}: run `yusuan extract` first")
    lock_fd, turnstile_fd = _lock(Path(key), write, (WRITE_WAIT_S if write else READ_WAIT_S) if wait is None else wait)
    try:
        connection = _connect(key, read_only=not write)
    except BaseException:
        _unlock(lock_fd, turnstile_fd)
        raise
    holds[key] = _Hold(connection, write, lock_fd, turnstile_fd)
    return connection


ROW_GROUP_ROWS = 16_384
WRITER_MEMORY = "128MB"


def _connect(path: str, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A connection to the database file; a writer's attaches it in row groups of ``ROW_GROUP_ROWS`` and keeps at
    most ``WRITER_MEMORY`` of DuckDB buffers (spilling to ``<db>.tmp`` beyond that).

    DuckDB compresses a table's row group when a checkpoint finds it full; at its default size (122,880 rows of
    records with their JSON and raw text) that briefly cost the batch's parent ~400 MB more each time one filled, so
    its peak memory grew with the size of the run. The size is not stored in the file, so each writer sets it
    (readers read any size); ``USE`` does not carry over to the connection's cursors, so writers use none.
    DuckDB also keeps every block it wrote cached until its memory limit (80 % of RAM by default) is reached: a batch
    writing 10,000 documents through one connection grew by ~15 MB per 1,000 documents that way."""
    if read_only:
        return duckdb.connect(path, read_only=True)
    connection = duckdb.connect(config={"memory_limit": WRITER_MEMORY, "temp_directory": f"{path}.tmp"})
    try:
        quoted = path.replace("'", "''")
        connection.execute(f"ATTACH '{quoted}' AS store (ROW_GROUP_SIZE {ROW_GROUP_ROWS})")
        connection.execute("USE store")
    except BaseException:
        connection.close()
        raise
    return connection


def release(path: str | Path) -> None:
    """Undo one :func:`acquire` of this thread: the last one closes the connection, then unlocks."""
    _release(_holds(), os.path.abspath(path))


def _release(holds: dict[str, _Hold], key: str) -> None:
    hold = holds[key]
    hold.depth -= 1
    if hold.depth:
        return
    del holds[key]
    try:
        hold.connection.close()
        if hold.write:
            _bump_generation(key)
    finally:
        _unlock(hold.lock_fd, hold.turnstile_fd)


def holds(path: str | Path) -> bool:
    """Whether this thread holds the store (reading or writing)."""
    return os.path.abspath(path) in _holds()


@contextmanager
def reading(path: str | Path, wait: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection under the shared lock (or this thread's own connection, when it holds the store)."""
    connection = acquire(path, write=False, wait=wait)
    try:
        yield connection
    finally:
        release(path)


@contextmanager
def writing(path: str | Path, wait: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection under the exclusive lock; the store's generation moves on when it is released."""
    connection = acquire(path, write=True, wait=wait)
    try:
        yield connection
    finally:
        release(path)


class StoreConnection:
    """A connection from :func:`acquire` that gives its lock back when closed, for code that is handed a
    connection and closes it itself (the search index, ``yusuan sql``). Everything else goes to the DuckDB
    connection; it may be closed from another thread than the one that opened it."""

    def __init__(self, path: str | Path, write: bool = False, wait: float | None = None):
        self._key = os.path.abspath(path)
        self._connection: duckdb.DuckDBPyConnection | None = acquire(self._key, write, wait)
        self._holds = _holds()

    def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            _release(self._holds, self._key)

    def __getattr__(self, name: str) -> object:
        if self._connection is None:
            raise duckdb.ConnectionException("Connection already closed!")
        return getattr(self._connection, name)

    def __enter__(self) -> StoreConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # a caller that forgets to close must not keep the store locked
        with suppress(Exception):
            self.close()


@contextmanager
def exclusive(path: str | Path, task: str, wait: float | None = None) -> Iterator[None]:
    """Run ``task`` (work beside the database, such as writing the search index files) in one process at a time:
    an exclusive lock on ``<db>.<task>`` naming its holder. It does not lock the database itself."""
    marker = _sidecar(path, f".{task}")
    started = time.monotonic()
    fd = _open(marker, write=True)
    try:
        _acquire(fd, True, started + (WRITE_WAIT_S if wait is None else wait), lambda: (
            f"busy: {marker.read_text(encoding='utf-8').strip() or 'another process'} is {task}, "
            f"waited {time.monotonic() - started:.0f} s"))
        os.ftruncate(fd, 0)
        os.pwrite(fd, _who().encode(), 0)
        yield
    finally:
        with suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)
