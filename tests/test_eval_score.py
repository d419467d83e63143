from __future__ import annotations

import copy
import random

import pytest
from eval_support import GoldExtractor, gold_predictions, scaled_predictions, write_fixture

from yusuan.eval.fixtures import load_fixtures
from yusuan.eval.runner import run_extractor
from yusuan.eval.score import breakdowns, score_document, summarize


def _overall(docs):
    return summarize(docs).metrics()


def test_perfect_extractor_scores_one_on_every_fixture():
    fixtures = [f for f in load_fixtures() if f.available]
    assert fixtures
    result = run_extractor(GoldExtractor(fixtures), fixtures)
    overall = result.metrics()["overall"]
    assert overall["record"]["f1"] == 1.0
    assert overall["numeric_f1"] == 1.0
    assert overall["text"]["f1"] == 1.0
    assert overall["numeric_exact_match"] == 1.0
    assert overall["provenance_hit"] == 1.0
    assert overall["failures_per_document"] == 0.0
    assert all(doc.misses == [] for doc in result.docs)
    assert overall["document"]["f1"] == 1.0
    for kind, metrics in overall["kinds"].items():
        assert metrics["f1"] == 1.0, kind


def test_every_number_times_ten_scores_low(tmp_path):
    fixture = write_fixture(tmp_path)
    doc = score_document(fixture, scaled_predictions(fixture, 10), fixture.document)
    overall = _overall([doc])
    assert overall["numeric_f1"] < 0.3
    wrong = [m for m in doc.misses if m["type"] == "wrong_value" and m["field"] == "total"]
    assert wrong and all(m["predicted"] == pytest.approx(m["gold"] * 10) for m in wrong)
    assert overall["unit_errors"] == 0  # ×10 is a wrong value, not a unit slip


def test_shuffled_names_score_low(tmp_path):
    fixtures = [f for f in load_fixtures() if f.source.startswith("corpus/")]

    def shuffled(fixture):
        records = gold_predictions(fixture)
        rng = random.Random(7)
        for field in ("name", "subject", "level3", "code"):
            holders = [r for r in records if r.get(field)]
            values = [r[field] for r in holders]
            rng.shuffle(values)
            for record, value in zip(holders, values, strict=True):
                record[field] = value
        return records

    result = run_extractor(GoldExtractor(fixtures, shuffled), fixtures)
    assert result.metrics()["overall"]["record"]["f1"] < 0.5


def test_unit_error_is_detected(tmp_path):
    fixture = write_fixture(tmp_path)
    doc = score_document(fixture, scaled_predictions(fixture, 10000), fixture.document)
    units = [m for m in doc.misses if m["type"] == "wrong_unit"]
    assert units and all(m["factor"] == 10000 for m in units)
    assert _overall([doc])["unit_errors"] == len(units)
    assert {(m["kind"], m["field"]) for m in units} >= {("function_line", "total"), ("fact", "value")}
    doc = score_document(fixture, scaled_predictions(fixture, 1e-4), fixture.document)
    assert {m["factor"] for m in doc.misses if m["type"] == "wrong_unit"} == {0.0001}


def test_declared_money_unit_is_converted(tmp_path):
    fixture = write_fixture(tmp_path)
    predictions = scaled_predictions(fixture, 10000)
    for record in predictions:
        record["money_unit"] = "元"
    assert _overall([score_document(fixture, predictions)])["numeric_f1"] == 1.0


def test_complete_semantics_extra_records(tmp_path):
    fixture = write_fixture(tmp_path, complete=["function_line", "project"])
    predictions = gold_predictions(fixture)
    extra_same_table = {"kind": "function_line", "table_kind": "支出总表", "code": "205", "name": "教育支出",
                        "total": 5.0, "provenance": {"line": 9}}
    extra_other_table = {"kind": "function_line", "table_kind": "收入总表", "code": "201", "name": "一般公共服务支出",
                         "total": 150.0, "provenance": {"line": 99}}
    extra_project_no_table = {"kind": "project", "table_kind": "", "name": "幽灵项目", "amount": 1.0}
    extra_not_complete = {"kind": "fact", "subject": "收入预算", "value": 99.0}
    extra_sangong = {"kind": "sangong", "unit_name": "某单位", "total": 1.0}  # sangong not complete here
    predictions += [extra_same_table, extra_other_table, extra_project_no_table, extra_not_complete, extra_sangong]
    doc = score_document(fixture, predictions)
    kinds = doc.kinds
    assert (kinds["function_line"].fp, kinds["function_line"].unscored_extra) == (1, 1)
    assert kinds["project"].fp == 1  # an extra without table kind cannot hide in an unlabelled table
    assert (kinds["fact"].fp, kinds["fact"].unscored_extra) == (0, 1)
    assert (kinds["sangong"].fp, kinds["sangong"].unscored_extra) == (0, 1)
    extra = [m for m in doc.misses if m["type"] == "extra_record"]
    assert {m["key"] for m in extra} == {"支出总表 / 205", "幽灵项目"}
    assert kinds["function_line"].fields["total"].fp == 1
    metrics = _overall([doc])["kinds"]
    assert metrics["function_line"]["precision"] == pytest.approx(5 / 6)
    assert metrics["fact"]["precision"] == 1.0


def test_missing_records_and_blank_vs_zero(tmp_path):
    fixture = write_fixture(tmp_path)
    predictions = [r for r in gold_predictions(fixture) if r.get("code") != "2010102"]
    for record in predictions:
        if record.get("code") == "2010101":
            record["project"] = 0.0  # the document leaves it blank
    doc = score_document(fixture, predictions)
    types = {(m["type"], m.get("field")) for m in doc.misses}
    assert ("missing_record", None) in types
    assert ("wrong_value", "project") in types
    project = doc.kinds["function_line"].fields["project"]
    assert project.fp == 1  # 0 where the document is blank
    assert project.fn == 1  # the missing 2010102 line had project 50.00
    assert doc.kinds["function_line"].fn == 1


def test_tolerance_is_configurable(tmp_path):
    fixture = write_fixture(tmp_path)
    predictions = gold_predictions(fixture)
    for record in predictions:
        if record.get("code") == "201":
            record["total"] += 0.004
    assert _overall([score_document(fixture, predictions)])["numeric_f1"] == 1.0
    strict = _overall([score_document(fixture, copy.deepcopy(predictions), tolerance=0.001)])
    assert strict["numeric_f1"] < 1.0


def test_provenance_hit_rate(tmp_path):
    fixture = write_fixture(tmp_path)
    predictions = gold_predictions(fixture)
    for record in predictions[:2]:
        record["provenance"] = {"line": 1}
    doc = score_document(fixture, predictions)
    overall = _overall([doc])
    total = sum(len(fixture.records(k)) for k in fixture.kinds)
    assert overall["provenance_hit"] == pytest.approx((total - 2) / total)
    assert sum(m["type"] == "wrong_provenance" for m in doc.misses) == 2


def test_checks_pass_rate(tmp_path):
    fixture = write_fixture(tmp_path)
    predictions = gold_predictions(fixture)
    predictions[0]["checks"] = [{"name": "sum", "status": "fail"}]
    predictions[1]["checks"] = [{"name": "sum", "status": "pass"}]
    overall = _overall([score_document(fixture, predictions)])
    assert overall["checks_pass_rate"] == pytest.approx((len(predictions) - 1) / len(predictions))
    assert overall["checks_coverage"] == pytest.approx(2 / len(predictions))


def test_failing_extractor_counts_failures(tmp_path):
    fixture = write_fixture(tmp_path)

    class Broken:
        name, version = "broken", "0"

        def extract(self, path):
            raise RuntimeError("cannot parse")

    result = run_extractor(Broken(), [fixture])
    overall = result.metrics()["overall"]
    assert overall["failures_per_document"] == 1.0
    assert overall["record"]["recall"] == 0.0
    assert "cannot parse" in result.docs[0].error
    assert result.docs[0].sha256 == fixture.sha256


def test_breakdowns_by_layout_and_document(tmp_path):
    a = write_fixture(tmp_path, name="a")
    b = write_fixture(tmp_path, name="b")
    b.data["layout"] = "cell-per-line"
    docs = [score_document(a, gold_predictions(a)), score_document(b, scaled_predictions(b, 10))]
    docs[1].layout = b.layout
    result = breakdowns(docs)
    assert set(result["by_layout"]) == {"tsv-markdown", "cell-per-line"}
    assert result["by_layout"]["tsv-markdown"]["numeric_f1"] == 1.0
    assert result["by_layout"]["cell-per-line"]["numeric_f1"] < 0.5
    assert set(result["by_document"]) == {"a", "b"}
    assert result["by_document"]["b"]["misses"]


def test_skipped_and_stale_documents(tmp_path):
    fixture = write_fixture(tmp_path, sha256="f" * 64)
    missing = write_fixture(tmp_path, name="gone")
    missing.source_path.unlink()
    result = run_extractor(GoldExtractor([fixture]), [fixture, missing])
    assert [d.status for d in result.docs] == ["ok", "skipped"]
    assert any("sha256" in w for w in result.warnings)
    assert result.metrics()["overall"]["skipped"] == 1
