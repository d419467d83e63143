"""Audit issues found at extraction time (:mod:`yusuan.audit`), stored beside the document's records.

``audit_issues`` holds one row per issue; ``document_audits`` one row per document audited at extraction (with its
issue count), so a clean document (no issues) is told apart from one that was never audited then — a document
extracted before these tables existed, imported from a Ray dataset, or whose audit failed — which the readers
(`yusuan audit --doc`, ``GET /documents/{id}/issues``) audit on demand instead. Both are written in the document's
transaction (:meth:`yusuan.store.Store.write`) and deleted with it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

    from yusuan.audit.model import Issue

ISSUES = "audit_issues"
AUDITS = "document_audits"
ISSUE_COLUMNS = [
    ("doc_id", "VARCHAR"), ("seq", "BIGINT"), ("rule", "VARCHAR"), ("family", "VARCHAR"), ("severity", "VARCHAR"),
    ("message", "VARCHAR"), ("page", "BIGINT"), ("bbox", "VARCHAR"), ("values", "VARCHAR"), ("suggestion", "VARCHAR"),
    ("evidence", "VARCHAR"),
]
AUDIT_COLUMNS = [("doc_id", "VARCHAR"), ("issues", "BIGINT")]
SCHEMA_COLUMNS = {(ISSUES, name) for name, _ in ISSUE_COLUMNS} | {(AUDITS, name) for name, _ in AUDIT_COLUMNS}


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE TABLE IF NOT EXISTS {ISSUES} (" + ", ".join(f'"{n}" {t}' for n, t in ISSUE_COLUMNS) + ")")
    con.execute(f"CREATE TABLE IF NOT EXISTS {AUDITS} (doc_id VARCHAR PRIMARY KEY, issues BIGINT)")


def issue_rows(doc_id: str, encoded: str) -> list[list[object]]:
    """The ``audit_issues`` rows (ISSUE_COLUMNS order) of an extraction's issues (``Extraction.audit_issues``)."""
    return [
        [doc_id, seq, issue["rule_id"], issue["family"], issue["severity"], issue["message"], issue.get("page"),
         json.dumps(issue["bbox"]) if issue.get("bbox") else None, json.dumps(issue.get("values", []), ensure_ascii=False),
         issue.get("suggestion", ""), issue.get("evidence", "")]
        for seq, issue in enumerate(json.loads(encoded))
    ]


def _has_tables(con: duckdb.DuckDBPyConnection) -> bool:
    """False for a store made before issues were stored and not opened for writing since (a read-only open does not
    migrate it)."""
    row = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() "
                      "AND table_name IN (?, ?)", [ISSUES, AUDITS]).fetchone()
    return bool(row and row[0] == 2)


def read_issues(con: duckdb.DuckDBPyConnection, doc_id: str) -> list[Issue] | None:
    """The issues stored for a document at extraction, in the audit's order; None when it was not audited then."""
    from yusuan.audit.model import Issue

    if not _has_tables(con) or not con.execute(f"SELECT 1 FROM {AUDITS} WHERE doc_id = ?", [doc_id]).fetchone():
        return None
    rows = con.execute(f"SELECT rule, family, severity, message, page, bbox, \"values\", suggestion, evidence FROM {ISSUES} "
                       "WHERE doc_id = ? ORDER BY seq", [doc_id]).fetchall()
    return [
        Issue(rule_id=rule, family=family, severity=severity, message=message, page=page,
              bbox=json.loads(bbox) if bbox else None, values=json.loads(values or "[]"), suggestion=suggestion or "",
              evidence=evidence or "")
        for rule, family, severity, message, page, bbox, values, suggestion, evidence in rows
    ]


def issue_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Issues found at extraction per audited document (documents not audited then are absent)."""
    if not _has_tables(con):
        return {}
    return dict(con.execute(f"SELECT doc_id, issues FROM {AUDITS}").fetchall())
