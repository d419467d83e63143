"""Ingest: bytes → positioned lines, paragraphs and table grids (:class:`yusuan.model.IngestedDocument`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from yusuan.model import IngestedDocument

from .errors import IngestError
from .text import ingest_text

TEXT_SUFFIXES = {".txt", ".md", ".text", ".csv", ".tsv"}


def ingest_path(path: str | Path) -> IngestedDocument:
    """Read one file and return its document model; raise :class:`IngestError` naming the reason."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(str(path), "read", f"cannot read file: {exc.strerror or exc}") from exc
    if not data.strip():
        raise IngestError(str(path), "read", "file is empty")
    sha256 = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        if suffix in TEXT_SUFFIXES or not suffix:
            reader = ingest_text
        else:
            raise IngestError(str(path), "read", f"unsupported file type '{suffix}'")
    return reader(str(path), data, sha256)


_READERS = {suffix: ingest_text for suffix in TEXT_SUFFIXES}

__all__ = ["IngestError", "ingest_path"]
