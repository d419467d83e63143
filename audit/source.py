"""Where an audit reads from: a file; a stored document's issues, found when it was extracted (``audit_issues``,
:mod:`yusuan.store.issues`); or a stored document's source file re-read and audited again (the store keeps records,
not the ingested layout the text rules need) — for documents stored without issues, or when asked to recompute."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from yusuan.model import DocumentMeta

from .model import Issue


def stored_source(con, doc_id: str) -> Path:
    """The source file of a stored document (a DuckDB connection on the store); LookupError when the id is unknown
    or the file is gone or changed since extraction."""
    import hashlib

    rows = con.execute("SELECT source, sha256 FROM documents WHERE doc_id = ?", [doc_id]).fetchall()
    if not rows:
        raise LookupError(f"unknown document {doc_id}")
    source, sha256 = rows[0]
    path = Path(source)
    if not path.is_file():
        from yusuan.config import archived_source

        ((_, _, database),) = con.execute("PRAGMA database_list").fetchall()[:1]
        path = archived_source(Path(database).parent, doc_id) if database else None
        if path is None:
            raise LookupError(f"source file of {doc_id} is gone: {source}")
    if hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
        raise LookupError(f"source file of {doc_id} changed since extraction: {source}")
    return path


@dataclass
class DocumentAudit:
    document: DocumentMeta
    issues: list[Issue]
    origin: Literal["stored", "recomputed"]  # read from the store, or the source file audited again

    def payload(self) -> dict:
        """The body of `GET /documents/{id}/issues`."""
        return {"doc_id": self.document.doc_id, "source": self.document.source, "origin": self.origin,
                "count": len(self.issues), "issues": [issue.model_dump() for issue in self.issues]}


def stored_audit(con, doc_id: str, recompute: bool = False) -> DocumentAudit:
    """A stored document's issues: those stored at extraction, else (none stored: extracted before issues were
    stored, imported from a Ray dataset, or its audit failed) or when ``recompute``, its source file audited again.
    LookupError when the id is unknown, or when the source is needed and is gone or changed."""
    from yusuan.store.issues import read_issues

    from . import audit_path

    columns = ("doc_id", "source", "sha256", "department", "year", "doc_kind")
    row = con.execute(f"SELECT {', '.join(columns)} FROM documents WHERE doc_id = ?", [doc_id]).fetchone()
    if row is None:
        raise LookupError(f"unknown document {doc_id}")
    issues = None if recompute else read_issues(con, doc_id)
    if issues is not None:
        return DocumentAudit(DocumentMeta(**dict(zip(columns, row, strict=True))), issues, "stored")
    extraction, issues = audit_path(stored_source(con, doc_id))
    return DocumentAudit(extraction.document, issues, "recomputed")
