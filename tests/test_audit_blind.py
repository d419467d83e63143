"""The audit on four real PDFs whose checklists were written blind (every page read, the arithmetic redone by hand,
before the tool was run on them): most findings are found, at most one false alarm per document, and the rules
added for them (shares of a table total, organ names, the note of an empty table, 款/项 names, brackets and units,
line-by-line agreement of the spending tables) report what they should."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REALDOCS, ROOT

from yusuan.audit import audit_document
from yusuan.audit.evaluate import Edit, FamilyScore, apply_edits, load_fixtures, score_document
from yusuan.audit.model import FAMILIES
from yusuan.extract import extract_document

FIXTURES = {fixture.name: fixture for fixture in load_fixtures(ROOT / "eval" / "audit")}
BLIND = sorted(name for name, fixture in FIXTURES.items() if fixture.labelled_by.startswith("blind"))
PUTUO = REALDOCS / "shanghai-putuo-GovBudgetChecker"
PLANNING_FINAL = PUTUO / "上海市普陀区规划和自然资源局 2024 年度部门决算.pdf"
FINANCE_BUDGET = REALDOCS / "shanghai-tianbaoxitong" / "上海市普陀区财政局部门25年预算.pdf"
PROCURATORATE_2017 = REALDOCS / "jiangsu-open-budget" / "江苏省人民检察院" / "2017年省检察院部门预算.pdf"


@pytest.fixture(scope="module")
def audited(ingested):
    cache: dict[str, list] = {}

    def run(path: Path):
        if str(path) not in cache:
            doc = ingested(path)
            cache[str(path)] = audit_document(doc, extract_document(doc))
        return cache[str(path)]

    return run


def test_blind_fixtures_exist():
    assert len(BLIND) >= 4
    assert all(FIXTURES[name].kind == "real" and FIXTURES[name].complete for name in BLIND)


def test_blind_checklists(audited):
    families = {family: FamilyScore() for family in FAMILIES}
    results = [score_document(FIXTURES[name], audited(REALDOCS / FIXTURES[name].source.removeprefix("realdocs/")), families)
               for name in BLIND]
    assert all(len(result.false_alarms) <= 1 for result in results), [result.false_alarms for result in results]
    # what is left are misspellings and garbled sentences no rule reads (士地 for 土地, 上一度 for 上一年度)
    found, findings = sum(result.found for result in results), sum(result.findings for result in results)
    assert found >= 0.7 * findings, [result.missed for result in results]
    assert all(families[family].found == families[family].findings for family in ("text_table", "completeness"))


def test_share_of_a_table_total(audited):
    shares = [issue for issue in audited(PROCURATORATE_2017) if issue.rule_id == "TA05"]
    # 317.8 and 156.55 of the 三公 table's 584.35 are 54.39% and 26.79%, printed 54.43% and 26.72%
    assert {("54.43" in issue.message, "26.72" in issue.message) for issue in shares} == {(True, False), (False, True)}
    assert all(any(value.value == 584.35 for value in issue.values) for issue in shares)


def test_organ_names_in_titles_and_text(audited):
    issues = [issue for issue in audited(PLANNING_FINAL) if issue.rule_id == "TL11"]
    assert {issue.page for issue in issues} == {7, 26}
    title = next(issue for issue in issues if issue.page == 7)
    assert "上海市规划和自然资源局" in title.message and "上海市普陀区规划和自然资源局" in title.message
    assert "规划与自然资源局" in next(issue for issue in issues if issue.page == 26).message


def test_subject_names_checked_level_by_level(audited):
    issues = [issue for issue in audited(PLANNING_FINAL) if issue.rule_id == "TL08"]
    # "住房保障支出(类)住房保障支出(款)住房公积金(项)": the 款 of 221 in the table is 住房改革支出
    assert any(issue.page == 24 and "住房改革支出" in issue.message for issue in issues)
    assert any(issue.page == 24 and "其他国土资源事务支出" in issue.message for issue in issues)


def test_stated_basic_spending_against_general_budget_table(audited):
    stated = [issue for issue in audited(PLANNING_FINAL) if issue.rule_id == "TT01" and issue.page == 24]
    assert {issue.values[0].value for issue in stated} == {5377.64, 4896.98}


def test_brackets_and_units(audited):
    issues = audited(PLANNING_FINAL)
    assert any(issue.rule_id == "TL12" and issue.page == 21 and "13.95" in issue.message for issue in issues)
    assert any(issue.rule_id == "TL12" and issue.page == 26 and "0.39" in issue.message for issue in issues)
    assert any(issue.rule_id == "TL02" and issue.page == 27 and "未闭合" in issue.message for issue in issues)


def test_empty_table_note_names_the_other_fund(audited):
    notes = [issue for issue in audited(FINANCE_BUDGET) if issue.rule_id == "CP03"]
    assert [(issue.page, "政府性基金" in issue.message) for issue in notes] == [(18, True)]


def test_spending_tables_agree_line_by_line(ingested, audited):
    assert not any(issue.family == "cross_table" for issue in audited(FINANCE_BUDGET))
    # all the money is 一般公共预算: a 项 changed in the 支出总表 alone now differs from the 一般公共预算支出表
    planted = apply_edits(ingested(FINANCE_BUDGET), [Edit(page=12, find="138,514.80", replace="138,914.80")])
    issues = [issue for issue in audit_document(planted, extract_document(planted)) if issue.rule_id == "XT05"]
    assert len(issues) == 1 and "2010601" in issues[0].message
    assert sorted(round(value.value, 2) for value in issues[0].values) == [13.85, 13.89]
