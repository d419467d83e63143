"""`yusuan audit` on real PDFs: real findings read in the documents are found, clean documents raise at most one
false alarm, errors planted in copies are found; the CLI, the annotated PDF and the API route work end to end."""

from __future__ import annotations

import json

import pytest
import typer
from conftest import REALDOCS, ROOT
from typer.testing import CliRunner

from yusuan.audit import audit_document
from yusuan.audit.evaluate import FamilyScore, apply_edits, load_fixtures, score_document
from yusuan.audit.model import FAMILIES
from yusuan.extract import extract_document

PUTUO = REALDOCS / "shanghai-putuo-GovBudgetChecker"
DEPT_BUDGET = PUTUO / "dept_budget.pdf"
FINAL_ACCOUNTS = PUTUO / "上海市普陀区财政局2024年度部门决算.pdf"
FIXTURES = {fixture.name: fixture for fixture in load_fixtures(ROOT / "eval" / "audit")}


def audit(doc):
    return audit_document(doc, extract_document(doc))


def test_budget_text_errors_found(ingested):
    issues = audit(ingested(DEPT_BUDGET))
    messages = [(issue.rule_id, issue.page, issue.message) for issue in issues]
    # 其他司法支出: 上年执行数 printed 43269.3 (3269.3), so "增加17.62%" is backwards
    assert any(rule == "TA01" and page == 9 and "43269.3" in text and "方向相反" in text for rule, page, text in messages)
    # 住房公积金 opens with 208.8万元 and later says 预算安排201.50万元
    assert any(rule == "TA04" and "208.8" in text and "201.50" in text for rule, _, text in messages)
    # the old 科目 name in the text against the table's 210 卫生健康支出
    assert any(rule == "TL08" and "医疗卫生与计划生育支出" in text and "卫生健康支出" in text for rule, _, text in messages)
    # "比2026年预算增加" in a 2026 budget compares with the wrong year
    assert any(rule == "TL06" and page == 8 for rule, page, _ in messages)
    found = next(issue for issue in issues if issue.rule_id == "TA04")
    assert found.bbox is not None and {value.label for value in found.values} == {"开头金额", "预算安排"}


def test_final_accounts_text_contradicts_table(ingested):
    issues = audit(ingested(FINAL_ACCOUNTS))
    stated = next(issue for issue in issues if issue.rule_id == "TT01")
    assert stated.page == 21 and "0.3万元" in stated.message
    assert [value.value for value in stated.values] == [0.3, 2961.68]
    assert any(issue.rule_id == "TA05" and "71.73" in issue.message for issue in issues)
    # 326.71 vs 326.72 for the same 类 in two tables is a rounding difference, never an issue
    assert not any(issue.family == "cross_table" for issue in issues)


@pytest.mark.parametrize("name", ["putuo_qfb_2025_unit_real.json", "putuo_shgzb_2024_final_real.json", "putuo_sfj_2026_dept_real.json"])
def test_real_documents_at_most_one_false_alarm(ingested, name):
    fixture = FIXTURES[name]
    issues = audit(ingested(REALDOCS / fixture.source.removeprefix("realdocs/")))
    result = score_document(fixture, issues, {family: FamilyScore() for family in FAMILIES})
    assert len(result.false_alarms) <= 1, result.false_alarms
    assert result.found == result.findings, result.missed


@pytest.mark.parametrize("name", ["putuo_czj_2024_final_planted.json", "putuo_sfj_2026_dept_planted.json"])
def test_planted_errors_found(ingested, name):
    fixture = FIXTURES[name]
    original = ingested(REALDOCS / fixture.source.removeprefix("realdocs/"))
    issues = audit(apply_edits(original, fixture.edits))
    result = score_document(fixture, issues, {family: FamilyScore() for family in FAMILIES})
    assert result.missed == []
    assert len(result.false_alarms) <= 1, result.false_alarms
    # the edits touched a copy: the original still reads as printed
    assert not any("XX局" in line.text or "××" in line.text for line in original.text_lines())


def test_edit_must_hit_one_place(ingested):
    from yusuan.audit.evaluate import Edit

    with pytest.raises(ValueError, match="matches"):
        apply_edits(ingested(DEPT_BUDGET), [Edit(page=10, find="0.00", replace="1.00")])


def test_cli_json_and_annotated_pdf(tmp_path):
    import pypdfium2

    from yusuan.audit import cli

    app = typer.Typer()
    cli.register(app)
    annotated = tmp_path / "boxed.pdf"
    result = CliRunner().invoke(app, [str(FINAL_ACCOUNTS), "--format", "json", "--annotate", str(annotated)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["document"]["year"] == 2024
    assert any(issue["rule_id"] == "TT01" for issue in payload["issues"])
    pdf = pypdfium2.PdfDocument(str(annotated))
    assert len(pdf) == 25
    pdf.close()


def test_api_issues_route(tmp_path):
    from fastapi.testclient import TestClient

    from yusuan.api.app import create_app
    from yusuan.extract import extract_path
    from yusuan.store import Store

    data = tmp_path / "data"
    data.mkdir()
    extraction = extract_path(FINAL_ACCOUNTS)
    with Store(data / "yusuan.duckdb") as store:
        store.replace(extraction)
    with TestClient(create_app(data)) as client:
        response = client.get(f"/documents/{extraction.document.doc_id}/issues")
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == len(body["issues"]) and any(issue["rule_id"] == "TT01" for issue in body["issues"])
        assert client.get("/documents/0000000000000000/issues").status_code == 404


def test_a_file_that_cannot_be_read_is_one_line_naming_it(tmp_path):
    from yusuan.audit import cli

    app = typer.Typer()
    cli.register(app)
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"garbage")
    result = CliRunner().invoke(app, [str(bad)])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {bad}: not a PDF (starts with b'garbage')"
