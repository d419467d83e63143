"""Where yusuan keeps its data."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATA_DIR = "yusuan-data"
DB_FILENAME = "yusuan.duckdb"


def data_dir(explicit: str | Path | None = None) -> Path:
    path = Path(explicit or os.environ.get("YUSUAN_DATA") or DEFAULT_DATA_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_path(explicit: str | Path | None = None) -> Path:
    return data_dir(explicit) / DB_FILENAME
