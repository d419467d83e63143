from __future__ import annotations

import copy

import pytest
from eval_support import GOLD_RECORDS, write_fixture

from yusuan.eval.fixtures import (
    default_fixtures_dir,
    load_fixtures,
    repo_root,
    resolve_source,
    validate_fixture,
    validate_fixtures,
)


def _errors(problems):
    return [p for p in problems if p.severity == "error"]


def _warnings(problems):
    return [p for p in problems if p.severity == "warning"]


def test_shipped_fixtures_have_no_format_errors():
    fixtures = load_fixtures()
    assert len(fixtures) >= 5
    problems = validate_fixtures(fixtures, check_source=False)
    assert _errors(problems) == []
    # documents are sometimes inconsistent, but the labels' arithmetic must hold within 0.005·n + 0.01
    assert [p for p in _warnings(problems) if not p.noted] == []


def test_shipped_corpus_fixtures_match_their_files():
    for fixture in load_fixtures():
        if fixture.source.startswith("corpus/"):
            assert fixture.available, fixture.source
            assert validate_fixture(fixture) == [], fixture.name


def test_sources_resolve_to_repo_and_shared_folder(tmp_path):
    root = repo_root()
    assert (default_fixtures_dir()).is_dir()
    assert resolve_source("corpus/x.txt", root) == root / "corpus" / "x.txt"
    assert resolve_source("realdocs/a/b.pdf", root) == root.parent / "shared" / "realdocs" / "a" / "b.pdf"
    assert resolve_source("realdocs/a/b.pdf", root, tmp_path) == tmp_path / "realdocs" / "a" / "b.pdf"


def test_clean_hand_made_fixture_validates(tmp_path):
    fixture = write_fixture(tmp_path)
    assert validate_fixture(fixture) == []


def test_typo_in_a_child_breaks_the_sum(tmp_path):
    records = copy.deepcopy(GOLD_RECORDS)
    records["function_line"][3]["total"] = 10.0  # 2010101 行政运行: 100.00 typed as 10.00
    fixture = write_fixture(tmp_path, records)
    problems = validate_fixture(fixture)
    assert _errors(problems) == []
    messages = [p.message for p in _warnings(problems)]
    assert any("20101" in m and "total" in m and "sum to 60" in m for m in messages), messages


def test_rounding_within_tolerance_is_not_flagged(tmp_path):
    records = copy.deepcopy(GOLD_RECORDS)
    records["function_line"][3]["total"] = 100.01  # two children: tolerance 0.005·2 + 0.01 = 0.02
    assert _warnings(validate_fixture(write_fixture(tmp_path, records))) == []


def test_sangong_parts_must_sum(tmp_path):
    records = copy.deepcopy(GOLD_RECORDS)
    records["sangong"][0]["reception"] = 20.0
    messages = [p.message for p in _warnings(validate_fixture(write_fixture(tmp_path, records)))]
    assert any("sangong" in m and "total" in m for m in messages), messages


def test_projects_must_sum_to_a_labelled_total(tmp_path):
    records = copy.deepcopy(GOLD_RECORDS)
    records["project"].append(
        {"table_kind": "项目支出表", "unit_name": "测试部门本级", "name": "合计", "amount": 55.0, "loc": {"line": 18}}
    )
    messages = [p.message for p in _warnings(validate_fixture(write_fixture(tmp_path, records)))]
    assert any("project" in m and "合计" in m and "55" in m for m in messages), messages


def test_noted_inconsistency_is_marked(tmp_path):
    records = copy.deepcopy(GOLD_RECORDS)
    records["function_line"][3]["total"] = 10.0
    fixture = write_fixture(tmp_path, records, extra={"notes": "20101 printed 150.00 but its 项 sum to 60.00"})
    warnings = _warnings(validate_fixture(fixture))
    assert warnings and all(p.noted for p in warnings)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["records"]["function_line"][1].update({"totla": 1.0}), "unknown field 'totla'"),
        (lambda d: d["records"]["function_line"][1].update({"total": "150.00"}), "total must be a number"),
        (lambda d: d["records"]["function_line"][1].pop("loc"), "missing loc"),
        (lambda d: d["records"].update({"functions": []}), "unknown record kind"),
        (lambda d: d["records"]["project"][0].update({"table_kind": "项目表"}), "unknown table_kind"),
        (lambda d: d["records"]["function_line"][1].update({"code": "20"}), "3, 5 or 7 digit"),
        (lambda d: d.update({"complete": ["function_lines"]}), "complete lists unknown kind"),
        (lambda d: d.pop("sha256"), "missing required key 'sha256'"),
        (lambda d: d["records"]["sangong"][0].pop("unit_name"), "missing key field 'unit_name'"),
        (lambda d: d["records"]["function_line"][1].update({"other": {"结转": "x"}}), "other.结转 must be a number"),
    ],
)
def test_format_errors(tmp_path, mutate, expected):
    fixture = write_fixture(tmp_path)
    mutate(fixture.data)
    errors = [p.message for p in _errors(validate_fixture(fixture))]
    assert any(expected in m for m in errors), errors


def test_sha256_mismatch_and_missing_source_are_warnings(tmp_path):
    fixture = write_fixture(tmp_path, sha256="0" * 64)
    warnings = [p.message for p in _warnings(validate_fixture(fixture))]
    assert any("sha256" in m for m in warnings)
    fixture.source_path.unlink()
    warnings = [p.message for p in _warnings(validate_fixture(fixture))]
    assert any("source not found" in m for m in warnings)


def test_unreadable_fixture_is_an_error(tmp_path):
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    fixtures = load_fixtures(tmp_path)
    assert _errors(validate_fixtures(fixtures))
