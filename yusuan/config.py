"""Where yusuan keeps its data."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATA_DIR = "yusuan-data"
DB_FILENAME = "yusuan.duckdb"
# uploaded files are not kept where they were received; the store keeps one copy per stored document, named by its
# doc_id, so the evidence viewer and the audit can re-read the page
ARCHIVE_DIRNAME = "sources"


def data_dir(explicit: str | Path | None = None) -> Path:
    path = Path(explicit or os.environ.get("YUSUAN_DATA") or DEFAULT_DATA_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_path(explicit: str | Path | None = None) -> Path:
    return data_dir(explicit) / DB_FILENAME


def archived_source(directory: Path, doc_id: str) -> Path | None:
    """The store's own copy of an uploaded document's file (``<data>/sources/<doc_id>.<ext>``), if there is one."""
    return next((path for path in sorted((directory / ARCHIVE_DIRNAME).glob(f"{doc_id}.*")) if path.is_file()), None)
