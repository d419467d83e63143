"""Store: the embedded DuckDB database — one table per record kind plus ``documents``.

Every document is written in one transaction, so a crash or kill mid-run leaves either the old rows or the new
rows of that document, never a mix; re-extracting a changed file replaces its rows. Connections are short-lived
and taken under a cross-process reader/writer lock (:mod:`yusuan.store.lock`), one per document written.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    import pandas as pd

    from yusuan.model import DocumentMeta, Extraction, Record

from . import lock

COMMON_COLUMNS = ("record_id", "doc_id", "kind", "table_kind", "table_title", "unit_name", "measure")
JSON_COLUMNS = ("provenance", "values", "checks")
FLAT_COLUMNS = ("source", "page", "line", "checks_failed")


def _model() -> types.ModuleType:
    """yusuan.model, imported on first use: building its pydantic models costs more than all of `yusuan ask`, which
    only needs the lock (yusuan.store.lock) of this package."""
    import yusuan.model

    return yusuan.model


def _document_fields() -> tuple[str, ...]:
    return tuple(_model().DocumentMeta.model_fields)


def __getattr__(name: str) -> tuple[str, ...]:
    if name == "DOCUMENT_COLUMNS":
        return _document_fields()
    raise AttributeError(name)


def _sql_type(annotation: object) -> str:
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = args[0] if len(args) == 1 else annotation
    if annotation is float:
        return "DOUBLE"
    if annotation is int:
        return "BIGINT"
    if annotation is str:
        return "VARCHAR"
    return "VARCHAR"  # dicts and lists are stored as JSON text


def kind_columns(kind: str) -> list[tuple[str, str]]:
    model = _model().RECORD_TYPES[kind]
    columns = [(name, "VARCHAR") for name in COMMON_COLUMNS]
    specific = [
        (name, _sql_type(field.annotation))
        for name, field in model.model_fields.items()
        if name not in COMMON_COLUMNS and name not in JSON_COLUMNS
    ]
    flat = [("source", "VARCHAR"), ("page", "BIGINT"), ("line", "BIGINT"), ("checks_failed", "BIGINT")]
    return columns + specific + flat + [(name, "VARCHAR") for name in JSON_COLUMNS]


def _document_columns() -> list[tuple[str, str]]:
    types_ = {"year": "BIGINT", "pages": "BIGINT"}
    return [(name, types_.get(name, "VARCHAR")) for name in _document_fields()] + [("extracted_at", "TIMESTAMP")]


def _schema_columns() -> set[tuple[str, str]]:
    """(table, column) of every column the schema below creates."""
    columns = {("documents", name) for name, _ in _document_columns()}
    columns |= {(kind, name) for kind in _model().RECORD_KINDS for name, _ in kind_columns(kind)}
    columns |= {("rejected_files", name) for name in REJECTED_COLUMNS}
    return columns | {("document_blocks", "doc_id"), ("document_blocks", "blocks")}


REJECTED_COLUMNS = ("sha256", "source", "reason", "extractor_version")


def _create_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS documents ("
        + ", ".join(f'"{name}" {sql}' for name, sql in _document_columns())
        + ", PRIMARY KEY (doc_id))"
    )
    for name, sql in _document_columns():  # a store made by an older yusuan gains the new columns
        con.execute(f'ALTER TABLE documents ADD COLUMN IF NOT EXISTS "{name}" {sql}')
    for kind in _model().RECORD_KINDS:
        con.execute(f"CREATE TABLE IF NOT EXISTS {kind} (" + ", ".join(f'"{n}" {t}' for n, t in kind_columns(kind)) + ")")
    # the parsed text the search index chunks (yusuan.index.blocks), so `yusuan index` never re-parses a file
    con.execute("CREATE TABLE IF NOT EXISTS document_blocks (doc_id VARCHAR PRIMARY KEY, blocks VARCHAR)")
    # files the classifier turned away (not budget disclosures): remembered by content so a re-run does not read them again
    con.execute("CREATE TABLE IF NOT EXISTS rejected_files (sha256 VARCHAR PRIMARY KEY, source VARCHAR, reason VARCHAR, "
                "extractor_version VARCHAR)")


class Store:
    """A handle on the store file that keeps no connection open: every method opens a short-lived one under the
    store's cross-process reader/writer lock (:mod:`yusuan.store.lock`), so `serve`, `extract`, `index`, `ask` and
    `export` can work on one data directory at the same time. ``con`` is for callers that run many statements in a
    row: it holds a connection (and the lock: shared for a read-only Store, exclusive otherwise) until ``close()``.
    """

    def __init__(self, path: str | Path, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        self._con: duckdb.DuckDBPyConnection | None = None
        if not read_only and not self._schema_current():
            with self.writing() as con:
                _create_schema(con)

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = lock.acquire(self.path, write=not self.read_only)
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con = None
            lock.release(self.path)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reading(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        return lock.reading(self.path)

    def writing(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        return lock.writing(self.path)

    def _schema_current(self) -> bool:
        if not self.path.exists():
            return False
        with self.reading() as con:
            have = set(con.execute("SELECT table_name, column_name FROM information_schema.columns "
                                   "WHERE table_schema = current_schema()").fetchall())
        return _schema_columns() <= have

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.writing() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def is_current(self, sha256: str, extractor_version: str) -> bool:
        with self.reading() as con:
            row = con.execute(
                "SELECT count(*) FROM documents WHERE sha256 = ? AND extractor_version = ?", [sha256, extractor_version]
            ).fetchone()
        return bool(row and row[0])

    def rejection(self, sha256: str, extractor_version: str) -> str | None:
        """Why this content was turned away by this yusuan version (not a budget disclosure), or None."""
        with self.reading() as con:
            row = con.execute("SELECT reason FROM rejected_files WHERE sha256 = ? AND extractor_version = ?",
                              [sha256, extractor_version]).fetchone()
        return row[0] if row else None

    def reject(self, sha256: str, source: str, reason: str, extractor_version: str) -> None:
        with self.writing() as con:
            con.execute("INSERT OR REPLACE INTO rejected_files VALUES (?, ?, ?, ?)", [sha256, source, reason, extractor_version])

    def replace(self, extraction: Extraction) -> None:
        """Write one document's rows atomically, replacing earlier rows of the same file or content."""
        doc = extraction.document
        with self.transaction() as con:
            stale = [
                row[0]
                for row in con.execute(
                    "SELECT doc_id FROM documents WHERE doc_id = ? OR source = ?", [doc.doc_id, doc.source]
                ).fetchall()
            ]
            for doc_id in stale:
                for kind in _model().RECORD_KINDS:
                    con.execute(f"DELETE FROM {kind} WHERE doc_id = ?", [doc_id])
                con.execute("DELETE FROM documents WHERE doc_id = ?", [doc_id])
                con.execute("DELETE FROM document_blocks WHERE doc_id = ?", [doc_id])
            _insert_document(con, doc)
            if extraction.blocks is not None:
                con.execute("INSERT INTO document_blocks VALUES (?, ?)", [doc.doc_id, extraction.blocks])
            for kind in _model().RECORD_KINDS:
                rows = [record for record in extraction.records if record.kind == kind]
                if rows:
                    _insert_records(con, kind, rows)

    def documents(self) -> pd.DataFrame:
        with self.reading() as con:
            return con.execute("SELECT * FROM documents ORDER BY source").df()

    def table(self, name: str) -> pd.DataFrame:
        if name == "facts":  # the fact model (store/facts.py), a view over the record tables
            from .facts import facts_sql

            sql = f"SELECT * FROM ({facts_sql()}) ORDER BY department, year, doc_id, line"
        elif name in (*_model().RECORD_KINDS, "documents"):
            sql = f"SELECT * FROM {name}"
        else:
            raise ValueError(f"unknown table {name!r}")
        with self.reading() as con:
            return con.execute(sql).df()

    def counts(self) -> dict[str, int]:
        with self.reading() as con:
            return {kind: con.execute(f"SELECT count(*) FROM {kind}").fetchone()[0] for kind in _model().RECORD_KINDS}

    def check_totals(self) -> tuple[int, int]:
        passed = failed = 0
        with self.reading() as con:
            for kind in _model().RECORD_KINDS:
                for (checks,) in con.execute(f"SELECT checks FROM {kind}").fetchall():
                    for check in json.loads(checks or "[]"):
                        if check["status"] == "pass":
                            passed += 1
                        else:
                            failed += 1
        return passed, failed


def _insert_document(con: duckdb.DuckDBPyConnection, doc: DocumentMeta) -> None:
    values = document_row(doc)
    names = ", ".join(f'"{name}"' for name in (*_document_fields(), "extracted_at"))
    placeholders = ", ".join("?" for _ in _document_fields())
    con.execute(f"INSERT INTO documents ({names}) VALUES ({placeholders}, now())", values)


def _insert_records(con: duckdb.DuckDBPyConnection, kind: str, records: list[Record]) -> None:
    columns = [name for name, _ in kind_columns(kind)]
    import pandas as pd

    frame = pd.DataFrame([record_row(record, columns) for record in records], columns=columns)
    con.register("incoming", frame)
    try:
        con.execute(f"INSERT INTO {kind} SELECT * FROM incoming")
    finally:
        con.unregister("incoming")


def document_row(doc: DocumentMeta) -> list[object]:
    """The values of the DocumentMeta fields (without ``extracted_at``) as stored: dicts and lists as JSON text."""
    data = doc.model_dump(mode="json")
    return [json.dumps(data[name], ensure_ascii=False) if isinstance(data[name], dict | list) else data[name]
            for name in _document_fields()]


def record_row(record: Record, columns: list[str]) -> list[object]:
    data = record.model_dump(mode="json")
    provenance = data["provenance"]
    flat = {
        "source": provenance.get("source"),
        "page": provenance.get("page"),
        "line": provenance.get("line"),
        "checks_failed": sum(1 for check in record.checks if check.status == "fail"),
    }
    row = []
    for name in columns:
        if name in flat:
            row.append(flat[name])
        elif name in JSON_COLUMNS or isinstance(data.get(name), dict | list):
            row.append(json.dumps(data.get(name), ensure_ascii=False))
        else:
            row.append(data.get(name))
    return row


def export(store: Store, fmt: str, out: Path) -> list[Path]:
    """One file per kind plus documents and the fact model; CSV in UTF-8 with BOM so Excel shows Chinese correctly."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("documents", *_model().RECORD_KINDS, "facts"):
        frame = store.table(name)
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False, encoding="utf-8-sig")
        elif fmt == "jsonl":
            frame.to_json(path, orient="records", lines=True, force_ascii=False, date_format="iso")
        elif fmt == "parquet":
            frame.to_parquet(path, index=False)
        else:
            raise ValueError(f"unknown export format {fmt!r} (jsonl, csv or parquet)")
        written.append(path)
    return written
