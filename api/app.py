"""FastAPI service: health, uploads with background extraction, records, ask, search and the web page at /.

The app holds one DuckDB connection to the store for its lifetime; each request works on its own cursor of it
(opening the database per request costs ~30 ms at 10,000 documents). The QA engine's StoreView cache is keyed on
the database path and invalidated when the documents table changes (uploads included)."""

from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import duckdb
from fastapi import FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response

from yusuan.config import db_path
from yusuan.qa.engine import Answer, invalidate_view

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
ANSWER_CACHE = 256
RECORD_KINDS = ("budget_total", "function_line", "econ_line", "sangong", "project", "indicator", "fact")
STATIC = Path(__file__).parent / "static"


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


def create_app(data_dir: str | Path | None = None, max_upload_bytes: int = MAX_UPLOAD_BYTES,
               answer_cache: int = ANSWER_CACHE) -> FastAPI:
    """`answer_cache`: how many /ask answers to keep per store version (0 = off); rule-based answers only."""
    from yusuan.store import Store

    directory = Path(data_dir) if data_dir else None
    database = db_path(directory)
    with Store(database):  # make sure the schema exists before the first read-only request
        pass
    write_lock = threading.Lock()
    jobs: dict[str, dict[str, Any]] = {}
    shared: dict[str, duckdb.DuckDBPyConnection | None] = {"con": None}
    con_lock = threading.Lock()
    answers: OrderedDict[tuple[Any, str], bytes] = OrderedDict()  # (store signature, question) → answer JSON
    answers_lock = threading.Lock()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        with con_lock:
            if shared["con"] is not None:
                shared["con"].close()
                shared["con"] = None

    app = FastAPI(title="yusuan", description="Chinese budget disclosures → typed records: records, QA and search.",
                  version="0.1.0", lifespan=lifespan)

    def connect() -> duckdb.DuckDBPyConnection:
        """A cursor (its own connection) on the app's long-lived connection; the same configuration as the writer
        (Store) so both share one database instance in-process."""
        with con_lock:
            if shared["con"] is None:
                shared["con"] = duckdb.connect(str(database))
            return shared["con"].cursor()

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        msg = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg')}" for e in exc.errors())
        return JSONResponse({"error": msg}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": f"internal error: {type(exc).__name__}"}, status_code=500)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok"}

    def _extract(job_id: str, path: Path, original_name: str) -> None:
        from yusuan.extract.batch import extract_one

        jobs[job_id]["status"] = "running"
        try:
            extraction, outcome = extract_one(str(path), timeout=None)
            if extraction is None:
                jobs[job_id].update(status="failed", error=f"{outcome.stage}: {outcome.reason}")
                return
            with write_lock, Store(database) as store:
                store.replace(extraction)
            invalidate_view(str(database))
            doc = extraction.document
            jobs[job_id].update(status="done", doc_id=doc.doc_id, department=doc.department, year=doc.year,
                                records=len(extraction.records))
        except Exception as exc:  # the job reports, the server lives on
            jobs[job_id].update(status="failed", error=f"{type(exc).__name__}: {exc}")

    @app.post("/documents", status_code=202)
    async def upload(request: Request, file: UploadFile = File(...)) -> JSONResponse:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > max_upload_bytes + 1024 * 1024:
            raise ApiError(413, f"file too large (limit {max_upload_bytes // (1024 * 1024)} MB)")
        name = Path(file.filename or "upload.bin").name
        updir = Path(tempfile.mkdtemp(prefix="yusuan-upload-", dir=str(database.parent)))
        target = updir / name
        size = 0
        with target.open("wb") as out:
            while chunk := await file.read(1024 * 1024):
                size += len(chunk)
                if size > max_upload_bytes:
                    out.close()
                    shutil.rmtree(updir, ignore_errors=True)
                    raise ApiError(413, f"file too large (limit {max_upload_bytes // (1024 * 1024)} MB)")
                out.write(chunk)
        if size == 0:
            shutil.rmtree(updir, ignore_errors=True)
            raise ApiError(400, "empty file")
        job_id = uuid.uuid4().hex[:12]
        jobs[job_id] = {"job_id": job_id, "status": "queued", "filename": name, "bytes": size}
        threading.Thread(target=_extract, args=(job_id, target, name), daemon=True).start()
        return JSONResponse({**jobs[job_id], "status_url": f"/documents/{job_id}"}, status_code=202)

    @app.get("/documents/{doc_id}/issues")
    def document_issues(doc_id: str) -> dict[str, Any]:
        """Audit issues of a stored document, computed on demand from its source file (yusuan.audit)."""
        from yusuan.audit.source import stored_issues

        con = connect()
        try:
            return stored_issues(con, doc_id)
        except LookupError as exc:
            raise ApiError(404, str(exc)) from exc
        finally:
            con.close()

    @app.get("/documents/{job_id}")
    def job_status(job_id: str) -> dict[str, Any]:
        if job_id not in jobs:
            raise ApiError(404, f"unknown job {job_id}")
        return jobs[job_id]

    @app.get("/documents")
    def documents(limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)) -> dict[str, Any]:
        con = connect()
        try:
            cur = con.execute("SELECT doc_id, source, department, region, level, year, doc_kind, unit_original, layout, "
                              "pages FROM documents ORDER BY source LIMIT ? OFFSET ?", [limit, offset])
            cols = [c[0] for c in cur.description]
            rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
            total = con.execute("SELECT count(*) FROM documents").fetchone()[0]
        finally:
            con.close()
        return {"total": total, "limit": limit, "offset": offset, "documents": rows}

    @app.get("/records/{kind}")
    def records(kind: str, doc_id: str | None = None, department: str | None = None, year: int | None = None,
                table_kind: str | None = None, limit: int = Query(100, ge=1, le=1000),
                offset: int = Query(0, ge=0)) -> dict[str, Any]:
        if kind not in RECORD_KINDS:
            raise ApiError(404, f"unknown record kind {kind!r}; one of {', '.join(RECORD_KINDS)}")
        where = ("(?::VARCHAR IS NULL OR t.doc_id = ?) AND (?::VARCHAR IS NULL OR d.department = ?) "
                 "AND (?::BIGINT IS NULL OR d.year = ?) AND (?::VARCHAR IS NULL OR t.table_kind = ?)")
        params = [doc_id, doc_id, department, department, year, year, table_kind, table_kind]
        con = connect()
        try:
            total = con.execute(f"SELECT count(*) FROM {kind} t JOIN documents d USING (doc_id) WHERE {where}",
                                params).fetchone()[0]
            cur = con.execute(f"SELECT t.* FROM {kind} t JOIN documents d USING (doc_id) WHERE {where} "
                              "ORDER BY t.doc_id, t.line, t.record_id LIMIT ? OFFSET ?", [*params, limit, offset])
            cols = [c[0] for c in cur.description]
            rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
        finally:
            con.close()
        return {"kind": kind, "total": total, "limit": limit, "offset": offset, "records": rows}

    @app.get("/ask", response_model=Answer)
    def ask(q: str = Query(..., min_length=1, max_length=500)) -> Response:
        from yusuan.qa.engine import Engine, store_view

        con = connect()
        try:
            # the app is the store's only writer (it holds the database open) and invalidates the view after each
            # upload, so the store's signature is re-read at most once a second
            view = store_view(con, str(database), max_age=1.0)
            cache_key = (view.signature, q)
            with answers_lock:
                body = answers.get(cache_key)
                if body is not None:
                    answers.move_to_end(cache_key)
            if body is None:
                answer = Engine(con, directory, key=str(database), view=view).ask(q)
                # serialised by pydantic-core directly (FastAPI's generic encoder costs ms on long answers)
                body = answer.model_dump_json().encode()
                plan = answer.plan
                if answer_cache and plan is not None and plan.source == "rules" and plan.intent not in ("narrative", "unknown"):
                    with answers_lock:
                        answers[cache_key] = body
                        while len(answers) > answer_cache:
                            answers.popitem(last=False)
        finally:
            con.close()
        return Response(body, media_type="application/json")

    @app.get("/search")
    def search(q: str = Query(..., min_length=1, max_length=500), k: int = Query(10, ge=1, le=50)) -> dict[str, Any]:
        from yusuan.qa.engine import search_passages

        results, error = search_passages(q, directory, k=k)
        if error:
            raise ApiError(503, f"search index unavailable: {error}")
        return {"query": q, "results": results}

    return app
