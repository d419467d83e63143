from __future__ import annotations

import importlib.util
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from eval_support import DOC_LINES, make_pdf, write_fixture

from yusuan.eval import extractors as registry
from yusuan.eval.baselines import (
    CamelotKeywordsExtractor,
    PdfplumberKeywordsExtractor,
    RegexTextExtractor,
    classify_title,
    parse_indicator_value,
)
from yusuan.eval.extractors import (
    BUILTIN_EXTRACTORS,
    Extractor,
    ExtractorError,
    YusuanExtractor,
    fingerprint_of,
    load_extractor,
    registered_extractors,
    source_fingerprint,
)
from yusuan.eval.match import split_output
from yusuan.eval.runner import run_extractor
from yusuan.model import RECORD_TYPES, Provenance

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


class PluginExtractor:
    name = "plugin"
    version = "9"

    def extract(self, path):
        return []


def test_builtins_are_registered():
    names = registered_extractors()
    for name in ("yusuan", "pdfplumber-keywords", "regex-text", "camelot-keywords", "llm"):
        assert name in names
    assert isinstance(load_extractor("regex-text"), Extractor)
    with pytest.raises(ExtractorError, match="unknown extractor"):
        load_extractor("no-such-extractor")


def test_entry_points_are_discovered(monkeypatch):
    entry = EntryPoint(name="plugin", value=f"{__name__}:PluginExtractor", group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [entry] if group == registry.ENTRY_POINT_GROUP else [])
    assert registered_extractors()["plugin"] == f"{__name__}:PluginExtractor"
    extractor = load_extractor("plugin")
    assert extractor.version == "9" and extractor.extract("x") == []
    assert len(fingerprint_of(extractor)) == 16


def test_broken_plugin_is_reported(monkeypatch):
    monkeypatch.setitem(BUILTIN_EXTRACTORS, "broken", "no_such_module_xyz:Thing")
    with pytest.raises(ExtractorError, match="cannot be loaded"):
        load_extractor("broken")


def test_fingerprint_follows_the_source(tmp_path, monkeypatch):
    module = tmp_path / "fp_plugin_mod.py"
    module.write_text("X = 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    first = source_fingerprint(["fp_plugin_mod"])
    assert first == source_fingerprint(["fp_plugin_mod"])
    module.write_text("X = 2\n", encoding="utf-8")
    sys.modules.pop("fp_plugin_mod", None)
    assert source_fingerprint(["fp_plugin_mod"]) != first
    assert load_extractor("regex-text").fingerprint() != load_extractor("pdfplumber-keywords").fingerprint()


def test_yusuan_extractor_is_lazy():
    extractor = YusuanExtractor()
    assert extractor.name == "yusuan" and extractor.version
    assert len(extractor.fingerprint()) == 16
    reason = extractor.available()
    assert reason is None or "extract" in reason


def _valid(records):
    for record in records:
        model = RECORD_TYPES[record["kind"]]
        data = {k: v for k, v in record.items() if k in model.model_fields}
        data["provenance"] = Provenance(**{k: v for k, v in record["provenance"].items() if k in Provenance.model_fields})
        model.model_validate(data)


def test_title_classification():
    assert classify_title("2022年市级部门支出预算总表") == "支出总表"
    assert classify_title("部门预算财政拨款收支总表") == "财政拨款收支总表"
    assert classify_title("收入支出决算总表") == "收支总表"
    assert classify_title("2022年市级部门一般公共预算“三公”经费支出表") == "三公经费表"
    assert classify_title("一般公共预算财政拨款基本支出决算表") == "基本支出表"
    assert classify_title("财政拨款基本支出预算表（经济科目）") is None  # the copy of the 一般公共预算 table
    assert classify_title("科目编码 科目名称 合计 基本支出") is None  # a header line is not a title
    assert parse_indicator_value("≥90%") == ("≥", "90", 90.0, "%")
    assert parse_indicator_value("健全") == ("定性", "健全", None, None)


def test_keyword_baseline_on_text(tmp_path):
    fixture = write_fixture(tmp_path)
    records = PdfplumberKeywordsExtractor().extract(fixture.source_path)
    _valid(records)
    result = run_extractor(PdfplumberKeywordsExtractor(), [fixture])
    kinds = result.metrics()["overall"]["kinds"]
    assert kinds["function_line"]["f1"] == 1.0
    assert kinds["function_line"]["numeric"]["f1"] == 1.0
    assert kinds["project"]["f1"] == 1.0
    assert kinds["sangong"]["numeric"]["f1"] == 1.0


def test_regex_baseline_on_text(tmp_path):
    fixture = write_fixture(tmp_path)
    _valid(RegexTextExtractor().extract(fixture.source_path))
    overall = run_extractor(RegexTextExtractor(), [fixture]).metrics()["overall"]
    kinds = overall["kinds"]
    assert kinds["function_line"]["f1"] == 1.0
    # blank cells vanish from plain text: 2010101 / 2010102 have one number each, read as total
    assert 0.5 < kinds["function_line"]["numeric"]["f1"] < 1.0
    assert kinds["fact"]["recall"] == 1.0
    fact = next(r for r in RegexTextExtractor().extract(fixture.source_path) if r["kind"] == "fact")
    assert fact["change"] == 1.0 and fact["provenance"]["line"] == len(DOC_LINES)


def test_baselines_on_a_generated_pdf(tmp_path):
    pytest.importorskip("reportlab")
    rows = [
        ["科目编码", "科目名称", "合计", "基本支出", "项目支出"],
        ["", "合计", "1,500,000.00", "1,000,000.00", "500,000.00"],
        ["201", "一般公共服务支出", "1,500,000.00", "1,000,000.00", "500,000.00"],
        ["20101", "人大事务", "1,500,000.00", "1,000,000.00", "500,000.00"],
    ]
    pdf = make_pdf(tmp_path / "t.pdf", "2024年部门支出预算总表", "单位：元", rows)
    extractors = [PdfplumberKeywordsExtractor(), RegexTextExtractor()]
    if importlib.util.find_spec("camelot") is not None:
        extractors.append(CamelotKeywordsExtractor())
    for extractor in extractors:
        _, records = split_output(extractor.extract(pdf))
        _valid(records)
        lines = {r["code"]: r for r in records if r["kind"] == "function_line"}
        assert set(lines) == {None, "201", "20101"}, extractor.name
        assert lines["201"]["total"] == pytest.approx(150.0), extractor.name  # 元 → 万元
        assert lines["20101"]["project"] == pytest.approx(50.0), extractor.name
        assert lines["20101"]["parent_code"] == "201"
        assert all(r["provenance"]["page"] == 1 for r in records)


def test_camelot_availability_is_reported():
    reason = CamelotKeywordsExtractor().available()
    if importlib.util.find_spec("camelot") is None:
        assert "camelot" in reason
    else:
        assert reason is None


@pytest.mark.parametrize("name", ["pdfplumber-keywords", "regex-text"])
def test_baselines_run_on_the_corpus(name):
    from yusuan.eval.fixtures import load_fixtures

    fixtures = [f for f in load_fixtures() if f.source.startswith("corpus/")]
    result = run_extractor(load_extractor(name), fixtures)
    overall = result.metrics()["overall"]
    assert overall["failed"] == 0
    assert 0.1 < overall["record"]["f1"] < 1.0  # honest baselines: useful, not perfect
