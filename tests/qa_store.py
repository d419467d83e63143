"""Shared helper: build a store from corpus/*.txt once per test session."""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def build_store(directory: Path) -> Path:
    from yusuan.config import db_path
    from yusuan.extract.batch import run_batch
    from yusuan.store import Store

    with Store(db_path(directory)) as store:
        run_batch(sorted(CORPUS.glob("*.txt")), store, workers=1)
    return directory
