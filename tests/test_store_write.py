"""A writer's DuckDB keeps at most WRITER_MEMORY of buffers however much it writes (by default it kept every block it
wrote cached, and a batch's parent grew with the store)."""

from __future__ import annotations

import dataclasses

from yusuan.store import Store, document_rows, lock


def _copies(extractions, count: int):
    """``count`` distinct documents: the corpus's rows under new doc ids and sources."""
    seeds = [document_rows(extraction) for extraction in extractions.values()]
    for i in range(count):
        seed = seeds[i % len(seeds)]
        doc_id, source = f"{seed.doc_id}-{i}", f"{seed.source}-{i}"
        renamed = {seed.doc_id: doc_id, seed.source: source}
        yield dataclasses.replace(
            seed, doc_id=doc_id, source=source, document=[renamed.get(value, value) for value in seed.document],
            records={kind: [[f"{row[0]}-{i}", doc_id, *row[2:]] for row in rows] for kind, rows in seed.records.items()})


def _duckdb_mb(con) -> float:
    return con.execute("SELECT sum(memory_usage_bytes) / 2 ^ 20 FROM duckdb_memory()").fetchone()[0]


def test_a_writer_stays_within_its_memory_limit_and_still_commits_more_than_it(tmp_path, corpus_extractions,
                                                                               monkeypatch):
    limit_mb = 24  # small enough for this test's documents to fill it many times over
    monkeypatch.setattr(lock, "WRITER_MEMORY", f"{limit_mb}MB")
    store = Store(tmp_path / "yusuan.duckdb")
    documents = list(_copies(corpus_extractions, 1200))
    records = sum(len(rows) for document in documents for rows in document.records.values())
    with store.writing() as con:
        for start in range(0, 600, 100):  # a batch's commits: DuckDB does not keep what it wrote cached
            store.write(documents[start:start + 100])
            assert _duckdb_mb(con) <= limit_mb
        store.write(documents[600:])  # one transaction holding more than the limit
        assert _duckdb_mb(con) <= limit_mb
    assert sum(store.counts().values()) == records > 250_000
    assert not (tmp_path / "yusuan.duckdb.tmp").exists() or not any((tmp_path / "yusuan.duckdb.tmp").iterdir())
