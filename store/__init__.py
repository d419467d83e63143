"""Store: the embedded DuckDB database — one table per record kind plus ``documents``.

Documents are written whole, in transactions (:meth:`Store.write`: one or several documents each), so a crash or
kill mid-run leaves either the old rows or the new rows of every document, never a mix; re-extracting a changed
file replaces its rows. Connections are short-lived and taken under a cross-process reader/writer lock
(:mod:`yusuan.store.lock`), one per transaction. Rows go in as Arrow tables, one per table and transaction; a
document's rows (:class:`DocumentRows`) are built where it is extracted, so the writer only appends them.
"""

from __future__ import annotations

import functools
import json
import types
import typing
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from json.encoder import c_make_encoder, encode_basestring
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    import pandas as pd

    from yusuan.model import DocumentMeta, Extraction, Record

from . import issues, lock

COMMON_COLUMNS = ("record_id", "doc_id", "kind", "table_kind", "table_title", "unit_name", "measure")
JSON_COLUMNS = ("provenance", "values", "checks")
FLAT_COLUMNS = ("source", "page", "line", "checks_failed")
# json.dumps(..., ensure_ascii=False) as one reusable C encoder: JSONEncoder.encode builds a new one per call, which
# costs more than encoding a record's small dicts
_json_chunks = c_make_encoder(None, json.JSONEncoder().default, encode_basestring, None, ": ", ", ", False, False, True)


def _json_text(value: object) -> str:
    return "".join(_json_chunks(value, 0))


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
    return columns | {("document_blocks", "doc_id"), ("document_blocks", "blocks")} | issues.SCHEMA_COLUMNS


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
    issues.create_tables(con)


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

    def known_contents(self, extractor_version: str) -> tuple[set[str], dict[str, str]]:
        """The sha256 of every document this yusuan version extracted, and of every file it turned away (with why):
        one query each, for a batch to decide which of its files need reading."""
        with self.reading() as con:
            current = {sha for (sha,) in con.execute("SELECT sha256 FROM documents WHERE extractor_version = ?",
                                                     [extractor_version]).fetchall()}
            rejected = dict(con.execute("SELECT sha256, reason FROM rejected_files WHERE extractor_version = ?",
                                        [extractor_version]).fetchall())
        return current, rejected

    def reject(self, sha256: str, source: str, reason: str, extractor_version: str) -> None:
        with self.writing() as con:
            con.execute("INSERT OR REPLACE INTO rejected_files VALUES (?, ?, ?, ?)", [sha256, source, reason, extractor_version])

    def replace(self, extraction: Extraction) -> None:
        """Write one document's rows atomically, replacing earlier rows of the same file or content."""
        self.write([document_rows(extraction)])

    def write(self, documents: Sequence[DocumentRows | Extraction]) -> None:
        """Write several documents in one transaction, each replacing earlier rows of the same file or content (a
        later one in ``documents`` replaces an earlier one too)."""
        documents = _last_of_each([d if isinstance(d, DocumentRows) else document_rows(d) for d in documents])
        if not documents:
            return
        import pyarrow as pa

        incoming = pa.table({"doc_id": [d.doc_id for d in documents], "source": [d.source for d in documents]})
        with self.transaction() as con:
            con.register("incoming_documents", incoming)
            try:
                stale = [doc_id for (doc_id,) in con.execute(
                    "SELECT doc_id FROM documents WHERE doc_id IN (SELECT doc_id FROM incoming_documents) "
                    "OR source IN (SELECT source FROM incoming_documents)").fetchall()]
            finally:
                con.unregister("incoming_documents")
            if stale:
                _delete_documents(con, stale)
            _append(con, "documents", _document_columns()[:-1], [d.document for d in documents],
                    extra=("extracted_at", "now()"))
            _append(con, "document_blocks", [("doc_id", "VARCHAR"), ("blocks", "VARCHAR")],
                    [[d.doc_id, d.blocks] for d in documents if d.blocks is not None])
            for kind in _model().RECORD_KINDS:
                _append(con, kind, kind_columns(kind), [row for d in documents for row in d.records.get(kind, ())])
            audited = [(d.doc_id, issues.issue_rows(d.doc_id, d.audit_issues)) for d in documents if d.audit_issues is not None]
            _append(con, issues.ISSUES, issues.ISSUE_COLUMNS, [row for _, rows in audited for row in rows])
            _append(con, issues.AUDITS, issues.AUDIT_COLUMNS, [[doc_id, len(rows)] for doc_id, rows in audited])

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


@dataclass(slots=True)
class DocumentRows:
    """One extraction as the store's rows: the ``documents`` row (without ``extracted_at``), the rows of each record
    kind in :func:`kind_columns` order, the parsed blocks and the audit issues (JSON). Cheap to send between
    processes, unlike the pydantic models it is made from."""

    doc_id: str
    source: str
    document: list[object]
    records: dict[str, list[list[object]]]
    blocks: str | None = None
    audit_issues: str | None = None


def document_rows(extraction: Extraction) -> DocumentRows:
    doc = extraction.document
    records: dict[str, list[list[object]]] = {}
    for record in extraction.records:
        records.setdefault(record.kind, []).append(record_row(record, _kind_column_names(record.kind)))
    return DocumentRows(doc.doc_id, doc.source, document_row(doc), records, extraction.blocks, extraction.audit_issues)


def _last_of_each(documents: Sequence[DocumentRows]) -> list[DocumentRows]:
    """What writing ``documents`` one after the other leaves: each replaces any earlier one with its doc_id or source."""
    kept: dict[str, DocumentRows] = {}
    doc_id_of_source: dict[str, str] = {}
    for document in documents:
        for doc_id in (document.doc_id, doc_id_of_source.get(document.source)):
            if doc_id is not None and (replaced := kept.pop(doc_id, None)) is not None:
                del doc_id_of_source[replaced.source]
        kept[document.doc_id] = document
        doc_id_of_source[document.source] = document.doc_id
    return list(kept.values())


def _delete_documents(con: duckdb.DuckDBPyConnection, doc_ids: list[str]) -> None:
    for table in (*_model().RECORD_KINDS, "documents", "document_blocks", issues.ISSUES, issues.AUDITS):
        con.execute(f"DELETE FROM {table} WHERE list_contains(?, doc_id)", [doc_ids])


_ARROW_TYPES = {"VARCHAR": "string", "BIGINT": "int64", "DOUBLE": "float64"}


def _append(con: duckdb.DuckDBPyConnection, table: str, columns: list[tuple[str, str]], rows: list[list[object]],
            extra: tuple[str, str] | None = None) -> None:
    """Insert ``rows`` (values in ``columns`` order) as one Arrow table; ``extra``: (column, SQL) of one more column."""
    if not rows:
        return
    import pyarrow as pa

    schema = pa.schema([(name, getattr(pa, _ARROW_TYPES[sql])()) for name, sql in columns])
    arrays = [pa.array(values, type=field.type) for values, field in zip(zip(*rows, strict=True), schema, strict=True)]
    names = ", ".join(f'"{name}"' for name, _ in columns)
    con.register("incoming_rows", pa.Table.from_arrays(arrays, schema=schema))
    try:
        if extra:
            con.execute(f'INSERT INTO {table} ({names}, "{extra[0]}") SELECT *, {extra[1]} FROM incoming_rows')
        else:
            con.execute(f"INSERT INTO {table} ({names}) SELECT * FROM incoming_rows")
    finally:
        con.unregister("incoming_rows")


def document_row(doc: DocumentMeta) -> list[object]:
    """The values of the DocumentMeta fields (without ``extracted_at``) as stored: dicts and lists as JSON text."""
    data = doc.model_dump(mode="json")
    return [json.dumps(data[name], ensure_ascii=False) if isinstance(data[name], dict | list) else data[name]
            for name in _document_fields()]


def record_row(record: Record, columns: Sequence[str]) -> list[object]:
    """The record's values in ``columns`` order as stored: dicts and lists (provenance, values, checks …) as JSON
    text, plus the flat columns (FLAT_COLUMNS) read from them."""
    data = record.model_dump(mode="json")
    provenance = data["provenance"]
    data["source"], data["page"], data["line"] = provenance.get("source"), provenance.get("page"), provenance.get("line")
    data["checks_failed"] = [check["status"] for check in data["checks"]].count("fail")
    return [_json_text(value) if isinstance(value, (dict, list)) else value for value in map(data.get, columns)]


@functools.cache
def _kind_column_names(kind: str) -> tuple[str, ...]:
    return tuple(name for name, _ in kind_columns(kind))


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
