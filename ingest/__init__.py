"""Ingest: bytes → positioned lines, paragraphs and table grids (:class:`yusuan.model.IngestedDocument`).

Readers are chosen by file suffix and then check the content (a ``.pdf`` must start with ``%PDF-``, an
``.xlsx`` must be a zip workbook or another real workbook, …); a web page is read as HTML whatever it is called
(``.jsp``, ``.shtml``, a page saved under a ``.pdf`` name); anything unreadable raises :class:`IngestError`
naming the file, the stage and the reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from yusuan.model import IngestedDocument

from .errors import IngestError
from .office import ingest_docx, ingest_html, ingest_spreadsheet, is_html
from .pdf import ingest_pdf
from .text import ingest_text

TEXT_SUFFIXES = {".txt", ".md", ".text", ".csv", ".tsv"}
HTML_SUFFIXES = {".html", ".htm", ".shtml", ".xhtml", ".jsp", ".asp", ".aspx", ".php"}
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls"}  # their reader sniffs HTML itself

Reader = Callable[[str, bytes, str], IngestedDocument]


def ingest_path(path: str | Path, ocr_page_limit: int | None = None) -> IngestedDocument:
    """Read one file and return its document model; raise :class:`IngestError` naming the reason.

    ``ocr_page_limit``: OCR at most this many scanned pages of a PDF (a preview to decide what the file is; the rest are
    listed in ``ocr_deferred``)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(str(path), "read", f"cannot read file: {exc.strerror or exc}") from exc
    if not data.strip():
        raise IngestError(str(path), "read", "file is empty")
    sha256 = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    if suffix not in HTML_SUFFIXES | SPREADSHEET_SUFFIXES and is_html(data):
        document = ingest_html(str(path), data, sha256)
        document.warnings.insert(0, f"'{suffix or path.name}' file is an HTML page; read as HTML")
        return document
    reader = _READERS.get(suffix)
    if reader is None:
        if suffix in TEXT_SUFFIXES or not suffix:
            reader = ingest_text
        else:
            raise IngestError(str(path), "read", f"unsupported file type '{suffix}'")
    if reader is ingest_pdf:
        return ingest_pdf(str(path), data, sha256, ocr_page_limit=ocr_page_limit)
    return reader(str(path), data, sha256)


_READERS: dict[str, Reader] = {suffix: ingest_text for suffix in TEXT_SUFFIXES}
_READERS.update(
    {
        ".pdf": ingest_pdf,
        ".xlsx": ingest_spreadsheet,
        ".xlsm": ingest_spreadsheet,
        ".xls": ingest_spreadsheet,
        ".docx": ingest_docx,
    }
)
_READERS.update({suffix: ingest_html for suffix in HTML_SUFFIXES})

__all__ = ["IngestError", "ingest_path"]
