"""Tables read by header meaning and orientation: key figures from real cities-2026 budgets (values and pages read off
the PDFs), and the 三公 layouts other regions print (years as rows, funding-source splits, 合计 that counts 会议费/培训费,
prior-year blocks), built as grids."""

from __future__ import annotations

import pytest
from conftest import REALDOCS, printed

from yusuan.extract import extract_path
from yusuan.extract.recognizers import BuildContext, classify
from yusuan.extract.recognizers.labels import read_part
from yusuan.extract.table import prepare
from yusuan.model import Cell, Grid

CITIES = REALDOCS / "cities-2026"


@pytest.fixture(scope="module")
def extracted():
    cache = {}

    def extract(relative: str):
        if relative not in cache:
            cache[relative] = extract_path(CITIES / relative)
        return cache[relative]

    return extract


def _sangong(extraction, measure="预算数", unit="合计"):
    return [r for r in extraction.by_kind("sangong") if r.measure == measure and r.unit_name == unit]


def test_untitled_chongqing_tables_take_the_title_printed_above_them(extracted):
    """表一 部门收支总体情况表 p8: the title, a year line and a '单位名称 … 2026 … 单位:万元' row above the header."""
    extraction = extracted("004_重庆/2026年重庆市商务委员会部门预算.pdf")
    totals = [r for r in extraction.by_kind("budget_total") if r.provenance.page == 8]
    assert {r.table_title for r in totals} == {"2026年部门收支总体情况表"}
    income = next(r for r in totals if r.side == "收入" and r.name == "收入总计")
    assert income.amount == printed(174900.64)
    # '一、一般公共预算资金' printed with its numbering's punctuation after the words
    assert any(r.name == "一般公共预算资金" and r.amount == printed(101833.84) for r in totals)
    (sangong,) = _sangong(extraction)  # one unlabelled data row, p23
    assert (sangong.provenance.page, sangong.total, sangong.overseas, sangong.vehicle_operation, sangong.reception) == (
        23, printed(890.97), printed(552.0), printed(217.9), printed(121.07))


def test_prior_year_block_beside_the_budget_year_keeps_its_own_measure(extracted):
    """p26 prints 2025年预算数 and 2026年预算数 side by side under one header row; p19 a 2025年预算数 column."""
    extraction = extracted("004_重庆/2026年重庆市规划和自然资源局部门预算.pdf")
    (budget,) = _sangong(extraction)
    (prior,) = _sangong(extraction, measure="上年预算数")
    assert budget.provenance.page == prior.provenance.page == 26
    assert (budget.total, budget.overseas, budget.vehicle_purchase, budget.reception) == (
        printed(2171.85), printed(321.91), printed(342.25), printed(279.19))
    assert (prior.total, prior.reception) == (printed(2552.5), printed(483.09))
    total_line = next(r for r in extraction.by_kind("function_line")
                      if r.table_kind == "一般公共预算支出表" and r.code is None)
    assert total_line.total == printed(227955.11) and total_line.project == printed(114947.89)
    assert total_line.other == {"2025年预算数": printed(219607.38)}


def test_unit_rows_keep_names_that_contain_measure_words(extracted):
    extraction = extracted("079_湖州/2026年湖州市财政局部门预算.pdf")
    records = extraction.by_kind("sangong")
    assert {r.provenance.page for r in records} == {28}
    units = {r.unit_name: r.total for r in records}
    assert units["合计"] == printed(9.3) and units["湖州市财政项目预算审核中心"] == printed(0.45)
    assert len(units) == 6
    assert all(c.status == "pass" for r in records for c in r.checks if c.name == "sangong_units_sum")


def test_items_down_the_rows_with_funding_source_columns(extracted):
    """p18 行政经费及“三公”经费预算表: 项目 | 合计 | 一般公共预算 | 政府性基金预算 | 国有资本经营预算, 行政经费 row first."""
    (record,) = _sangong(extracted("077_珠海/2026年珠海市商务局部门预算.pdf"))
    assert record.provenance.page == 18
    assert (record.total, record.overseas, record.vehicle_total, record.reception) == (
        printed(19.84), printed(13.2), 0.0, printed(6.64))


def test_subject_code_printed_inside_the_name_cell(extracted):
    """p13 一般公共预算支出情况表 has no code column: '[201]一般公共服务支出', '[2011301]行政运行'."""
    lines = {r.code: r for r in extracted("077_珠海/2026年珠海市商务局部门预算.pdf").by_kind("function_line")
             if r.table_kind == "一般公共预算支出表"}
    general = lines["201"]
    assert (general.name, general.level, general.provenance.page) == ("一般公共服务支出", "类", 13)
    assert (general.total, general.basic, general.project) == (
        printed(41350.29), printed(4965.28), printed(36385.01))
    assert (lines["2011301"].name, lines["2011301"].level, lines["2011301"].parent_code) == ("行政运行", "项", "20113")
    assert lines["216"].provenance.page == 14 and lines["216"].total == printed(2500.0)


def test_a_blank_sangong_table_takes_the_figures_the_text_states(extracted):
    """p15 prints the 三公 header and no row; p16: '2026年“三公”经费预算数为0.00万元 … 公务接待费为0.00万元'."""
    (record,) = _sangong(extracted("001_上海/2026年上海市民政局_部门预算.pdf"))
    assert record.provenance.page == 15
    assert (record.total, record.overseas, record.vehicle_total, record.reception) == (0.0, 0.0, 0.0, 0.0)
    assert record.values["total"].page == 16 and "0.00万元" in record.values["total"].raw
    assert {c.name for c in record.checks} >= {"blank_cell_from_text:total", "blank_cell_from_text:reception"}


def test_a_blank_cell_beside_printed_figures_stays_blank_when_the_text_says_0(extracted):
    """p20: 购置费 cell blank beside 运行费 20.10; the text says 公务用车购置费 0.00万元."""
    (record,) = _sangong(extracted("001_上海/2026年上海市交通运输局_部门预算.pdf"))
    assert record.vehicle_purchase is None and record.vehicle_operation == printed(20.1)
    assert any(c.name == "blank_cell_text_states:vehicle_purchase" for c in record.checks)


# ---------------------------------------------------------------- layouts of other regions, as grids


def _table(title: str, rows: list[list[str]]):
    grid = Grid(
        rows=[[Cell(text=text, raw=text, line=r + 1, page=1, row=r, col=c) for c, text in enumerate(row)]
              for r, row in enumerate(rows)],
        title=title,
    )
    table = prepare(grid)
    recognizer, _ = classify(table)
    assert recognizer is not None and recognizer.table_kind == "三公经费表"
    return recognizer.build(table, BuildContext(source="grid.pdf", default_unit="万元"))


def _fields(record) -> tuple:
    return record.measure, record.total, record.overseas, record.vehicle_total, record.reception


def test_years_as_rows_with_each_item_split_by_funding_source():
    records = _table("“三公”经费支出预算表（单位：万元）", [
        ["项目", "合计", "", "因公出国(境)费", "", "公务用车购置及运行费", "", "公务接待费", ""],
        ["", "财政拨款", "其他资金", "财政拨款", "其他资金", "财政拨款", "其他资金", "财政拨款", "其他资金"],
        ["2025年预算数", "30.00", "2.00", "10.00", "", "15.00", "2.00", "5.00", ""],
        ["2026年预算数", "28.00", "1.00", "8.00", "", "15.00", "1.00", "5.00", ""],
        ["增减", "-2.00", "-1.00", "-2.00", "", "0.00", "-1.00", "0.00", ""],
    ])
    assert sorted(_fields(r) for r in records) == [("上年预算数", 30.0, 10.0, 15.0, 5.0), ("预算数", 28.0, 8.0, 15.0, 5.0)]


def test_total_that_counts_meeting_and_training_fees_is_not_the_sangong_total():
    (record,) = _table("一般公共预算“三公”经费、会议费、培训费支出表", [
        ["合计", "“三公”经费", "", "", "", "", "会议费", "培训费"],
        ["", "小计", "因公出国(境)费", "公务用车购置及运行维护费", "", "公务接待费", "", ""],
        ["", "", "", "小计", "公务用车运行维护费", "", "", ""],
        ["40.00", "25.00", "10.00", "12.00", "12.00", "3.00", "9.00", "6.00"],
    ])
    assert _fields(record) == ("预算数", 25.0, 10.0, 12.0, 3.0) and record.vehicle_operation == 12.0


def test_items_down_rows_with_budget_year_and_prior_year_columns():
    records = _table("“三公”经费预算情况表", [
        ["项目", "2025年预算数", "2026年预算数", "增减额"],
        ["“三公”经费合计", "12.00", "10.00", "-2.00"],
        ["1.因公出国(境)费", "4.00", "2.00", "-2.00"],
        ["2.公务用车购置及运行费", "6.00", "6.00", "0.00"],
        ["其中：公务用车购置费", "", "", ""],
        ["公务用车运行费", "6.00", "6.00", "0.00"],
        ["3.公务接待费", "2.00", "2.00", "0.00"],
    ])
    assert sorted(_fields(r) for r in records) == [("上年预算数", 12.0, 4.0, 6.0, 2.0), ("预算数", 10.0, 2.0, 6.0, 2.0)]
    assert all(r.vehicle_operation == 6.0 and r.vehicle_purchase is None for r in records)


@pytest.mark.parametrize(("label", "meaning"), [
    ("其中:(一)因公出国(境)支出", "overseas"),
    ("(二)公务用车购置及运行维护支出", "vehicle_total"),
    ("因公出国境费()", "overseas"),
    ("教学科研人员因公出国(境)费用", None),
    ("“三公”经费预算数", "total"),
])
def test_labels_are_read_through_the_thesaurus(label, meaning):
    assert read_part(label).item == meaning
