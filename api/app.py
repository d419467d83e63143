"""FastAPI service: health, uploads with background extraction, records, ask, search and the web page at /.

The app keeps no connection to the store: each request opens a short-lived read-only one under the store's shared
lock (yusuan.store.lock), so `yusuan extract`, `index`, `ask` and `export` work on the same data directory while
it runs. /ask keeps the QA engine's StoreView and its answers for as long as the store's generation (a counter every
writer moves on) is unchanged, so a repeated question opens nothing; /search keeps its results the same way, for as
long as neither the store's generation nor a file of the search index (``<data>/index/``) changed. Uploads: see
yusuan.api.uploads."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.exceptions import HTTPException

from yusuan.config import db_path
from yusuan.qa.engine import Answer
from yusuan.store.lock import StoreBusy, StoreConnection, generation, reading

from .uploads import UploadRejected, Uploads, UploadSettings, receive

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
ANSWER_CACHE = 256
SEARCH_CACHE = 1024
MAX_OFFSET = 2**40  # far past any store; keeps OFFSET inside DuckDB's integers
MAX_TEXT = 200  # longest doc_id / department / table_kind filter
RECORD_KINDS = ("budget_total", "function_line", "econ_line", "sangong", "project", "indicator", "fact")
STATIC = Path(__file__).parent / "static"


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


def create_app(data_dir: str | Path | None = None, max_upload_bytes: int = MAX_UPLOAD_BYTES,
               answer_cache: int = ANSWER_CACHE, uploads: UploadSettings | None = None,
               search_cache: int = SEARCH_CACHE) -> FastAPI:
    """`answer_cache`: how many /ask answers to keep per store version (0 = off); rule-based answers only.
    `search_cache`: how many /search results to keep per store and index version (0 = off).
    `uploads`: limits and workers for POST /documents (its max_bytes defaults to `max_upload_bytes`)."""
    from yusuan.store import Store

    directory = Path(data_dir) if data_dir else None
    database = db_path(directory)
    store = Store(database)  # creates the schema if needed; holds no connection
    settings = uploads or UploadSettings(max_bytes=max_upload_bytes)
    answers: OrderedDict[tuple[Any, str], bytes] = OrderedDict()  # (store signature, question) → answer JSON
    answers_lock = threading.Lock()
    views: dict[str, Any] = {}  # "current": (store generation, StoreView)
    searches: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()  # (store and index state, query, k) → results JSON
    searches_lock = threading.Lock()
    started: dict[str, Uploads] = {}
    started_lock = threading.Lock()

    def upload_jobs() -> Uploads:
        """Started with the app (its threads and worker processes belong to the serving process)."""
        with started_lock:
            if "uploads" not in started:
                started["uploads"] = Uploads(database.parent, store, settings)
            return started["uploads"]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        upload_jobs()
        yield
        started["uploads"].close()

    app = FastAPI(title="yusuan", description="Chinese budget disclosures → typed records: records, QA and search.",
                  version="0.1.0", lifespan=lifespan)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(UploadRejected)
    async def _upload_rejected(_: Request, exc: UploadRejected) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=headers)

    @app.exception_handler(StoreBusy)
    async def _store_busy(_: Request, exc: StoreBusy) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

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

    @app.post("/documents", status_code=202, openapi_extra={"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary"}}}}}}})
    async def upload(request: Request) -> JSONResponse:
        """Queue a file (pdf, xlsx, xls, docx, html, txt, md) for extraction; poll its status_url."""
        jobs = upload_jobs()
        job_id = jobs.reserve()
        try:
            name, size, sha256 = await receive(request, jobs.folder / job_id, settings.max_bytes)
        except BaseException:
            jobs.cancel(job_id)
            raise
        job = jobs.submit(job_id, name, size, sha256)
        return JSONResponse({**job, "status_url": f"/documents/{job_id}"}, status_code=202)

    @app.get("/documents/{doc_id}/issues")
    def document_issues(doc_id: str, recompute: bool = False) -> dict[str, Any]:
        """Audit issues of a stored document (yusuan.audit): those stored at extraction, else (or with
        ``recompute=true``) computed again from its source file; ``origin`` says which."""
        from yusuan.audit.source import stored_audit

        with reading(database) as con:
            try:
                return stored_audit(con, doc_id, recompute).payload()
            except LookupError as exc:
                raise ApiError(404, str(exc)) from exc

    @app.get("/documents/{job_id}")
    def job_status(job_id: str) -> dict[str, Any]:
        job = upload_jobs().status(job_id)
        if job is None:
            raise ApiError(404, f"unknown job {job_id}")
        return job

    @app.get("/documents")
    def documents(limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> dict[str, Any]:
        with reading(database) as con:
            cur = con.execute("SELECT doc_id, source, department, region, level, year, doc_kind, unit_original, layout, "
                              "pages FROM documents ORDER BY source LIMIT ? OFFSET ?", [limit, offset])
            cols = [c[0] for c in cur.description]
            rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
            total = con.execute("SELECT count(*) FROM documents").fetchone()[0]
        return {"total": total, "limit": limit, "offset": offset, "documents": rows}

    @app.get("/records/{kind}")
    def records(kind: str, doc_id: str | None = Query(None, max_length=MAX_TEXT),
                department: str | None = Query(None, max_length=MAX_TEXT), year: int | None = Query(None, ge=0, le=9999),
                table_kind: str | None = Query(None, max_length=MAX_TEXT), limit: int = Query(100, ge=1, le=1000),
                offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> dict[str, Any]:
        if kind not in RECORD_KINDS:
            raise ApiError(404, f"unknown record kind {kind!r}; one of {', '.join(RECORD_KINDS)}")
        where = ("(?::VARCHAR IS NULL OR t.doc_id = ?) AND (?::VARCHAR IS NULL OR d.department = ?) "
                 "AND (?::BIGINT IS NULL OR d.year = ?) AND (?::VARCHAR IS NULL OR t.table_kind = ?)")
        params = [doc_id, doc_id, department, department, year, year, table_kind, table_kind]
        with reading(database) as con:
            total = con.execute(f"SELECT count(*) FROM {kind} t JOIN documents d USING (doc_id) WHERE {where}",
                                params).fetchone()[0]
            cur = con.execute(f"SELECT t.* FROM {kind} t JOIN documents d USING (doc_id) WHERE {where} "
                              "ORDER BY t.doc_id, t.line, t.record_id LIMIT ? OFFSET ?", [*params, limit, offset])
            cols = [c[0] for c in cur.description]
            rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
        return {"kind": kind, "total": total, "limit": limit, "offset": offset, "records": rows}

    @app.get("/ask", response_model=Answer)
    def ask(q: str = Query(..., min_length=1, max_length=500)) -> Response:
        from yusuan.qa.engine import Engine, store_view

        held = views.get("current")
        if held is not None and held[0] == generation(database):  # nothing written since: no need to open the store
            with answers_lock:
                body = answers.get((held[1].signature, q))
            if body is not None:
                return Response(body, media_type="application/json")
        with reading(database) as con:
            now = generation(database)  # steady while the read lock is held
            held = views.get("current")
            view = held[1] if held is not None and held[0] == now else store_view(con, str(database))
            views["current"] = (now, view)
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
        return Response(body, media_type="application/json")

    @app.get("/search")
    def search(q: str = Query(..., min_length=1, max_length=500), k: int = Query(10, ge=1, le=50)) -> Response:
        import json

        from yusuan.qa.engine import search_passages

        key = (search_state(database), q, k)
        with searches_lock:
            body = searches.get(key)
            if body is not None:
                searches.move_to_end(key)
                return Response(body, media_type="application/json")
        results, error = search_passages(q, directory, k=k)
        if error:
            raise ApiError(503, f"search index unavailable: {error}")
        body = json.dumps({"query": q, "results": results}, ensure_ascii=False).encode()
        if search_cache:
            with searches_lock:
                searches[key] = body
                while len(searches) > search_cache:
                    searches.popitem(last=False)
        return Response(body, media_type="application/json")

    from yusuan.api.viewer import install_viewer

    install_viewer(app, lambda: StoreConnection(database))  # read-only, under the shared lock; closing releases it
    return app


def search_state(database: Path) -> tuple[Any, ...]:
    """What a search result depends on: the store's generation and every index file's size and modification time
    (`yusuan index` writes the vector and BM25 files after the passages table)."""
    files = []
    for folder in sorted((database.parent / "index").glob("*")):
        if folder.is_dir():
            files += [(entry.path, entry.stat().st_mtime_ns, entry.stat().st_size) for entry in os.scandir(folder)]
    return generation(database), tuple(sorted(files))
