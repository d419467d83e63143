from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
FIXTURES = ROOT / "eval" / "fixtures"
REALDOCS = ROOT.parent / "shared" / "realdocs"


def gold(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def corpus_extractions():
    from yusuan.extract import extract_path

    return {path.name[:3]: extract_path(path) for path in sorted(CORPUS.glob("*.txt"))}
