"""The extraction core on the bundled corpus, asserted against labels read off the documents (eval/fixtures)."""

from __future__ import annotations

import pytest
from conftest import gold

from yusuan.ingest.normalize import match_key


def _only(records, **where):
    found = [r for r in records if all(getattr(r, k) == v for k, v in where.items())]
    assert len(found) == 1, (where, found)
    return found[0]


def test_shaoxing_sangong_is_reception_only(corpus_extractions):
    records = corpus_extractions["000"].by_kind("sangong")
    total = _only(records, unit_name="合计")
    assert total.total == 22.50 and total.reception == 22.50
    assert total.overseas is None and total.vehicle_total is None  # blank cells are missing, not 0
    assert all(check.status == "pass" for check in total.checks)
    assert total.values["total"].raw == "22.50"
    assert total.provenance.line == 430


def test_shanhaiguan_row_oriented_sangong(corpus_extractions):
    record = _only(corpus_extractions["002"].by_kind("sangong"), unit_name="合计")
    assert (record.total, record.vehicle_operation, record.reception) == (11.30, 11.00, 0.30)
    assert record.vehicle_total is None and record.overseas is None


def test_shaoxing_projects_sum_to_project_spending(corpus_extractions):
    projects = [r for r in corpus_extractions["000"].by_kind("project") if r.table_kind == "项目支出表"]
    assert len(projects) == 18
    assert round(sum(p.amount for p in projects), 2) == 3599.92
    check = next(c for c in projects[0].checks if c.name == "projects_sum_vs_function_table")
    assert check.status == "pass" and check.expected == 3599.92


def test_narrative_discrepancy_is_reported_not_fixed(corpus_extractions):
    extraction = corpus_extractions["000"]
    fact = next(f for f in extraction.by_kind("fact") if f.subject.endswith("基本支出") and f.value == 1677.21)
    check = next(c for c in fact.checks if c.name.startswith("narrative_vs_table"))
    assert check.status == "fail" and check.expected == 1677.22 and check.actual == 1677.21
    table_total = _only(extraction.by_kind("function_line"), table_kind="一般公共预算支出表", code=None)
    assert table_total.basic == 1677.22


def test_yuan_document_normalised_to_wanyuan(corpus_extractions):
    extraction = corpus_extractions["001"]
    assert extraction.document.unit_original == "元"
    record = _only(extraction.by_kind("project"), name="选调工作经费")
    assert record.amount == pytest.approx(87.345, abs=1e-9)
    assert record.values["amount"].raw == "873450.00" and record.values["amount"].unit_original == "元"


@pytest.mark.parametrize(
    "doc,fixture",
    [("000", "000_acf85bf0026b4684.json"), ("002", "002_6885cbf63360e79d.json")],
)
@pytest.mark.parametrize("kind", ["function_line", "econ_line"])
def test_every_coded_line_matches_gold(corpus_extractions, doc, fixture, kind):
    labels = gold(fixture)["records"][kind]
    extracted = {(r.table_kind, r.code or match_key(r.name)): r for r in corpus_extractions[doc].by_kind(kind)}
    for label in labels:
        key = (label["table_kind"], label.get("code") or match_key(label["name"]))
        assert key in extracted, key
        record = extracted[key]
        for field in ("total", "basic", "personnel", "public", "project"):
            if field in label:
                assert getattr(record, field) == label[field], (key, field)


@pytest.mark.parametrize(
    "doc,fixture",
    [("000", "000_acf85bf0026b4684.json"), ("001", "001_c2afe28920123285.json"),
     ("003", "003_8a020ea769aa04f9.json"), ("004", "004_0851205fe117d4ca.json")],
)
def test_indicators_split_operator_and_value(corpus_extractions, doc, fixture):
    labels = gold(fixture)["records"]["indicator"]
    extracted = {}
    for record in corpus_extractions[doc].by_kind("indicator"):
        extracted.setdefault((match_key(record.project), record.period, match_key(record.level3)), record)
    found = 0
    for label in labels:
        record = extracted.get((match_key(label["project"]), label.get("period"), match_key(label["level3"])))
        if record is None:
            continue
        found += 1
        assert (record.operator, match_key(record.value)) == (label["operator"], match_key(label["value"])), label
    assert found >= 0.9 * len(labels), f"only {found} of {len(labels)} labelled indicators extracted"


def test_key_value_funding_blocks(corpus_extractions):
    projects = corpus_extractions["004"].by_kind("project")
    whole = _only(projects, name="部门整体", table_kind="整体绩效目标表")
    assert whole.amount == 14379.06 and whole.funding["一般公共预算资金"] == 14379.06
    basic = _only(projects, name="基本支出")
    assert (basic.amount, basic.half_year_plan) == (8728.56, 4000)
    office = _only(projects, name="部机关业务费", table_kind="绩效目标表")
    assert office.amount == 715.07 and office.half_year_plan == 220


def test_document_metadata_inferred_with_reasons(corpus_extractions):
    meta = corpus_extractions["001"].document
    assert (meta.department, meta.region, meta.year) == ("中共绍兴市委组织部", "绍兴市", 2019)
    assert "绍兴" in meta.inferred["region"].evidence
    shanhaiguan = corpus_extractions["002"].document
    assert (shanhaiguan.department, shanhaiguan.level, shanhaiguan.year) == ("中共秦皇岛市山海关区委组织部", "区", 2023)
