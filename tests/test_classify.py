"""Which files of a crawl are budget disclosures, and what they are: the 85 files of ../shared/realdocs/cities-2026
(16 cities; notices, bulletins, forms and web pages saved as .pdf among the budgets) against the hand-labelled truth
in tests/data/cities2026_truth.json.

The folder is extracted once per module by the real bulk extractor (two worker processes) with OCR off: OCR of the
19-page scanned notice takes many minutes on two busy cores, and a scan that yields no text must stay a clear
per-file problem (reported as needing OCR), never a budget with invented metadata."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pandas as pd
import pytest
from conftest import REALDOCS

from yusuan.extract.batch import collect_files, run_batch, write_error_report
from yusuan.ingest import ingest_path
from yusuan.store import Store

CITIES = REALDOCS / "cities-2026"
TRUTH = Path(__file__).parent / "data" / "cities2026_truth.json"
SITE_WORDS = ("首页", "登录", "无障碍", "网站地图", "版权所有", "国务院部门网站", "您当前的位置")


def _same(text: str | None) -> str | None:
    return unicodedata.normalize("NFKC", text) if text else text


@pytest.fixture(scope="module")
def truth() -> dict[str, dict]:
    return {entry["file"]: entry for entry in json.loads(TRUTH.read_text(encoding="utf-8"))}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """(outcomes by file relative to the folder, stored documents by the same key, errors.jsonl entries)."""
    data = tmp_path_factory.mktemp("cities")
    with pytest.MonkeyPatch.context() as patch, Store(data / "yusuan.duckdb") as store:
        patch.setenv("YUSUAN_OCR", "0")  # the workers inherit it
        result = run_batch(collect_files([CITIES]), store, workers=2, timeout=600)
        report = write_error_report(result, data)
        frame = store.documents()
    def key(source: str) -> str:
        return str(Path(source).relative_to(CITIES))
    outcomes = {key(o.source): o for o in result.outcomes}
    documents = {key(row["source"]): row for row in frame.to_dict("records")}
    errors = {key(entry["source"]): entry for entry in map(json.loads, report.read_text(encoding="utf-8").splitlines())}
    return outcomes, documents, errors


def test_every_file_is_labelled(truth):
    files = {str(path.relative_to(CITIES)) for path in CITIES.rglob("*") if path.is_file() and path.name != "SOURCES.md"}
    assert set(truth) == files


def test_no_file_that_is_not_a_budget_is_stored(batch, truth):
    outcomes, documents, errors = batch
    assert "SOURCES.md" not in documents and outcomes["SOURCES.md"].status == "not_budget"
    others = [name for name, entry in truth.items() if not entry["is_disclosure"] and entry["format"] != "scan"]
    assert len(others) >= 16
    stored = [name for name in others if name in documents]
    assert stored == []
    for name in others:
        assert outcomes[name].status == "not_budget", (name, outcomes[name])
        assert errors[name]["status"] == "not_budget"
        assert errors[name]["reason"].startswith("not a budget disclosure: "), errors[name]


def test_a_scan_without_text_is_reported_as_needing_ocr(batch, truth):
    outcomes, documents, errors = batch
    scans = [name for name, entry in truth.items() if entry["format"] == "scan"]
    assert scans
    for name in scans:
        outcome = outcomes[name]
        assert outcome.pages_needing_ocr == list(range(1, outcome.pages + 1)) and outcome.pages > 1, outcome
        assert errors[name]["pages_needing_ocr"] == outcome.pages_needing_ocr
        inferred = json.loads(documents[name]["inferred"])
        assert inferred["disclosure"]["how"].startswith("scanned pages with too little text")
        assert pd.isna(documents[name]["department"]) and pd.isna(documents[name]["year"])


def test_every_disclosure_is_stored_with_year_kind_and_cover_department(batch, truth):
    _, documents, _ = batch
    disclosures = {name: entry for name, entry in truth.items() if entry["is_disclosure"]}
    assert len(disclosures) >= 68
    wrong = {}
    for name, entry in disclosures.items():
        document = documents.get(name)
        got = None if document is None else (_same(document["department"]), document["year"], document["doc_kind"])
        want = (_same(entry["department"]), entry["year"], entry["doc_kind"])
        if got != want:
            wrong[name] = (got, want)
    assert wrong == {}


def test_coverage_names_the_standard_tables_of_each_document(batch, truth):
    _, documents, _ = batch
    for name, entry in truth.items():
        if not entry["is_disclosure"]:
            continue
        coverage = json.loads(documents[name]["coverage"])
        assert coverage["standard"] == "预算"
        assert len(coverage["found"]) + len(coverage["missing"]) == 9
        if entry["format"] == "html":  # landing pages link the tables as attachments
            assert coverage["found"] == [], name
        elif entry.get("has_sangong_table"):
            assert "三公经费表" in coverage["found"], (name, coverage)
        if entry.get("has_summary_table"):
            assert "收支总表" in coverage["found"], (name, coverage)


def test_web_pages_saved_as_pdf_are_read_as_html_without_the_site(truth):
    pages = [name for name, entry in truth.items() if entry["format"] == "html"]
    assert len(pages) == 8
    for name in pages:
        document = ingest_path(CITIES / name)
        assert document.layout == "html" and document.warnings[0] == "'.pdf' file is an HTML page; read as HTML"
        lines = [line.text for line in document.text_lines()]
        assert "预算" in lines[0] and "2026" in lines[0], (name, lines[:3])
        assert not any(word in line for line in lines for word in SITE_WORDS), (name, lines)


PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>某区财政局2026年部门预算公开 - 某区人民政府</title></head>
<body>
<div class="header"><a href="/">首页</a> <a href="/gk">政务公开</a> <span>无障碍</span></div>
<ul class="menu"><li><a href="/a">机构概况</a></li><li><a href="/b">政策文件</a></li><li><a href="/c">预算/决算</a></li></ul>
<div class="main">
  <div class="position">您当前的位置：<a href="/">首页</a> &gt; <a href="/ys">预算公开</a></div>
  <div class="article">
    <h1>某区财政局2026年部门预算公开</h1>
    <p>2026年某区财政局收入预算合计1,234.56万元。</p>
    <p>表一 部门收支总表</p><p>单位：万元</p>
    <table><tr><td>项目</td><td>预算数</td></tr><tr><td>收入总计</td><td>1,234.56</td></tr>
    <tr><td>支出总计</td><td>1,234.56</td></tr></table>
  </div>
</div>
<div class="footer"><p>版权所有：某区人民政府</p><ul><li><a href="/x">国务院部门网站</a></li><li><a href="/y">外交部</a></li></ul></div>
<script>var nav = "首页";</script>
</body></html>"""


@pytest.mark.parametrize("suffix", [".jsp", ".shtml", ".pdf", ".html"])
def test_a_web_page_keeps_its_article_paragraphs_and_tables(tmp_path, suffix):
    path = tmp_path / f"page{suffix}"
    path.write_text(PAGE, encoding="utf-8")
    document = ingest_path(path)
    assert document.layout == "html"
    lines = [line.text for line in document.text_lines()]
    assert lines[:2] == ["某区财政局2026年部门预算公开", "2026年某区财政局收入预算合计1,234.56万元。"]
    assert not any(word in line for line in lines for word in SITE_WORDS)
    (grid,) = [block.grid for block in document.blocks if block.kind == "table"]
    assert grid.title == "表一部门收支总表"
    assert [[cell.text for cell in row] for row in grid.rows] == [
        ["项目", "预算数"], ["收入总计", "1,234.56"], ["支出总计", "1,234.56"]]


def test_a_scanned_notice_is_turned_away_after_reading_two_pages(truth, monkeypatch):
    """OCR is the cost of a scan (≈50 s a page here): the file is classified on its first pages, and a notice is not
    read to the end."""
    pytest.importorskip("rapidocr_onnxruntime")
    from yusuan.extract.worker import OCR_PREVIEW_PAGES, extract_one

    monkeypatch.delenv("YUSUAN_OCR", raising=False)
    (name,) = [name for name, entry in truth.items() if entry["format"] == "scan"]
    assert not truth[name]["is_disclosure"]
    extraction, outcome = extract_one(str(CITIES / name), timeout=600)
    assert extraction is None and outcome.status == "not_budget", outcome
    assert f"decided on the first {OCR_PREVIEW_PAGES} OCR'd pages" in outcome.reason
    assert outcome.pages > OCR_PREVIEW_PAGES
