"""The documents the search stage is tested (and benchmarked) on, written by the real pipeline.

`extract_into` runs `yusuan extract`'s bulk extraction (``run_batch``) into a data dir, so the ``documents`` table
the index reads — sources, sha256, department / region / year / doc_kind — is the store's own. Used by the session
fixtures in conftest.py and by bench/bench_search.py.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
QUERIES = REPO / "eval" / "search_queries.jsonl"


def shared_root() -> Path:
    """The folder holding ``realdocs/`` (where the search labels' ``realdocs/…`` sources are relative to)."""
    candidates = [Path(os.environ["YUSUAN_SHARED"])] if os.environ.get("YUSUAN_SHARED") else []
    candidates += [REPO / "shared", REPO.parent / "shared"]
    return next((c for c in candidates if (c / "realdocs").is_dir()), candidates[-1])


def corpus_paths() -> list[Path]:
    return sorted(CORPUS.glob("*.txt"))


def query_realdocs(queries: Path = QUERIES) -> list[str]:
    """The real PDFs labelled in the search query set, as ``realdocs/…`` (relative to `shared_root()`)."""
    sources = set()
    for line in queries.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("//"):
            sources.update(label["source"] for label in json.loads(line)["relevant"]
                           if label["source"].startswith("realdocs/"))
    return sorted(sources)


def all_realdocs() -> list[str]:
    root = shared_root()
    return sorted(str(p.relative_to(root)) for p in (root / "realdocs").rglob("*.pdf"))


def extract_into(data: Path, paths: Iterable[str | Path], cwd: Path | None = None, workers: int = 0,
                 force: bool = False) -> dict[str, dict[str, Any]]:
    """Extract ``paths`` (relative to ``cwd``, which becomes their ``source``) into the store of ``data`` with
    ``run_batch``; fail on any file that does not extract. Returns the ``documents`` rows by source."""
    from yusuan.config import db_path
    from yusuan.extract.batch import run_batch
    from yusuan.store import Store

    data = Path(data)
    data.mkdir(parents=True, exist_ok=True)
    paths = [Path(p) for p in paths]
    with contextlib.chdir(cwd or Path.cwd()), Store(db_path(data)) as store:
        result = run_batch(paths, store, workers=workers, force=force)
        if result.failed:
            raise RuntimeError("extraction failed: " + "; ".join(f"{o.source}: {o.stage}: {o.reason}"
                                                                 for o in result.failed))
        rows = store.documents().to_dict("records")
    return {row["source"]: row for row in rows}


def extract_search_documents(data: Path, realdocs: list[str] | None = None, workers: int = 2) -> dict[str, dict]:
    """The 5 text documents (sources ``corpus/…``) and ``realdocs`` (default: the PDFs of the query set, sources
    ``realdocs/…``) extracted into ``data``, as `yusuan extract corpus/*.txt` from the repo and
    `yusuan extract realdocs/…` from shared/ would."""
    realdocs = query_realdocs() if realdocs is None else realdocs
    root = shared_root()
    missing = [source for source in realdocs if not (root / source).is_file()]
    if missing:
        raise FileNotFoundError(f"real PDFs missing under {root}: {', '.join(missing)}")
    extract_into(data, [p.relative_to(REPO) for p in corpus_paths()], cwd=REPO)
    return extract_into(data, realdocs, cwd=root, workers=workers) if realdocs else extract_into(data, [])
