"""Figures read from the narrative of real budgets and final accounts (values read off the rendered pages): changes
that name what they are about, reasons, figures that belong to the item their heading names, paragraphs the PDF
reader cut in two, and the 重庆 exports whose digits sit most of a line below their sentence."""

from __future__ import annotations

import pytest
from conftest import REALDOCS, printed

from yusuan.extract import extract_path

CITIES = REALDOCS / "cities-2026"
PUTUO = REALDOCS / "shanghai-putuo-GovBudgetChecker"


@pytest.fixture(scope="module")
def facts():
    cache = {}

    def read(path):
        if path not in cache:
            cache[path] = [f for f in extract_path(path).by_kind("fact") if f.metric == "amount"]
        return cache[path]

    return read


def _one(facts, subject: str, value: float):
    (fact,) = [f for f in facts if f.subject == subject and f.value == printed(value)]
    return fact


def test_displaced_digits_are_read_back_into_their_sentences(facts):
    """商务委员会 p3: '收入比2025年减少86,685.29万元，主要是一般公共预算拨款减少7,885.67万元…' (digits and punctuation
    in a font whose descent puts them on a line of their own)."""
    found = facts(CITIES / "004_重庆/2026年重庆市商务委员会部门预算.pdf")
    assert _one(found, "收入预算", 174900.64).change == printed(-86685.29)
    assert _one(found, "一般公共预算拨款", 101833.84).change == printed(-7885.67)
    assert _one(found, "财政专户管理资金", 22070.82).change == printed(2024.14)
    assert _one(found, "公务接待费", 121.07).change == 0.0
    operating = _one(found, "机关运行经费", 1595.96)  # '（一）机关运行经费。2026年一般公共预算财政拨款运行经费…'
    assert operating.change == printed(-21.42) and operating.reason.startswith("坚持过紧日子")


def test_a_change_after_a_breakdown_is_the_totals(facts):
    """委宣传部 p3: '…住房保障支出662.86万元。比2025年增加2,734.52万元' is the change of 支出预算 45,369.18 (the
    breakdown adds up to it), not of 住房保障支出; '均与上年持平' sets every 三公 item before it to no change."""
    found = facts(CITIES / "004_重庆/2026年重庆市委宣传部部门预算.pdf")
    assert _one(found, "支出预算", 45369.18).change == printed(2734.52)
    assert _one(found, "住房保障支出", 662.86).change is None
    assert _one(found, "其他收入资金", 513.0).change == printed(513.0)  # '其他收入增加513万元'
    assert _one(found, "因公出国(境)费用", 100.0).change == 0.0
    assert _one(found, "公务接待费", 63.8).change == 0.0


def test_figures_of_list_items_and_headings(facts):
    """普陀区财政局 2024 决算 p22: '5、…行政单位离退休（项）。主要用于…。年初预算为85.55万元，支出决算为84.65万元'
    (the item cut by the PDF reader after 行政单位离退休); 泉州公安局 p24: '（一）因公出国（境）经费' then
    '2026年预算安排0.00万元，比上年增加0.00万元，增长0.00%'."""
    final = facts(PUTUO / "上海市普陀区财政局2024年度部门决算.pdf")
    assert any(f.subject.endswith("行政单位离退休(项)") and f.value == printed(84.65) for f in final)
    assert any(f.subject.endswith("行政运行(项)年初预算") and f.value == printed(1560.05) for f in final)
    police = facts(CITIES / "021_泉州/2026年泉州市公安局部门预算.pdf")
    overseas = _one(police, "因公出国(境)经费", 0.0)
    assert (overseas.change, overseas.change_pct) == (0.0, 0.0)
    assert _one(police, "公务用车购置及运行费", 1683.85).provenance.page == 25


def test_named_changes_and_reasons_in_a_final_account(facts):
    """p21 '…财政拨款收入支出总计持平。主要原因：' + next block; p23 '“三公”经费…支出决算为0.00万元…小于预算数的主要原因：
    当年度无“三公”经费支出' and '其中：因公出国（境）费支出决算持平'."""
    found = facts(PUTUO / "上海市普陀区财政局2024年度部门决算.pdf")
    totals = _one(found, "财政拨款收入支出总计", 0.3)
    assert totals.change == 0.0 and totals.reason.startswith("基本支出中人员进出及退休变化")
    sangong = _one(found, "“三公”经费财政拨款支出", 0.0)
    assert sangong.change == 0.0 and sangong.reason == "当年度无“三公”经费支出"
    assert _one(found, "因公出国(境)费", 0.0).change == 0.0


def test_coordinated_subjects_and_an_opening_reason(facts):
    """省法院 2018 p17: '收入、支出预算总计33172.15万元，与上年相比收、支预算总计各增加4322.77万元，增长14.98%。
    主要原因是基本支出增加1447.63万元、…' (the figures inside the reason are not facts of their own)."""
    found = facts(REALDOCS / "jiangsu-open-budget/江苏省高级人民法院/省法院2018年度部门预算公开.pdf")
    for subject in ("收入预算总计", "支出预算总计"):
        fact = next(f for f in found if f.subject == subject and f.change is not None)
        assert (fact.change, fact.change_pct) == (printed(4322.77), printed(14.98))
        assert fact.reason.startswith("基本支出增加1447.63万元")
    assert not any(f.value == printed(1447.63) for f in found)


def test_a_zero_needs_no_unit_and_fills_a_blank_sangong_table():
    """文印中心 p16 (read off the page): '2026年“三公”经费预算数为0，与2025年预算持平。其中：（一）因公出国（境）费为0…';
    its 三公 table p15 prints headers only, so the record takes the text's zeros with the sentence as the source."""
    extraction = extract_path(CITIES / "001_上海/2026年上海市政府办公厅_部门预算.pdf")
    zeros = {f.subject: f for f in extraction.by_kind("fact") if f.value == 0.0}
    assert zeros["“三公”经费"].change == 0.0 and zeros["因公出国(境)费"].values["value"].raw == "0"
    (sangong,) = extraction.by_kind("sangong")
    assert (sangong.total, sangong.overseas, sangong.vehicle_total, sangong.reception) == (0.0, 0.0, 0.0, 0.0)
    assert {check.name for check in sangong.checks} >= {"blank_cell_from_text:total", "blank_cell_from_text:reception"}
    # a zero without a money word before it is no money figure ('人数为0')
    assert not any(f.subject.endswith("人数") for f in extraction.by_kind("fact"))
