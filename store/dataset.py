"""The Parquet dataset written by `yusuan extract --engine ray`, and `yusuan import` of it into the store.

Layout (one Parquet file per source document and table, named by the document's sha256)::

    DATASET/documents/year=2025/region=上海市/<sha256>.parquet     one row: the document (store columns)
    DATASET/<kind>/year=2025/region=上海市/<sha256>.parquet        that document's records of one kind (store columns)
    DATASET/document_blocks/year=2025/region=上海市/<sha256>.parquet  its parsed text for the search index (as stored)
    DATASET/errors/<sha256>.parquet                                 one row, for a file that failed, is not a budget
                                                                    disclosure, needs OCR or has warnings

Rows are the store's rows (:func:`yusuan.store.record_row`, :func:`yusuan.store.document_row`, the columns and
types of :func:`yusuan.store.kind_columns`), so importing gives the same tables as the local batch. Every file is
written under a temporary name and renamed, and a document's records are written before its ``documents`` file:
the ``documents`` file is the commit marker. Record files without one (a run killed mid-document) are ignored by
the views and rewritten by the next run. A changed file leaves its older version behind until :meth:`Dataset.prune`;
the views keep the newest document per source, as the store keeps the last extraction.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from yusuan.model import RECORD_KINDS, Extraction

from . import Store, _document_columns, document_row, kind_columns, record_row
from .issues import AUDITS, ISSUES

if TYPE_CHECKING:
    import duckdb

    from yusuan.extract.worker import FileOutcome

DOCUMENTS = "documents"
BLOCKS = "document_blocks"  # the parsed text the search index reads (yusuan.index.blocks), as in the store
BLOCK_COLUMNS = [("doc_id", "VARCHAR"), ("blocks", "VARCHAR")]
ERRORS = "errors"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"  # the Hive name for a missing partition value
ERROR_COLUMNS = [
    ("source", "VARCHAR"), ("sha256", "VARCHAR"), ("status", "VARCHAR"), ("stage", "VARCHAR"), ("reason", "VARCHAR"),
    ("pages", "BIGINT"), ("records", "BIGINT"), ("pages_needing_ocr", "VARCHAR"), ("warnings", "VARCHAR"),
    ("seconds", "DOUBLE"), ("extractor_version", "VARCHAR"), ("written_at", "TIMESTAMP"),
]
# the last directory + file name of a part: year=…/region=…/<sha256>.parquet, the same for a document and its records
_PART_SUFFIX = r"regexp_extract(filename, '[^/]+/[^/]+/[^/]+$')"


def _arrow_type(sql: str):
    import pyarrow as pa

    return {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(), "TIMESTAMP": pa.timestamp("us")}[sql]


def _partition_value(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("/", "_").replace("\\", "_").lstrip(".") or NULL_PARTITION


def error_key(source: str, sha256: str | None) -> str:
    """The errors file of a source: its content's sha256, or (unreadable file) a hash of its path."""
    return sha256 or "path-" + hashlib.sha256(source.encode()).hexdigest()


def _per_document_tables() -> list[tuple[str, list[tuple[str, str]]]]:
    """The tables with rows per document besides ``documents``, and their columns."""
    return [*((kind, kind_columns(kind)) for kind in RECORD_KINDS), (BLOCKS, BLOCK_COLUMNS)]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Committed:
    extractor_version: str
    status: str  # extracted | not_budget
    warnings: list[str]
    pages_needing_ocr: list[int]


@dataclass(frozen=True)
class Dataset:
    root: Path

    def _write(self, path: Path, columns: list[tuple[str, str]], rows: list[list[object]]) -> None:
        """One Parquet file, written under a temporary name in the same folder and renamed into place."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([(name, _arrow_type(sql)) for name, sql in columns])
        table = pa.table([pa.array([row[i] for row in rows], type=field.type) for i, field in enumerate(schema)],
                         schema=schema)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        pq.write_table(table, partial)
        os.replace(partial, path)

    def partition(self, year: object, region: object) -> Path:
        return Path(f"year={_partition_value(year)}") / f"region={_partition_value(region)}"

    def write_extraction(self, extraction: Extraction) -> None:
        """A document's record files, then its documents file (the commit marker)."""
        doc = extraction.document
        partition = self.partition(doc.year, doc.region)
        for kind in RECORD_KINDS:
            records = extraction.by_kind(kind)
            path = self.root / kind / partition / f"{doc.sha256}.parquet"
            if records:
                columns = kind_columns(kind)
                self._write(path, columns, [record_row(record, [name for name, _ in columns]) for record in records])
            else:
                path.unlink(missing_ok=True)  # left by an earlier, uncommitted attempt
        if extraction.blocks is not None:
            self._write(self.root / BLOCKS / partition / f"{doc.sha256}.parquet", BLOCK_COLUMNS,
                        [[doc.doc_id, extraction.blocks]])
        self._write(self.root / DOCUMENTS / partition / f"{doc.sha256}.parquet", _document_columns(),
                    [[*document_row(doc), _now()]])

    def write_outcome(self, outcome: FileOutcome, sha256: str | None, extractor_version: str) -> None:
        """The errors file of a file with a problem; a clean outcome removes the one of an earlier attempt."""
        path = self.root / ERRORS / f"{error_key(outcome.source, sha256)}.parquet"
        if outcome.status in ("failed", "not_budget") or outcome.warnings or outcome.pages_needing_ocr:
            row = [outcome.source, sha256, outcome.status, outcome.stage, outcome.reason, outcome.pages, outcome.records,
                   json.dumps(outcome.pages_needing_ocr), json.dumps(outcome.warnings, ensure_ascii=False),
                   round(outcome.seconds, 3), extractor_version, _now()]
            self._write(path, ERROR_COLUMNS, [row])
        else:
            path.unlink(missing_ok=True)

    def _has(self, table: str) -> bool:
        return next((self.root / table).rglob("*.parquet"), None) is not None if (self.root / table).is_dir() else False

    def views(self, con: duckdb.DuckDBPyConnection, prefix: str = "") -> None:
        """Temporary views ``{prefix}documents``, ``{prefix}<kind>`` and ``{prefix}errors`` over the dataset, with the
        store's columns: the newest committed version of each document, its records, and each file's last problem."""
        root = str(self.root.resolve()).replace("'", "''")

        def scan(table: str, columns: list[tuple[str, str]]) -> str:
            if not self._has(table):
                nulls = [f'CAST(NULL AS {sql}) AS "{name}"' for name, sql in [*columns, ("part", "VARCHAR")]]
                return "SELECT " + ", ".join(nulls) + " WHERE false"
            return (f"SELECT *, {_PART_SUFFIX} AS part FROM read_parquet('{root}/{table}/**/*.parquet', "
                    "hive_partitioning = false, union_by_name = true, filename = true)")

        names = ", ".join(f'"{name}"' for name, _ in _document_columns())
        con.execute(f"""CREATE OR REPLACE TEMP VIEW {prefix}_dataset_parts AS
            SELECT * FROM ({scan(DOCUMENTS, _document_columns())}) QUALIFY
            row_number() OVER (PARTITION BY source ORDER BY extracted_at DESC, part) = 1""")
        con.execute(f"""CREATE OR REPLACE TEMP VIEW {prefix}documents AS SELECT {names} FROM (
            SELECT * FROM {prefix}_dataset_parts QUALIFY
            row_number() OVER (PARTITION BY doc_id ORDER BY extracted_at DESC, part) = 1)""")
        for kind, columns in _per_document_tables():
            selected = ", ".join(f'r."{name}"' for name, _ in columns)
            if not self._has(kind):
                con.execute(f"CREATE OR REPLACE TEMP VIEW {prefix}{kind} AS {scan(kind, columns)}")
                continue
            con.execute(f"""CREATE OR REPLACE TEMP VIEW {prefix}{kind} AS SELECT {selected} FROM ({scan(kind, columns)}) r
                SEMI JOIN (SELECT doc_id, part FROM {prefix}_dataset_parts
                           WHERE doc_id IN (SELECT doc_id FROM {prefix}documents)) d
                ON r.doc_id = d.doc_id AND r.part = d.part""")
        error_names = ", ".join(f'e."{name}"' for name, _ in ERROR_COLUMNS)
        con.execute(f"""CREATE OR REPLACE TEMP VIEW {prefix}errors AS SELECT {error_names} FROM (
            SELECT * FROM ({scan(ERRORS, ERROR_COLUMNS)}) QUALIFY
            row_number() OVER (PARTITION BY source ORDER BY written_at DESC) = 1) e
            WHERE NOT EXISTS (SELECT 1 FROM {prefix}_dataset_parts d
                              WHERE d.source = e.source AND d.sha256 IS DISTINCT FROM e.sha256
                              AND d.extracted_at > e.written_at)""")

    def committed(self) -> dict[str, Committed]:
        """sha256 → what the dataset holds for it, for every document it holds and every file found not to be a
        budget disclosure: what a re-run may skip."""
        import duckdb

        con = duckdb.connect()
        try:
            self.views(con)
            rows = con.execute("""
                SELECT d.sha256, d.extractor_version, 'extracted', coalesce(e.warnings, d.warnings), e.pages_needing_ocr
                FROM documents d LEFT JOIN errors e ON e.sha256 = d.sha256
                UNION ALL
                SELECT sha256, extractor_version, status, warnings, pages_needing_ocr FROM errors
                WHERE status = 'not_budget' AND sha256 IS NOT NULL""").fetchall()
        finally:
            con.close()
        return {sha: Committed(version, status, json.loads(warnings or "[]"), json.loads(ocr or "[]"))
                for sha, version, status, warnings, ocr in rows}

    def prune(self) -> int:
        """Delete the files of document versions the views no longer show (a changed file's older content, or one
        extracted by an older yusuan into another partition) and superseded errors files; returns files deleted."""
        import duckdb

        con = duckdb.connect()
        try:
            self.views(con)
            if not self._has(DOCUMENTS):
                return 0
            root = str(self.root.resolve()).replace("'", "''")
            stale = con.execute(f"""SELECT {_PART_SUFFIX} FROM read_parquet('{root}/{DOCUMENTS}/**/*.parquet',
                hive_partitioning = false, filename = true, union_by_name = true)
                WHERE {_PART_SUFFIX} NOT IN (SELECT part FROM _dataset_parts WHERE doc_id IN (SELECT doc_id FROM documents))
                """).fetchall()
            kept_errors = {error_key(source, sha) for source, sha in con.execute("SELECT source, sha256 FROM errors").fetchall()}
        finally:
            con.close()
        deleted = 0
        for (part,) in stale:
            for table in (*RECORD_KINDS, BLOCKS, DOCUMENTS):  # the commit marker last
                path = self.root / table / part
                if path.exists():
                    path.unlink()
                    deleted += 1
        if (self.root / ERRORS).is_dir():
            for path in (self.root / ERRORS).glob("*.parquet"):
                if path.stem not in kept_errors:
                    path.unlink()
                    deleted += 1
        return deleted


def import_dataset(dataset: Dataset, store: Store) -> dict[str, int]:
    """Load the dataset's documents and records into the store in one transaction, replacing the rows of documents
    the store already holds (same doc_id or same source); returns rows imported per table."""
    counts = {}
    with store.transaction() as con:
        dataset.views(con, prefix="dataset_")
        replaced = ("SELECT s.doc_id FROM documents s JOIN dataset_documents d ON s.doc_id = d.doc_id OR s.source = d.source")
        for table in (*RECORD_KINDS, BLOCKS, ISSUES, AUDITS, DOCUMENTS):  # the dataset holds no issues: audited on demand
            con.execute(f"DELETE FROM {table} WHERE doc_id IN ({replaced})")
        for table, columns in [(DOCUMENTS, _document_columns()), *_per_document_tables()]:
            columns = [name for name, _ in columns]
            names = ", ".join(f'"{name}"' for name in columns)
            counts[table] = con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM dataset_{table}").fetchone()[0]
    return counts
