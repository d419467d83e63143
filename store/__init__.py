"""Store: the embedded DuckDB database — one table per record kind plus ``documents``.

Every document is written in one transaction, so a crash or kill mid-run leaves either the old rows or the new
rows of that document, never a mix; re-extracting a changed file replaces its rows.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from yusuan.model import RECORD_KINDS, RECORD_TYPES, DocumentMeta, Extraction, Record

COMMON_COLUMNS = ("record_id", "doc_id", "kind", "table_kind", "table_title", "unit_name", "measure")
JSON_COLUMNS = ("provenance", "values", "checks")
FLAT_COLUMNS = ("source", "page", "line", "checks_failed")
DOCUMENT_COLUMNS = tuple(DocumentMeta.model_fields)


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
    model = RECORD_TYPES[kind]
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
    return [(name, types_.get(name, "VARCHAR")) for name in DOCUMENT_COLUMNS] + [("extracted_at", "TIMESTAMP")]


class Store:
    def __init__(self, path: str | Path, read_only: bool = False):
        self.path = Path(path)
        self.con = duckdb.connect(str(self.path), read_only=read_only)
        if not read_only:
            self._create_schema()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _create_schema(self) -> None:
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS documents ("
            + ", ".join(f'"{name}" {sql}' for name, sql in _document_columns())
            + ", PRIMARY KEY (doc_id))"
        )
        for kind in RECORD_KINDS:
            self.con.execute(
                f"CREATE TABLE IF NOT EXISTS {kind} (" + ", ".join(f'"{n}" {t}' for n, t in kind_columns(kind)) + ")"
            )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def is_current(self, sha256: str, extractor_version: str) -> bool:
        row = self.con.execute(
            "SELECT count(*) FROM documents WHERE sha256 = ? AND extractor_version = ?", [sha256, extractor_version]
        ).fetchone()
        return bool(row and row[0])

    def replace(self, extraction: Extraction) -> None:
        """Write one document's rows atomically, replacing earlier rows of the same file or content."""
        doc = extraction.document
        with self.transaction():
            stale = [
                row[0]
                for row in self.con.execute(
                    "SELECT doc_id FROM documents WHERE doc_id = ? OR source = ?", [doc.doc_id, doc.source]
                ).fetchall()
            ]
            for doc_id in stale:
                for kind in RECORD_KINDS:
                    self.con.execute(f"DELETE FROM {kind} WHERE doc_id = ?", [doc_id])
                self.con.execute("DELETE FROM documents WHERE doc_id = ?", [doc_id])
            self._insert_document(doc)
            for kind in RECORD_KINDS:
                rows = [record for record in extraction.records if record.kind == kind]
                if rows:
                    self._insert_records(kind, rows)

    def _insert_document(self, doc: DocumentMeta) -> None:
        data = doc.model_dump(mode="json")
        values = [json.dumps(data[name], ensure_ascii=False) if name in ("inferred", "warnings") else data[name]
                  for name in DOCUMENT_COLUMNS]
        placeholders = ", ".join("?" for _ in DOCUMENT_COLUMNS)
        self.con.execute(f"INSERT INTO documents VALUES ({placeholders}, now())", values)

    def _insert_records(self, kind: str, records: list[Record]) -> None:
        columns = [name for name, _ in kind_columns(kind)]
        frame = pd.DataFrame([record_row(record, columns) for record in records], columns=columns)
        self.con.register("incoming", frame)
        try:
            self.con.execute(f"INSERT INTO {kind} SELECT * FROM incoming")
        finally:
            self.con.unregister("incoming")

    def documents(self) -> pd.DataFrame:
        return self.con.execute("SELECT * FROM documents ORDER BY source").df()

    def table(self, name: str) -> pd.DataFrame:
        if name not in (*RECORD_KINDS, "documents"):
            raise ValueError(f"unknown table {name!r}")
        return self.con.execute(f"SELECT * FROM {name}").df()

    def counts(self) -> dict[str, int]:
        return {kind: self.con.execute(f"SELECT count(*) FROM {kind}").fetchone()[0] for kind in RECORD_KINDS}

    def check_totals(self) -> tuple[int, int]:
        passed = failed = 0
        for kind in RECORD_KINDS:
            for (checks,) in self.con.execute(f"SELECT checks FROM {kind}").fetchall():
                for check in json.loads(checks or "[]"):
                    if check["status"] == "pass":
                        passed += 1
                    else:
                        failed += 1
        return passed, failed


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
    """One file per kind plus documents; CSV in UTF-8 with BOM so Excel shows Chinese correctly."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("documents", *RECORD_KINDS):
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
