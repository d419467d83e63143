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
# the first blind round; the second (blind2_*, with its planted2_* copies) is scored on its own below
BLIND = sorted(name for name, fixture in FIXTURES.items() if fixture.labelled_by.startswith("blind") and not name.startswith("blind2"))
BLIND2 = sorted(name for name, fixture in FIXTURES.items() if name.startswith("blind2") or (fixture.base or "").startswith("blind2"))
PUTUO = REALDOCS / "shanghai-putuo-GovBudgetChecker"
PLANNING_FINAL = PUTUO / "上海市普陀区规划和自然资源局 2024 年度部门决算.pdf"
FINANCE_BUDGET = REALDOCS / "shanghai-tianbaoxitong" / "上海市普陀区财政局部门25年预算.pdf"
PROCURATORATE_2017 = REALDOCS / "jiangsu-open-budget" / "江苏省人民检察院" / "2017年省检察院部门预算.pdf"
HUZHOU_TRANSPORT = REALDOCS / "cities-2026" / "079_湖州" / "2026年湖州市交通运输局部门预算.pdf"
ZHUHAI_COMMERCE = REALDOCS / "cities-2026" / "077_珠海" / "2026年珠海市商务局部门预算.pdf"
WANLI_2024 = PUTUO / "上海市普陀区人民政府万里街道办事处24年预算.pdf"
HUZHOU_FINANCE = REALDOCS / "cities-2026" / "079_湖州" / "2026年湖州市财政局部门预算.pdf"
COURT_2019 = REALDOCS / "jiangsu-open-budget" / "江苏省高级人民法院" / "江苏省高级人民法院2019年度部门预算公开.pdf"


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


def test_second_blind_checklists(ingested):
    """3 real documents read by hand and 2 planted copies (11 edits each), labelled before the tool was run: 31 of 48
    found by the rules as they were; the rules written for the classes of problems they showed find 43. What is left
    are misspellings and dropped characters in prose (更游校, 建筑里面, 健、有序)."""
    families = {family: FamilyScore() for family in FAMILIES}
    results = []
    for name in BLIND2:
        fixture = FIXTURES[name]
        doc = apply_edits(ingested(REALDOCS / fixture.source.removeprefix("realdocs/")), fixture.edits)
        results.append(score_document(fixture, audit_document(doc, extract_document(doc)), families))
    assert len(results) == 5
    assert all(len(result.false_alarms) <= 1 for result in results), [result.false_alarms for result in results]
    assert sum(result.found for result in results) >= 43, [result.missed for result in results]
    assert all(families[family].found == families[family].findings
               for family in ("completeness", "table_arithmetic", "cross_table", "text_table", "text_arithmetic"))


def test_reasons_and_parts_read_by_meaning(audited):
    issues = audited(WANLI_2024)
    # p6: 110.60 against 执行数 114.00 is 减少2.98%, its reason "宣传事务一般行政管理事务经费增加"
    assert any(issue.rule_id == "TA07" and issue.page == 6 and "宣传事务" in issue.evidence for issue in issues)
    # p33: 地上建筑面积8013平方米(其中计容面积7998平方米,不计容面积105平方米)
    parts = [issue for issue in issues if issue.rule_id == "TA08"]
    assert [(issue.page, sorted(value.value for value in issue.values)) for issue in parts] == [(33, [105, 7998, 8013])]
    # p7 职业年金缴费支出's reason names 事业单位离退休 (the item before it); p9 城管执法's 用途 names the item before
    borrowed = {(issue.page, issue.message.split("”")[0].lstrip("“")) for issue in issues if issue.rule_id == "TL14"}
    assert borrowed == {(7, "机关事业单位职业年金缴费支出"), (9, "城管执法")}


def test_codes_sentences_and_template_level(audited):
    issues = audited(WANLI_2024)
    codes = [issue for issue in issues if issue.rule_id == "TL15"]
    assert len(codes) == 1 and codes[0].page == 29 and "301 2 津贴补贴" in codes[0].message and "301 7 绩效工资" in codes[0].message
    assert any(issue.rule_id == "TL03" and issue.page == 32 and "1.35万元。比2023年" in issue.evidence for issue in issues)
    # a 区 document's glossary: "市级预算主管部门", "与市级财政有经费领拨关系"
    assert [(issue.rule_id, issue.page) for issue in issues if issue.rule_id == "TL16"] == [("TL16", 5)]
    # Shanghai's own (市级) documents say 市级 rightly
    assert not any(issue.rule_id == "TL16" for issue in audited(FINANCE_BUDGET))


def test_planted_shares_changes_items_and_headings(ingested):
    huzhou = apply_edits(ingested(HUZHOU_FINANCE), [Edit(page=7, find="72.3%", replace="74.3%"),
                                                   Edit(page=8, find="(五)关于湖州市财政局", replace="(五)关于湖州市交通运输局")])
    issues = audit_document(huzhou, extract_document(huzhou))
    # the shares of 人员/公用/项目 支出 are of their sum 6,838.41 (no whole printed): 4944.99 is 72.31%
    assert [issue.page for issue in issues if issue.rule_id == "TA05" and "74.3" in issue.message] == [7]
    assert any(issue.rule_id == "TL11" and issue.page == 8 and "湖州市交通运输局" in issue.message for issue in issues)
    court = apply_edits(ingested(COURT_2019), [Edit(page=18, find="增长 55.72%", replace="增长 57.52%"),
                                              Edit(page=21, find="支出 417.06 万元", replace="支出 471.06 万元"),
                                              Edit(page=10, find="1,599.11", replace="1,959.11")])
    issues = audit_document(court, extract_document(court))
    # "住房保障(类)支出 7344.46万元,主要用于…。与上年相比增加 2627.95 万元,增长 57.52%": the amount is the sentence before
    assert any(issue.rule_id == "TA01" and issue.page == 18 and "57.52" in issue.message for issue in issues)
    # "…(项)支出 471.06 万元": the item's amount after 支出, against the table's 417.06
    assert any(issue.rule_id == "TT02" and issue.page == 21 and "471.06" in issue.message for issue in issues)
    # all 财政拨款 is 一般公共预算 (equal totals): the 财政拨款支出表's 案件审判 must equal the 一般公共预算支出表's
    assert any(issue.rule_id == "XT05" and "案件审判" in issue.message and "财政拨款支出预算表" in issue.message for issue in issues)


def test_empty_fund_table_stated_as_zero_in_an_earlier_template(audited):
    # Jiangsu 2019: the empty 政府性基金 table prints 合计 0 without a note; the 说明 says "政府性基金支出预算支出 0万元"
    assert not any(issue.rule_id == "CP03" for issue in audited(COURT_2019))


def test_share_of_a_table_total(audited):
    shares = [issue for issue in audited(PROCURATORATE_2017) if issue.rule_id == "TA05"]
    # 317.8 and 156.55 of the 三公 table's 584.35 are 54.39% and 26.79%, printed 54.43% and 26.72%; the text's
    # "110万元" is the table's 110.00 (因公出国(境)费), so its share is 18.82%, printed 18.85%
    assert sorted(next(p for p in ("54.43", "26.72", "18.85") if p in issue.message) for issue in shares) == ["18.85", "26.72", "54.43"]
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


def test_project_table_against_the_table_of_the_same_funds(ingested, audited):
    """湖州: the 项目支出表 lists 一般公共预算, 政府性基金 and 单位资金, so its projects add up to the 支出总表's 项目支出
    (171,262.41), not the 一般公共预算支出表's; they add up to 171,462.41."""
    projects = [r for r in extract_document(ingested(HUZHOU_TRANSPORT)).records if r.kind == "project" and r.table_kind == "项目支出表"]
    check = next(c for c in projects[0].checks if c.name == "projects_sum_vs_function_table")
    assert (check.status, check.expected, check.actual) == ("fail", 171262.41, 171462.41) and "支出总表" in check.detail
    issues = [issue for issue in audited(HUZHOU_TRANSPORT) if issue.rule_id == "XT06"]
    assert issues and all("171,462.41" in issue.message and "171,262.41" in issue.message for issue in issues)


def test_items_of_other_funds_and_column_numbers(audited):
    issues = audited(HUZHOU_TRANSPORT)
    # the 说明's 政府性基金 items (214 98, 229 04) are 科目 of the 政府性基金 table, not missing from the tables
    assert not any(issue.rule_id == "TL08" and issue.severity != "info" for issue in issues)
    assert any(issue.rule_id == "TL08" and "一般公共服务支出" in issue.message and issue.severity == "info" for issue in issues)
    # the empty 国有资本经营 table prints only its column numbers ("** ** 1"): no amounts
    assert not any(issue.rule_id == "CP03" for issue in issues)


def test_filled_table_whose_note_says_empty(audited):
    issues = audited(WANLI_2024)
    # p31: the 三公 table lists 47.91 … while its note says "本部门2024年无“三公”经费和机关运行经费预算，故本表为空表"
    assert [(issue.rule_id, issue.page) for issue in issues if issue.rule_id == "CP03"] == [("CP03", 31)]
    # p32: "公务车用车运行费" for 公务用车运行费
    assert any(issue.rule_id == "TL13" and issue.page == 32 and "公务车用车运行费" in issue.message for issue in issues)
    assert not any(issue.rule_id == "TL13" and issue.page != 32 for issue in issues)


def test_totals_of_the_tables_that_cover_them(audited):
    """珠海: the 收入总表 has a 上年结转 column, so its 合计 is the 收入总计 (66,307.98), not the 本年收入合计; its empty
    fund tables say "本表本年无发生额"."""
    issues = audited(ZHUHAI_COMMERCE)
    assert not any(issue.rule_id in ("XT03", "CP03", "TL13") for issue in issues), [issue.message for issue in issues]


def test_empty_fund_table_explained_in_an_earlier_template(audited):
    # Jiangsu 2017: no note under the empty 政府性基金 table, but its 情况说明 says "本部门无政府性基金预算"
    assert not any(issue.rule_id == "CP03" for issue in audited(PROCURATORATE_2017))


def test_stale_plan_year_and_misprinted_names(audited):
    # a 2025 budget still saying "拟从2020年起" (p23); "较上一度增加" for 较上一年度 in a 2024 决算 (p20, p21)
    assert any(issue.rule_id == "TL06" and issue.page == 23 and "拟从2020年" in issue.message for issue in audited(FINANCE_BUDGET))
    cut_short = [issue for issue in audited(PLANNING_FINAL) if issue.rule_id == "TL13"]
    assert {issue.page for issue in cut_short} == {20, 21} and all("上一度" in issue.message for issue in cut_short)
