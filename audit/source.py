"""Where an audit reads from: a file, or a stored document's source file re-read (issues are computed on demand;
the store keeps records, not the ingested layout the text rules need)."""

from __future__ import annotations

from pathlib import Path


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


def stored_issues(con, doc_id: str) -> dict:
    """`GET /documents/{id}/issues`: the stored document's source re-read and audited."""
    from . import audit_path

    extraction, issues = audit_path(stored_source(con, doc_id))
    return {"doc_id": doc_id, "source": extraction.document.source, "count": len(issues),
            "issues": [issue.model_dump() for issue in issues]}
