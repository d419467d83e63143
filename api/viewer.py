"""The web app's read-only endpoints: the records browser (documents with coverage and check status, per-kind tables
with filters, sorting, paging and CSV / Parquet download), the evidence viewer (a value's cell on its rendered PDF
page or its line in context) and the API docs served from a local Swagger UI (no CDN).

`install_viewer(app, connect)` adds them to the app of `create_app`; `connect` gives a cursor on the app's store."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import duckdb
from fastapi import APIRouter, FastAPI, HTTPException, Query
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

RECORD_KINDS = ("budget_total", "function_line", "econ_line", "sangong", "project", "indicator", "fact")
JSON_COLUMNS = ("provenance", "values", "checks")
DOCUMENT_COLUMNS = ("doc_id", "source", "department", "region", "level", "year", "doc_kind", "unit_original", "layout", "pages")
CONTEXT_LINES = 6  # lines shown above and below a text document's line
MAX_PAGE_SCALE = 4.0
MAX_DOWNLOAD_ROWS = 1_000_000
STATIC = Path(__file__).parent / "static"

Connect = Callable[[], Any]  # a read-only connection on the store (DuckDB's API); the endpoint closes it


def _rows(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _document(con: duckdb.DuckDBPyConnection, doc_id: str) -> dict[str, Any]:
    rows = _rows(con.execute(f"SELECT {', '.join(DOCUMENT_COLUMNS)} FROM documents WHERE doc_id = ?", [doc_id]))
    if not rows:
        raise HTTPException(404, f"unknown document {doc_id}")
    document = rows[0]
    document["name"] = Path(str(document["source"])).name
    document["is_pdf"] = Path(str(document["source"])).suffix.lower() == ".pdf"
    return document


def _text_lines(con: duckdb.DuckDBPyConnection, doc_id: str) -> dict[int, str]:
    """The document's numbered lines as parsed (table cells of one line joined by tabs), from `document_blocks`, so a
    text document shows its lines even when the uploaded file is gone."""
    from yusuan.index.blocks import decode_blocks

    found = con.execute("SELECT blocks FROM document_blocks WHERE doc_id = ?", [doc_id]).fetchall()
    parsed = decode_blocks(found[0][0], "", "") if found and found[0][0] else None
    lines: dict[int, list[str]] = {}
    for block in parsed.blocks if parsed else []:
        for line in block.lines:
            if line.line is not None:
                lines.setdefault(line.line, []).append(line.text)
        for row in block.grid.rows if block.grid else []:
            for cell in row:
                if cell.line is not None:
                    lines.setdefault(cell.line, []).append(cell.text)
    return {number: "\t".join(parts) for number, parts in lines.items()}


def _context(con: duckdb.DuckDBPyConnection, doc_id: str, line: int | None) -> list[dict[str, Any]]:
    if line is None:
        return []
    lines = _text_lines(con, doc_id)
    return [{"line": n, "text": lines[n], "target": n == line}
            for n in range(max(1, line - CONTEXT_LINES), line + CONTEXT_LINES + 1) if n in lines]


def _unrotated(bbox: list[float], rotation: int, width: float, height: float) -> tuple[float, float, float, float]:
    """A box on the page as displayed (x0, top, x1, bottom from the top-left, `width` × `height` after rotation) in
    PDF user space (left, bottom, right, top from the bottom-left of the unrotated page), where PDFium's text lives."""
    x0, top, x1, bottom = bbox
    if rotation == 90:
        return top, x0, bottom, x1
    if rotation == 180:
        return width - x1, top, width - x0, bottom
    if rotation == 270:
        return height - bottom, width - x1, height - top, width - x0
    return x0, height - bottom, x1, height - top


def _pdf_page(con: duckdb.DuckDBPyConnection, doc_id: str, page: int, bbox: list[float] | None) -> dict[str, Any]:
    """Size (points) of a stored PDF's page and the text printed inside `bbox` (x0, top, x1, bottom from the top-left)."""
    import pypdfium2

    from yusuan.audit.source import stored_source

    try:
        pdf = pypdfium2.PdfDocument(str(stored_source(con, doc_id)))
    except LookupError as exc:
        return {"page": page, "available": False, "reason": str(exc)}
    try:
        if not 1 <= page <= len(pdf):
            raise HTTPException(404, f"page {page} out of range (1–{len(pdf)})")
        pdf_page = pdf[page - 1]
        width, height = pdf_page.get_size()
        text_in_box = None
        if bbox:
            text_page = pdf_page.get_textpage()
            text_in_box = text_page.get_text_bounded(*_unrotated(bbox, pdf_page.get_rotation(), width, height)).strip()
            text_page.close()
        return {"page": page, "available": True, "width": width, "height": height, "page_count": len(pdf),
                "text_in_box": text_in_box}
    finally:
        pdf.close()


def _pick_cell(values: dict[str, Any], field: str | None, raw: str | None) -> tuple[str | None, dict[str, Any] | None]:
    """The value cell the viewer boxes: the named field, else the one printed as `raw`, else none (the whole row)."""
    if field and field in values:
        return field, values[field]
    wanted = "".join((raw or "").split())
    for name, cell in values.items():
        if wanted and "".join(str(cell.get("raw") or "").split()) == wanted:
            return name, cell
    return None, None


def _filters(kind_columns: list[str], doc_id: str | None, department: str | None, year: int | None,
             table_kind: str | None, q: str | None, failed: bool | None) -> tuple[str, list[Any]]:
    clauses, params = ["TRUE"], []
    for column, value in (("t.doc_id", doc_id), ("d.department", department), ("d.year", year), ("t.table_kind", table_kind)):
        if value is not None and value != "":
            clauses.append(f"{column} = ?")
            params.append(value)
    if q:
        text_columns = [c for c in kind_columns if c not in JSON_COLUMNS and c not in ("record_id", "doc_id", "kind", "source")]
        clauses.append("(" + " OR ".join(f"CAST(t.\"{c}\" AS VARCHAR) ILIKE ?" for c in text_columns) + " OR d.department ILIKE ?)")
        params.extend([f"%{q}%"] * (len(text_columns) + 1))
    if failed is not None:
        clauses.append("coalesce(t.checks_failed, 0) > 0" if failed else "coalesce(t.checks_failed, 0) = 0")
    return " AND ".join(clauses), params


def _csv_bytes(columns: list[str], rows: list[tuple[Any, ...]]) -> bytes:
    out = io.StringIO()
    out.write("\ufeff")  # BOM: Excel opens the file as UTF-8
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def viewer_router(connect: Connect) -> APIRouter:
    router = APIRouter(tags=["viewer"])

    def columns_of(con: duckdb.DuckDBPyConnection, kind: str) -> list[str]:
        if kind not in RECORD_KINDS:
            raise HTTPException(404, f"unknown record kind {kind!r}; one of {', '.join(RECORD_KINDS)}")
        return [row[0] for row in con.execute(f"DESCRIBE {kind}").fetchall()]

    @router.get("/browse/documents")
    def browse_documents(q: str | None = Query(None, max_length=200), doc_id: str | None = None, sort: str = "source", desc: bool = False,
                         limit: int = Query(50, ge=1, le=1000), offset: int = Query(0, ge=0)) -> dict[str, Any]:
        """Documents with their standard-table coverage, record counts and records whose checks fail."""
        if sort not in (*DOCUMENT_COLUMNS, "records", "failed"):
            raise HTTPException(422, f"cannot sort by {sort!r}")
        counts = " UNION ALL ".join(f"SELECT doc_id, count(*) AS n, count(*) FILTER (WHERE checks_failed > 0) AS failed "
                                    f"FROM {kind} GROUP BY doc_id" for kind in RECORD_KINDS)
        where, params = "TRUE", []
        if q:
            where += " AND (d.source ILIKE ? OR d.department ILIKE ? OR d.region ILIKE ? OR d.doc_kind ILIKE ?)"
            params += [f"%{q}%"] * 4
        if doc_id:
            where += " AND d.doc_id = ?"
            params.append(doc_id)
        con = connect()
        try:
            total = con.execute(f"SELECT count(*) FROM documents d WHERE {where}", params).fetchone()[0]
            rows = _rows(con.execute(
                f"WITH c AS ({counts}), per_doc AS (SELECT doc_id, sum(n) AS records, sum(failed) AS failed FROM c GROUP BY doc_id) "
                f"SELECT {', '.join('d.' + c for c in DOCUMENT_COLUMNS)}, d.coverage, d.warnings, coalesce(p.records, 0) AS records, "
                f"coalesce(p.failed, 0) AS failed FROM documents d LEFT JOIN per_doc p USING (doc_id) WHERE {where} "
                f"ORDER BY \"{sort}\" {'DESC' if desc else 'ASC'} NULLS LAST, d.source LIMIT ? OFFSET ?", [*params, limit, offset]))
        finally:
            con.close()
        for row in rows:
            row["name"] = Path(str(row["source"])).name
            row["coverage"] = json.loads(row["coverage"]) if row["coverage"] else None
            row["warnings"] = json.loads(row["warnings"]) if row["warnings"] else []
        return {"total": total, "limit": limit, "offset": offset, "documents": rows}

    @router.get("/browse/records/{kind}", response_model=None)
    def browse_records(kind: str, doc_id: str | None = None, department: str | None = None, year: int | None = None,
                       table_kind: str | None = None, q: str | None = Query(None, max_length=200),
                       failed: bool | None = Query(None, description="only records whose checks fail (true) / pass (false)"),
                       sort: str | None = None, desc: bool = False, limit: int = Query(50, ge=1, le=1000),
                       offset: int = Query(0, ge=0),
                       format: Literal["json", "csv", "parquet"] = "json") -> dict[str, Any] | Response:
        """One record kind as a table; `format=csv` (UTF-8 with BOM) or `parquet` downloads every matching row."""
        con = connect()
        try:
            columns = columns_of(con, kind)
            if sort is not None and sort not in columns:
                raise HTTPException(422, f"cannot sort by {sort!r}")
            where, params = _filters(columns, doc_id, department, year, table_kind, q, failed)
            order = (f"t.\"{sort}\" {'DESC' if desc else 'ASC'} NULLS LAST, " if sort else "") + "t.doc_id, t.line, t.record_id"
            select = f"SELECT t.* FROM {kind} t JOIN documents d USING (doc_id) WHERE {where} ORDER BY {order}"
            if format != "json":
                cursor = con.execute(f"{select} LIMIT {MAX_DOWNLOAD_ROWS}", params)
                if format == "csv":
                    body, media = _csv_bytes([c[0] for c in cursor.description], cursor.fetchall()), "text/csv; charset=utf-8"
                else:
                    sink = io.BytesIO()
                    cursor.df().to_parquet(sink, index=False)
                    body, media = sink.getvalue(), "application/vnd.apache.parquet"
                return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{kind}.{format}"'})
            total = con.execute(f"SELECT count(*) FROM {kind} t JOIN documents d USING (doc_id) WHERE {where}", params).fetchone()[0]
            rows = _rows(con.execute(f"{select} LIMIT ? OFFSET ?", [*params, limit, offset]))
        finally:
            con.close()
        shown = [c for c in columns if c not in JSON_COLUMNS]
        for row in rows:
            checks = json.loads(row.pop("checks") or "[]")
            row["failed_checks"] = [c["name"] for c in checks if c.get("status") == "fail"]
            row["value_fields"] = sorted(json.loads(row.pop("values") or "{}"))
            row.pop("provenance", None)
        return {"kind": kind, "columns": shown, "total": total, "limit": limit, "offset": offset, "records": rows}

    @router.get("/evidence/record/{record_id}")
    def record_evidence(record_id: str, field: str | None = None, raw: str | None = Query(None, max_length=2000)) -> dict[str, Any]:
        """Where a record's value was printed: the cell (`field`, else the value printed as `raw`, else the row), its
        document, the PDF page's size and the text inside the box, or a text document's lines around it."""
        kind = record_id.split(":")[1] if record_id.count(":") == 2 else ""
        con = connect()
        try:
            columns_of(con, kind)
            found = _rows(con.execute(f"SELECT * FROM {kind} WHERE record_id = ?", [record_id]))
            if not found:
                raise HTTPException(404, f"unknown record {record_id}")
            record = found[0]
            provenance = json.loads(record.pop("provenance") or "{}")
            values = json.loads(record.pop("values") or "{}")
            checks = json.loads(record.pop("checks") or "[]")
            document = _document(con, record["doc_id"])
            field_name, cell = _pick_cell(values, field, raw)
            place = cell or provenance
            page, line, bbox = place.get("page"), place.get("line"), place.get("bbox")
            pdf = _pdf_page(con, record["doc_id"], page, bbox) if document["is_pdf"] and page else None
            context = _context(con, record["doc_id"], line) if not document["is_pdf"] else []
        finally:
            con.close()
        return {"record": record, "document": document, "field": field_name,
                "cell": {"page": page, "line": line, "bbox": bbox, "raw": place.get("raw"), "unit_original": place.get("unit_original")},
                "row_raw": provenance.get("raw"), "values": values, "checks": checks, "pdf": pdf, "context": context}

    @router.get("/evidence/document/{doc_id}")
    def document_evidence(doc_id: str, page: int | None = Query(None, ge=1), line: int | None = Query(None, ge=1),
                          x0: float | None = None, top: float | None = None, x1: float | None = None,
                          bottom: float | None = None) -> dict[str, Any]:
        """A place in a document without a record (an audit issue's box, a search passage's line)."""
        box = [x0, top, x1, bottom]
        bbox = box if all(v is not None for v in box) else None
        con = connect()
        try:
            document = _document(con, doc_id)
            pdf = _pdf_page(con, doc_id, page, bbox) if document["is_pdf"] and page else None
            context = _context(con, doc_id, line) if not document["is_pdf"] else []
        finally:
            con.close()
        return {"document": document, "cell": {"page": page, "line": line, "bbox": bbox}, "pdf": pdf, "context": context}

    @router.get("/evidence/document/{doc_id}/page/{page}.png", response_class=Response,
                responses={200: {"content": {"image/png": {}}}})
    def page_image(doc_id: str, page: int, scale: float = Query(1.5, gt=0, le=MAX_PAGE_SCALE)) -> Response:
        """A stored PDF's page rendered with PDFium (`scale` 1 = 72 dpi)."""
        import pypdfium2

        from yusuan.audit.source import stored_source

        con = connect()
        try:
            _document(con, doc_id)
            try:
                source = stored_source(con, doc_id)
            except LookupError as exc:
                raise HTTPException(404, str(exc)) from exc
        finally:
            con.close()
        pdf = pypdfium2.PdfDocument(str(source))
        try:
            if not 1 <= page <= len(pdf):
                raise HTTPException(404, f"page {page} out of range (1–{len(pdf)})")
            image = pdf[page - 1].render(scale=scale).to_pil()
        finally:
            pdf.close()
        out = io.BytesIO()
        image.save(out, "PNG", optimize=False)
        return Response(out.getvalue(), media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    return router


def install_viewer(app: FastAPI, connect: Connect) -> None:
    """Add the viewer endpoints, the page's static files and an offline Swagger UI at `app.docs_url`."""
    import swagger_ui_bundle

    app.include_router(viewer_router(connect))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/vendor/swagger-ui", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger-ui")
    docs_url = app.docs_url or "/docs"
    app.router.routes[:] = [route for route in app.router.routes if getattr(route, "path", None) != docs_url]

    @app.get(docs_url, include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} API",
                                   swagger_js_url="/vendor/swagger-ui/swagger-ui-bundle.js",
                                   swagger_css_url="/vendor/swagger-ui/swagger-ui.css",
                                   swagger_favicon_url="/vendor/swagger-ui/favicon-32x32.png")
