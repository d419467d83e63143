"""Every real PDF in ../shared/realdocs ingests and extracts, and each yields the record kinds its tables and text hold.

The 37 documents are extracted once per session in a process pool (about a minute on two cores)."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

import pytest
from conftest import REALDOCS

# the 37 PDFs of the first collection; cities-2026/ (a crawl of other cities) is tested in test_classify.py
ORIGINAL_FOLDERS = ("jiangsu-open-budget", "shanghai-*")
TABLE_KINDS = ("budget_total", "function_line", "econ_line", "sangong")
# Jiangsu publishes some years as two PDFs: the narrative (…公开文件 / …部门预算.pdf) and the tables (…公开表).
NARRATIVE_ONLY = (
    "江苏省人大常委会2019年度部门预算公开.pdf",
    "江苏省委办公厅2017年部门预算.pdf",
    "江苏省委办公厅2018年度部门预算公开文件.pdf",
    "江苏省委办公厅2019年度部门预算公开文件.pdf",
    "江苏省政协办公厅2017年度部门预算.pdf",
    "江苏省政协办公厅2018年度部门预算.pdf",
    "江苏省政协办公厅2019年度部门预算.pdf",
)
TABLES_ONLY = ("公开表.pdf", "公开表格.pdf")
# Its 三公 决算表 prints every cell blank ("本年度没有财政拨款“三公”经费支出，故本表无数据"): no figures, no record.
BLANK_SANGONG = "中共上海市普陀区委社会工作部 2024 年度部门决算.pdf"


def _summarise(path: str) -> dict:
    from yusuan.extract import extract_document
    from yusuan.ingest import ingest_path

    started = time.perf_counter()
    document = ingest_path(path)
    extraction = extract_document(document)
    failing_records = [r for r in extraction.records if any(c.status == "fail" for c in r.checks)]
    return {
        "name": path.rsplit("/", 1)[-1],
        "seconds": time.perf_counter() - started,
        "pages": document.pages,
        "needs_ocr": document.pages_needing_ocr,
        "cid_warnings": [w for w in document.warnings if "(cid:)" in w],
        "kinds": Counter(record.kind for record in extraction.records),
        "meta": extraction.document,
        "records": len(extraction.records),
        "failing_records": len(failing_records),
        "checks": sum(len(r.checks) for r in extraction.records),
    }


@pytest.fixture(scope="module")
def summaries() -> list[dict]:
    files = sorted(str(path) for folder in ORIGINAL_FOLDERS for path in REALDOCS.glob(f"{folder}/**/*.pdf"))
    with ProcessPoolExecutor(2) as pool:
        return list(pool.map(_summarise, files))


def test_all_37_pdfs_ingest_cleanly(summaries):
    assert len(summaries) == 37
    for summary in summaries:
        assert summary["pages"] > 0, summary["name"]
        assert summary["seconds"] < 60, summary["name"]
        assert not summary["needs_ocr"], summary["name"]
        assert not summary["cid_warnings"], summary["name"]


def test_each_document_yields_the_kinds_it_prints(summaries):
    for summary in summaries:
        name, kinds = summary["name"], summary["kinds"]
        if name not in NARRATIVE_ONLY:
            expected = [kind for kind in TABLE_KINDS if not (kind == "sangong" and name == BLANK_SANGONG)]
            assert all(kinds[kind] for kind in expected), (name, dict(kinds))
        if not name.endswith(TABLES_ONLY):
            assert kinds["fact"] >= 20, (name, dict(kinds))


def test_metadata_is_inferred(summaries):
    for summary in summaries:
        meta = summary["meta"]
        assert meta.department and meta.region and meta.level and meta.year, (summary["name"], meta)
        if "jiangsu-open-budget" in meta.source:
            assert meta.region == "江苏省" and meta.level == "省", summary["name"]
        else:
            assert meta.region.startswith("上海市"), summary["name"]
        assert meta.unit_original in ("万元", "元", None)
        assert meta.doc_kind in ("部门预算", "单位预算", "部门决算"), summary["name"]


def test_checks_cover_the_records_and_mostly_pass(summaries):
    """Failed checks are real discrepancies printed in the documents (the GovBudgetChecker set has planted ones);
    a parsing error shows up as a burst of failures, so keep them rare."""
    checks = sum(s["checks"] for s in summaries)
    records = sum(s["records"] for s in summaries)
    failing = sum(s["failing_records"] for s in summaries)
    assert checks > 5000
    assert failing / records < 0.01, failing
    for summary in summaries:
        assert summary["failing_records"] <= 0.1 * summary["records"], summary["name"]
