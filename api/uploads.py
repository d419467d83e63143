"""Uploads to ``POST /documents``: streamed to ``<data>/uploads/<job>/`` with the size limit enforced while reading,
queued (bounded: one more than ``max_pending`` is turned away with 503), read by the batch extractor's supervised
worker processes (time-out, memory cap, a crash costs that file only — never the server), stored one document per
write transaction, moved out of the upload folder once stored (to ``<data>/sources/<doc_id><suffix>``, the store's one
copy, which the page viewer and the audit read; a file that is not stored is deleted), then indexed for search without
a restart.

The document's ``source`` is ``uploads/<job>/<name>``: relative to the data directory, so no server path shows.
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import shutil
import threading
import unicodedata
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request

from yusuan.extract.batch import SUFFIXES, WorkerPool
from yusuan.extract.worker import FileOutcome, extract_one
from yusuan.model import Extraction
from yusuan.store import Store

UPLOADS = "uploads"
NAME_BYTES = 180  # file names stay well under the usual 255-byte limit, in UTF-8
FORM_BYTES = 64 * 1024  # multipart headers and fields other than the file
OWNER = ".owner"  # the pid of the server whose upload it is, so a restart can clear a dead server's leftovers


@dataclass
class UploadSettings:
    max_bytes: int = 50 * 2**20
    max_pending: int = 16  # uploads being received, queued or read at once
    workers: int = 1  # worker processes reading uploads
    timeout_s: float = 300.0  # per file
    max_memory_mb: float = 2048.0  # per worker
    index: bool = True  # index stored uploads for search (yusuan.index.indexer.build_index)
    kept_jobs: int = 10_000  # finished jobs remembered for GET /documents/{job_id}


class UploadRejected(Exception):
    def __init__(self, status: int, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


def safe_name(filename: str | None) -> str:
    """The client's file name made safe to keep: last path component, printable, at most NAME_BYTES in UTF-8 (the
    suffix kept); raises UploadRejected when nothing usable is left or the type is not one yusuan reads."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if name in ("", ".", "..") or name.startswith("."):
        raise UploadRejected(400, f"unusable file name {filename!r}: give the file a name such as report.pdf")
    stem, dot, suffix = name.rpartition(".")
    if not dot or f".{suffix.lower()}" not in SUFFIXES:
        raise UploadRejected(415, f"unsupported file type {filename!r}: one of {', '.join(sorted(SUFFIXES))}")
    suffix = "." + suffix
    while len((stem + suffix).encode()) > NAME_BYTES:
        stem = stem[:-1]
    return stem + suffix


async def receive(request: Request, folder: Path, max_bytes: int) -> tuple[str, int, str]:
    """Stream the multipart field ``file`` of the request into ``folder``: (name, bytes, sha256). Reading stops as
    soon as the file passes ``max_bytes`` (413), so an oversized body is never stored."""
    from python_multipart.multipart import MultipartParser, parse_options_header

    kind, options = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise UploadRejected(415, "send the file as multipart/form-data in a field named 'file'")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + FORM_BYTES:
        raise UploadRejected(413, f"file too large (limit {max_bytes / 2**20:g} MB)")
    state: dict[str, Any] = {"headers": {}, "field": b"", "value": b"", "out": None, "name": None, "size": 0, "form": 0}
    digest = hashlib.sha256()

    def header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def header_end() -> None:
        state["form"] += len(state["field"]) + len(state["value"])
        if state["form"] > FORM_BYTES:
            raise UploadRejected(400, "multipart headers too large")
        state["headers"][state["field"].lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def headers_finished() -> None:
        _, disposition = parse_options_header(state["headers"].get(b"content-disposition", b""))
        state["headers"] = {}
        if disposition.get(b"name") != b"file" or state["name"] is not None:
            return
        name = safe_name(disposition.get(b"filename", b"").decode("utf-8", "replace"))
        state["name"], state["out"] = name, (folder / name).open("wb")

    def part_data(data: bytes, start: int, end: int) -> None:
        out = state["out"]
        if out is None:
            state["form"] += end - start
            if state["form"] > FORM_BYTES:
                raise UploadRejected(400, "form fields other than 'file' too large")
            return
        state["size"] += end - start
        if state["size"] > max_bytes:
            raise UploadRejected(413, f"file too large (limit {max_bytes / 2**20:g} MB)")
        chunk = data[start:end]
        digest.update(chunk)
        out.write(chunk)

    def part_end() -> None:
        if state["out"] is not None:
            state["out"].close()
            state["out"] = None

    parser = MultipartParser(options[b"boundary"], {
        "on_header_field": header_field, "on_header_value": header_value, "on_header_end": header_end,
        "on_headers_finished": headers_finished, "on_part_data": part_data, "on_part_end": part_end,
    })
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except UploadRejected:
        raise
    except Exception as exc:  # a malformed body or a client that went away
        raise UploadRejected(400, f"malformed multipart body: {type(exc).__name__}") from exc
    finally:
        if state["out"] is not None:
            state["out"].close()
    if state["name"] is None:
        raise UploadRejected(400, "no file in the form field 'file'")
    if not state["size"]:
        raise UploadRejected(400, "empty file")
    return state["name"], state["size"], digest.hexdigest()


class Uploads:
    """The upload jobs of one server: a bounded queue, one supervisor thread feeding the worker processes, and
    one indexer thread that brings the search index up to date after uploads are stored (runs coalesce)."""

    def __init__(self, data_dir: Path, store: Store, settings: UploadSettings):
        self.data_dir, self.store, self.settings = data_dir, store, settings
        self.folder = data_dir / UPLOADS
        self.folder.mkdir(parents=True, exist_ok=True)
        _clear_abandoned(self.folder)
        self.jobs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.lock = threading.Lock()
        self.pending = 0
        self.incoming: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self.reading: dict[str, str] = {}  # path handed to a worker → job id
        self.index_wanted = threading.Event()
        self.closed = False
        self.threads = [threading.Thread(target=self._supervise, name="yusuan-uploads", daemon=True)]
        if settings.index:
            self.threads.append(threading.Thread(target=self._index, name="yusuan-upload-index", daemon=True))
        for thread in self.threads:
            thread.start()

    # ---- request side

    def reserve(self) -> str:
        """A job id and its folder, or 503 when ``max_pending`` uploads are already in the works."""
        with self.lock:
            if self.pending >= self.settings.max_pending:
                raise UploadRejected(503, f"busy: {self.pending} uploads are being read; try again shortly",
                                     retry_after=5)
            self.pending += 1
        job_id = uuid.uuid4().hex[:12]
        folder = self.folder / job_id
        folder.mkdir()
        (folder / OWNER).write_text(str(os.getpid()), encoding="ascii")
        return job_id

    def cancel(self, job_id: str) -> None:
        shutil.rmtree(self.folder / job_id, ignore_errors=True)
        with self.lock:
            self.pending -= 1

    def submit(self, job_id: str, name: str, size: int, sha256: str) -> dict[str, Any]:
        job = {"job_id": job_id, "status": "queued", "filename": name, "bytes": size, "sha256": sha256}
        with self.lock:
            self.jobs[job_id] = job
            finished = [key for key, value in self.jobs.items() if value["status"] not in ("queued", "reading")]
            for key in finished[: max(0, len(self.jobs) - self.settings.kept_jobs)]:
                del self.jobs[key]
        self.incoming.put(job_id)
        return dict(job)

    def status(self, job_id: str) -> dict[str, Any] | None:
        with self.lock:
            job = self.jobs.get(job_id)
            return dict(job) if job is not None else None

    def close(self) -> None:
        self.closed = True
        self.incoming.put(None)
        self.index_wanted.set()

    # ---- supervisor thread

    def _supervise(self) -> None:
        while not self.closed:
            job_id = self.incoming.get()
            if job_id is None:
                return
            pool = WorkerPool(self.settings.workers, self.settings.timeout_s, 50, self.settings.max_memory_mb,
                              extract_one, cwd=str(self.data_dir))
            pool.run(self._start([job_id]), self._finish, more=self._more)

    def _more(self) -> list[str]:
        job_ids = []
        while True:
            try:
                job_id = self.incoming.get_nowait()
            except queue.Empty:
                break
            if job_id is None:
                self.incoming.put(None)  # seen again once this run is over
                break
            job_ids.append(job_id)
        return self._start(job_ids)

    def _start(self, job_ids: list[str]) -> list[str]:
        """Paths (relative to the data directory) for the workers; content already stored is not read again."""
        paths = []
        for job_id in job_ids:
            job = self.jobs[job_id]
            try:
                stored = self._stored_doc(job["sha256"])
            except Exception:  # a busy store: read the file anyway, its write will wait its turn
                stored = None
            if stored is not None:
                self._update(job_id, status="done", unchanged=True, **stored)
                self._done(job_id)
                continue
            path = f"{UPLOADS}/{job_id}/{job['filename']}"
            self.reading[path] = job_id
            self._update(job_id, status="reading")
            paths.append(path)
        return paths

    def _stored_doc(self, sha256: str) -> dict[str, Any] | None:
        from yusuan import __version__

        with self.store.reading() as con:
            row = con.execute("SELECT doc_id, department, year FROM documents WHERE sha256 = ? AND extractor_version = ? "
                              "LIMIT 1", [sha256, __version__]).fetchone()
        return None if row is None else {"doc_id": row[0], "department": row[1], "year": row[2]}

    def _finish(self, extraction: Extraction | None, outcome: FileOutcome) -> None:
        job_id = self.reading.pop(outcome.source)
        if extraction is None:
            status = "not_budget" if outcome.status == "not_budget" else "failed"
            self._update(job_id, status=status, error=f"{outcome.stage}: {outcome.reason}")
        else:
            try:
                self.store.replace(extraction)
            except Exception as exc:  # a store that stayed busy: the upload fails, the server goes on
                self._update(job_id, status="failed", error=f"store: {type(exc).__name__}: {exc}")
            else:
                doc = extraction.document
                self._archive(outcome.source, doc.doc_id)
                self._update(job_id, status="done", doc_id=doc.doc_id, department=doc.department, year=doc.year,
                             records=len(extraction.records), warnings=list(doc.warnings),
                             **({"indexed": False} if self.settings.index else {}))
                self.index_wanted.set()
        self._done(job_id)

    def _archive(self, path: str, doc_id: str) -> None:
        """Keep the stored document's file as ``sources/<doc_id><suffix>`` (the upload folder itself is removed)."""
        from yusuan.config import ARCHIVE_DIRNAME

        archive = self.data_dir / ARCHIVE_DIRNAME
        archive.mkdir(exist_ok=True)
        os.replace(self.data_dir / path, archive / f"{doc_id}{Path(path).suffix.lower()}")

    def _update(self, job_id: str, **fields: Any) -> None:
        with self.lock:
            if job_id in self.jobs:  # an old finished job may have been forgotten meanwhile
                self.jobs[job_id].update(fields)

    def _done(self, job_id: str) -> None:
        shutil.rmtree(self.folder / job_id, ignore_errors=True)
        with self.lock:
            self.pending -= 1

    # ---- indexer thread

    def _index(self) -> None:
        from yusuan.index.indexer import build_index

        while True:
            self.index_wanted.wait()
            if self.closed:
                return
            self.index_wanted.clear()
            with self.lock:
                waiting = [job_id for job_id, job in self.jobs.items() if job.get("indexed") is False]
            try:
                build_index(self.data_dir)
            except Exception as exc:  # search lags behind; records and /ask have the document already
                for job_id in waiting:
                    self._update(job_id, index_error=f"{type(exc).__name__}: {exc}")
                continue
            for job_id in waiting:
                self._update(job_id, indexed=True, index_error=None)


def _clear_abandoned(folder: Path) -> None:
    """Remove upload folders of servers that are no longer running (a crash or kill mid-upload)."""
    for job in folder.iterdir():
        try:
            owner = int((job / OWNER).read_text(encoding="ascii"))
        except (OSError, ValueError):
            owner = None
        if owner is not None and owner != os.getpid() and _running(owner):
            continue
        shutil.rmtree(job, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
