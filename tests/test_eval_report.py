from __future__ import annotations

import json

from eval_support import GoldExtractor, scaled_predictions, write_fixture
from typer.testing import CliRunner

from yusuan.cli import app
from yusuan.eval import runner
from yusuan.eval.fixtures import load_fixtures
from yusuan.eval.questions import grounded_questions_path, load_questions, validate_questions
from yusuan.eval.report import leaderboard_table, run_json, write_markdown
from yusuan.eval.runner import run_extractor


def _fake_load(fixtures):
    def load(name):
        if name == "gold":
            return GoldExtractor(fixtures)
        if name == "gold-x10":
            extractor = GoldExtractor(fixtures, lambda f: scaled_predictions(f, 10))
            extractor.name = "gold-x10"
            return extractor
        raise AssertionError(name)

    return load


def test_cli_leaderboard_json_and_report(tmp_path, monkeypatch):
    fixture = write_fixture(tmp_path)
    write_fixture(tmp_path, name="second")
    fixtures = load_fixtures(tmp_path / "fixtures", root=tmp_path)
    assert len(fixtures) == 2
    monkeypatch.setattr(runner, "load_fixtures", lambda directory=None: fixtures)
    monkeypatch.setattr(runner, "load_extractor", _fake_load(fixtures))
    cli = CliRunner()

    result = cli.invoke(app, ["eval", "-e", "gold,gold-x10", "--fixtures", str(tmp_path / "fixtures")])
    assert result.exit_code == 0, result.output
    assert "gold" in result.stdout and "100.0" in result.stdout

    report = tmp_path / "out" / "report.md"
    result = cli.invoke(app, ["eval", "-e", "gold,gold-x10", "--json", "--report", str(report), "--tolerance", "0.01"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["tolerance"] == 0.01
    assert [row["extractor"] for row in data["leaderboard"]] == ["gold", "gold-x10"]
    gold, scaled = data["extractors"]
    assert gold["overall"]["numeric_f1"] == 1.0 and gold["fingerprint"] == "gold-test"
    assert scaled["overall"]["numeric_f1"] < 0.5
    per_doc = scaled["by_document"][fixture.name]
    assert per_doc["sha256"] == fixture.sha256
    assert any(m["type"] == "wrong_value" for m in per_doc["misses"])
    assert data["documents"][fixture.name]["sha256"] == fixture.sha256
    text = report.read_text(encoding="utf-8")
    assert "## Leaderboard" in text and "gold-x10" in text and "report.png" in text
    png = report.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_markdown_and_table_without_results(tmp_path):
    fixture = write_fixture(tmp_path)
    result = run_extractor(GoldExtractor([fixture]), [fixture])
    table = leaderboard_table([result])
    assert table.row_count == 1
    path, chart = write_markdown([result], tmp_path / "r.md")
    assert path.exists() and chart is not None and chart.exists()
    data = run_json([result])
    assert data["extractors"][0]["overall"]["record"]["f1"] == 1.0
    assert data["environment"]["python"]


def test_cli_validate(tmp_path):
    cli = CliRunner()
    result = cli.invoke(app, ["eval", "validate"])
    assert result.exit_code == 0, result.output
    assert "0 errors" in result.stdout
    write_fixture(tmp_path)
    bad = tmp_path / "fixtures" / "test_doc.json"
    data = json.loads(bad.read_text(encoding="utf-8"))
    data["records"]["function_line"][1]["totla"] = 1
    bad.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = cli.invoke(app, ["eval", "validate", "--fixtures", str(tmp_path / "fixtures"), "--json", "--no-source"])
    assert result.exit_code == 1
    problems = json.loads(result.stdout)
    assert any("totla" in p["message"] and p["severity"] == "error" for p in problems)


def test_cli_list():
    result = CliRunner().invoke(app, ["eval", "list"])
    assert result.exit_code == 0, result.output
    assert "regex-text" in result.stdout and "llm" in result.stdout


def test_qa_question_sets_are_well_formed():
    assert validate_questions(load_questions()) == []
    assert validate_questions([{"id": "x", "question": "?", "intent": "lookup", "expected": {"value": 1}}])


def test_grounded_questions_are_in_their_documents():
    questions = load_questions(grounded_questions_path())
    assert len(questions) >= 10
    assert validate_questions(questions, require_sources=True) == []
    from yusuan.eval.fixtures import resolve_source

    for item in questions:
        value = item["expected"]["value"]
        texts = [resolve_source(doc).read_text(encoding="utf-8") for doc in item["source_docs"]]
        forms = {f"{abs(value):.2f}", f"{abs(value):g}", f"{abs(value) * 10000:.2f}"}
        assert any(form in text for form in forms for text in texts), item["id"]
        assert any(item["expected"]["entity"] in text for text in texts), item["id"]
