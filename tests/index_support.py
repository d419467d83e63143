"""Test-only helper: a ``documents`` table like the store's, so the index can be tested before/without extract.

Metadata (department, region, year, doc_kind …) comes from the hand-labelled fixtures in eval/fixtures when one
matches the file's sha256, else stays null. The real table is written by `yusuan extract` (store/).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
FIXTURES = REPO / "eval" / "fixtures"

DOCUMENTS_DDL = (
    "CREATE TABLE IF NOT EXISTS documents(doc_id TEXT, source TEXT, sha256 TEXT, department TEXT, region TEXT, "
    "level TEXT, year INTEGER, doc_kind TEXT, unit_original TEXT, layout TEXT, pages INTEGER, inferred TEXT, "
    "warnings TEXT, extractor_version TEXT)"
)


def realdocs_root() -> Path | None:
    for candidate in (REPO / "shared" / "realdocs", REPO.parent / "shared" / "realdocs"):
        if candidate.is_dir():
            return candidate
    return None


def fixture_meta() -> dict[str, dict[str, Any]]:
    """sha256 → the fixture's document metadata."""
    out = {}
    for path in sorted(FIXTURES.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("sha256"):
            out[data["sha256"]] = dict(data.get("document") or {})
    return out


def realdocs_meta() -> dict[str, dict[str, Any]]:
    """File name → department/year/doc_kind read from realdocs/SOURCES.md ("what it is" column), standing in
    for the metadata `yusuan extract` infers."""
    import re

    root = realdocs_root()
    if root is None or not (root / "SOURCES.md").exists():
        return {}
    out: dict[str, dict[str, Any]] = {}
    for line in (root / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 7 or not cells[1].startswith("`") or not cells[1].endswith(".pdf`"):
            continue
        name = cells[1].strip("`").split("/")[-1]
        what = cells[5]
        head = what.split("—")[0].strip()
        department = re.sub(r"\s*\(.*$", "", head).replace("上海市普陀区 万里街道办事处", "上海市普陀区人民政府万里街道办事处")
        year = re.search(r"(20\d\d)", what.split("—", 1)[-1])
        kind = "部门决算" if "决算" in what else "单位预算" if "单位预算" in what else "部门预算"
        out[name] = {"department": department, "year": int(year.group(1)) if year else None, "doc_kind": kind,
                     "region": "上海市" if "上海" in department else "江苏省"}
    return out


def register_documents(
    data_dir: Path,
    paths: Iterable[Path | str],
    meta: Mapping[str, Mapping[str, Any]] | None = None,
    source_of=None,
) -> list[dict[str, Any]]:
    """Insert (or replace, by source) one documents row per file. ``meta`` maps a file name or source to extra
    columns; ``source_of(path)`` gives the source string to store (default: the path as given)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    labels = fixture_meta()
    sources_md = realdocs_meta()
    rows = []
    con = duckdb.connect(str(data_dir / "yusuan.duckdb"))
    try:
        con.execute(DOCUMENTS_DDL)
        for path in paths:
            path = Path(path)
            raw = path.read_bytes()
            sha = hashlib.sha256(raw).hexdigest()
            source = source_of(path) if source_of else str(path)
            row: dict[str, Any] = {
                "doc_id": sha[:16],
                "source": source,
                "sha256": sha,
                "layout": "pdf" if path.suffix.lower() == ".pdf" else "text",
                "pages": 1,
                "inferred": "{}",
                "warnings": "[]",
                "extractor_version": "tests",
            }
            row.update(sources_md.get(path.name, {}))
            row.update({k: v for k, v in labels.get(sha, {}).items() if k in ("department", "region", "level",
                                                                               "year", "doc_kind", "unit_original")})
            extra = (meta or {}).get(path.name) or (meta or {}).get(source) or {}
            row.update(extra)
            con.execute("DELETE FROM documents WHERE source = ?", [source])
            columns = list(row)
            con.execute(
                f"INSERT INTO documents ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                [row[c] for c in columns],
            )
            rows.append(row)
    finally:
        con.close()
    return rows


def remove_document(data_dir: Path, source: str) -> None:
    con = duckdb.connect(str(Path(data_dir) / "yusuan.duckdb"))
    try:
        con.execute("DELETE FROM documents WHERE source = ?", [source])
    finally:
        con.close()


def corpus_paths() -> list[Path]:
    return sorted(CORPUS.glob("*.txt"))


def realdoc_paths() -> list[Path]:
    root = realdocs_root()
    return sorted(root.rglob("*.pdf")) if root else []


def repo_relative(path: Path) -> str:
    """The eval/fixture convention: corpus/… relative to the repo, realdocs/… relative to shared/."""
    path = Path(path).resolve()
    text = str(path)
    if "/realdocs/" in text:
        return text[text.index("realdocs/") :]
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return text
