from __future__ import annotations

from yusuan.eval.kinds import record_key
from yusuan.eval.match import match_kind, normalize_prediction, split_output
from yusuan.eval.normalize import key_text, name_key, text_equal, to_number
from yusuan.model import DocumentMeta, Extraction, FunctionLine, Provenance


def test_key_normalisation():
    assert key_text("一般公共服务（类）  支出") == "一般公共服务(类)支出"
    assert key_text("“三公”经费") == key_text('"三公"经费') == key_text("‘三公’经费")
    assert key_text("ＡＢＣ１２３") == "ABC123"
    assert name_key("一、财政拨款") == "财政拨款"
    assert name_key("（二）上年结转") == "上年结转"
    assert name_key("1.一般公共预算") == name_key("1、一般公共预算") == "一般公共预算"
    assert name_key("(一)1.行政运行") == "行政运行"
    assert name_key("一般公共预算") == "一般公共预算"  # 一 starting a word is not a prefix
    assert name_key("2.5亿元项目") == "2.5亿元项目"


def test_text_comparison_ignores_spacing_punctuation_and_numbering():
    assert text_equal("保障优秀公务员的身心健康。", "保障优秀公务员的身心健康")
    assert text_equal("一、财政拨款", "财政拨款", "name")
    assert not text_equal("一、财政拨款", "财政拨款", "description")
    assert not text_equal("%", None)
    assert text_equal(None, None)


def test_numbers_from_printed_text():
    assert to_number("1,234.50") == 1234.5
    assert to_number(" 12 ") == 12.0
    assert to_number("(3.5)") == -3.5
    assert to_number("有所提升") is None
    assert to_number(True) is None


def test_function_lines_match_by_table_kind_and_code():
    gold = [
        {"table_kind": "支出总表", "code": "201", "name": "一般公共服务支出", "total": 1.0},
        {"table_kind": "一般公共预算支出表", "code": "201", "name": "一般公共服务支出", "total": 1.0},
        {"table_kind": "支出总表", "code": None, "name": "合计", "total": 1.0},
    ]
    pred = [
        {"kind": "function_line", "table_kind": "支出总表", "code": "201", "name": "一般公共服务", "total": 1.0},
        {"kind": "function_line", "table_kind": "支出总表", "code": None, "name": " 合 计 ", "total": 1.0},
        {"kind": "function_line", "table_kind": "收入总表", "code": "201", "name": "一般公共服务支出", "total": 1.0},
    ]
    result = match_kind("function_line", gold, pred)
    assert [(p.gold["table_kind"], p.gold["code"]) for p in result.pairs] == [("支出总表", "201"), ("支出总表", None)]
    assert [g["table_kind"] for g in result.missing] == ["一般公共预算支出表"]
    assert [p["table_kind"] for p in result.extra] == ["收入总表"]


def test_repeated_names_pair_by_agreement_not_order():
    # 财政拨款收支总表 prints 一般公共预算 twice (under 一、财政拨款 and 二、上年结转)
    gold = [
        {"table_kind": "财政拨款收支总表", "side": "收入", "name": "一般公共预算", "amount": 5250.23, "loc": {"line": 320}},
        {"table_kind": "财政拨款收支总表", "side": "收入", "name": "一般公共预算", "amount": 26.9, "loc": {"line": 324}},
    ]
    pred = [
        {"kind": "budget_total", "table_kind": "财政拨款收支总表", "side": "收入", "name": "一般公共预算",
         "amount": 26.9, "provenance": {"line": 324}},
        {"kind": "budget_total", "table_kind": "财政拨款收支总表", "side": "收入", "name": "1.一般公共预算",
         "amount": 5250.23, "provenance": {"line": 320}},
    ]
    result = match_kind("budget_total", gold, pred)
    assert len(result.pairs) == 2
    assert all(p.gold["amount"] == p.pred["amount"] for p in result.pairs)


def test_measure_separates_budget_and_final_rows():
    gold = [
        {"unit_name": "合计", "measure": "预算数", "total": 0.95},
        {"unit_name": "合计", "measure": "决算数", "total": None},
    ]
    pred = [
        {"kind": "sangong", "unit_name": "合计", "measure": "决算数", "total": None},
        {"kind": "sangong", "unit_name": "合计", "measure": "预算数", "total": 0.95},
    ]
    result = match_kind("sangong", gold, pred)
    assert {(p.gold["measure"], p.pred["measure"]) for p in result.pairs} == {("预算数", "预算数"), ("决算数", "决算数")}


def test_fact_key_includes_value_and_unit_slips_are_paired():
    gold = [{"subject": "“三公”经费", "value": 22.5}, {"subject": "收入预算", "value": 5277.13}]
    pred = [
        {"kind": "fact", "subject": '"三公"经费', "value": 22.5},
        {"kind": "fact", "subject": "收入预算", "value": 52771300.0},  # 元 reported as 万元
        {"kind": "fact", "subject": "收入预算", "value": 10.0},
    ]
    result = match_kind("fact", gold, pred)
    assert len(result.pairs) == 2
    slip = [p for p in result.pairs if p.unit_slip]
    assert len(slip) == 1 and slip[0].pred["value"] == 52771300.0
    assert [p["value"] for p in result.extra] == [10.0]


def test_indicator_key_and_level1_tiebreak():
    gold = [
        {"project": "P", "period": "年度", "level1": "产出指标", "level3": "完成率", "value": "100"},
        {"project": "P", "period": "年度", "level1": "效益指标", "level3": "完成率", "value": "90"},
    ]
    pred = [
        {"kind": "indicator", "project": "P", "period": "年度", "level1": "效益指标", "level3": "完成率", "value": "90"},
        {"kind": "indicator", "project": "P", "period": "年度", "level1": "产出指标", "level3": "完成率", "value": "100"},
    ]
    result = match_kind("indicator", gold, pred)
    assert all(p.gold["level1"] == p.pred["level1"] for p in result.pairs)
    assert record_key("indicator", gold[0]) == ("P", "年度", "完成率")


def test_prediction_normalisation_converts_declared_units():
    record = normalize_prediction(
        {"kind": "function_line", "code": "201", "name": "x", "total": "873,450.00", "money_unit": "元",
         "other": {"结转": "10000"}}
    )
    assert abs(record["total"] - 87.345) < 1e-9
    assert record["other"]["结转"] == 1.0


def test_split_output_accepts_extraction_lists_and_dicts():
    record = FunctionLine(name="合计", total=1.0, table_kind="支出总表", provenance=Provenance(source="x", line=3))
    extraction = Extraction(document=DocumentMeta(doc_id="d", source="x", sha256="s", department="D"), records=[record])
    document, records = split_output(extraction)
    assert document["department"] == "D" and records[0]["kind"] == "function_line"
    assert records[0]["provenance"]["line"] == 3
    assert split_output([record])[1][0]["total"] == 1.0
    document, records = split_output({"document": {"year": 2024}, "records": {"fact": [{"subject": "s", "value": 1}]}})
    assert document == {"year": 2024} and records[0]["kind"] == "fact"
