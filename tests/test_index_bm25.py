"""BM25 over jieba tokens with the budget-term user dictionary."""

from __future__ import annotations

import numpy as np
import pytest

from yusuan.index.bm25 import BM25Index, expand_query, get_tokenizer, load_terms, tokenize


def test_budget_terms_are_single_tokens():
    tok = get_tokenizer()
    assert "公务接待费" in tok.segment("2022年安排公务接待费预算22.50万元")
    assert "公务" not in tok.segment("安排公务接待费预算")  # not split by the precise cut
    assert "三公经费" in tok.segment("“三公”经费预算数为22.50万元")
    assert "因公出国境费用" in tok.segment("因公出国(境)费用预算0.00万元")  # brackets do not break the term
    assert "因公出国境费" in tok.segment("因公出国（境）费")  # full-width brackets too
    assert "机关运行经费" in tok.segment("机关运行经费财政拨款预算")
    # search mode adds the words inside a term, so a partial query still matches
    tokens = tokenize("安排公务接待费预算")
    assert {"公务接待费", "接待"} <= set(tokens)
    assert "的" not in tokenize("单位的职能")


def test_user_dictionary_is_shipped():
    terms = {term for term, _ in load_terms()}
    for term in ("三公经费", "公务接待费", "机关运行经费", "因公出国(境)费", "公务用车运行维护费", "一般公共预算",
                 "政府性基金", "项目支出", "基本支出", "绩效目标"):
        assert term in terms


DOCS = [
    "2022年安排公务接待费预算22.50万元，主要用于国内公务接待支出。",
    "因公出国(境)费用预算0.00万元，与上年执行数持平。",
    "住房公积金150.64万元，主要用于职工住房公积金支出。",
    "机关运行经费财政拨款预算305.85万元。",
    "接待群众来访。",
]


@pytest.mark.parametrize("backend", ["bm25s", "numpy"])
def test_bm25_ranking_and_filter(backend, tmp_path):
    if backend == "bm25s":
        pytest.importorskip("bm25s")
    ids = np.array([10, 11, 12, 13, 14])
    index = BM25Index.build(ids, [tokenize(d) for d in DOCS], backend=backend, fingerprint="f1")
    assert index.backend_name == backend
    top = index.search("公务接待费", k=3)
    assert top[0][0] == 10
    assert index.search("出国", k=1)[0][0] == 11
    assert index.search("量子计算", k=3) == []
    assert [pid for pid, _ in index.search("接待", k=5, allowed=np.array([14]))] == [14]
    index.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    assert loaded is not None and loaded.fingerprint == "f1" and loaded.backend_name == backend
    assert loaded.search("公务接待费", k=3) == top


def test_backends_agree():
    pytest.importorskip("bm25s")
    tokens = [tokenize(d) for d in DOCS]
    a = BM25Index.build(np.arange(5), tokens, backend="bm25s").scores("公务接待费 住房公积金")
    b = BM25Index.build(np.arange(5), tokens, backend="numpy").scores("公务接待费 住房公积金")
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_query_expansion():
    assert "公务接待费" in expand_query("请客吃饭的费用")
    assert "因公出国(境)费" in expand_query("出国花了多少")
    assert "主要职能" in expand_query("单位是干什么的")
    assert expand_query("公务接待费") == "公务接待费"  # nothing to add
