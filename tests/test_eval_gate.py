"""CI gate: yusuan's own extractor over the seed fixtures (sources under corpus/) must not fall below the numeric-field
F1 (and, if set, record F1) stored in eval/thresholds.json. Raise the thresholds when the extractor improves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from yusuan.eval.extractors import YusuanExtractor
from yusuan.eval.fixtures import load_fixtures
from yusuan.eval.runner import run_extractor

THRESHOLDS = Path(__file__).resolve().parents[1] / "eval" / "thresholds.json"


def _thresholds() -> dict:
    return json.loads(THRESHOLDS.read_text(encoding="utf-8"))["yusuan"]


def _misses_summary(result, limit: int = 15) -> str:
    lines = []
    for doc in result.docs:
        if doc.error:
            lines.append(f"{doc.fixture}: failed: {doc.error}")
        for miss in [m for m in doc.misses if m["type"] != "wrong_provenance"][:limit]:
            lines.append(f"{doc.fixture}: {miss['type']} {miss['kind']} {miss.get('key')} {miss.get('field', '')} "
                         f"gold={miss.get('gold')!r} predicted={miss.get('predicted')!r}")
    return "\n".join(lines)


def test_thresholds_file_is_well_formed():
    limits = _thresholds()
    assert isinstance(limits.get("numeric_f1_min"), (int, float)), "set yusuan.numeric_f1_min in eval/thresholds.json"
    assert 0.0 <= limits["numeric_f1_min"] <= 1.0


def test_yusuan_numeric_f1_does_not_regress():
    limits = _thresholds()
    extractor = YusuanExtractor()
    reason = extractor.available()
    if reason:
        pytest.skip(reason)
    prefix = limits.get("fixtures", "corpus")
    fixtures = [f for f in load_fixtures() if f.source.startswith(prefix)]
    assert fixtures, f"no fixtures with sources under {prefix}/"
    result = run_extractor(extractor, fixtures)
    overall = result.metrics()["overall"]
    assert overall["skipped"] == 0, "seed corpus documents are missing"
    numeric_f1 = overall["numeric_f1"] or 0.0
    assert numeric_f1 >= limits["numeric_f1_min"], (
        f"numeric-field F1 {numeric_f1:.4f} < threshold {limits['numeric_f1_min']} "
        f"(eval/thresholds.json)\n{_misses_summary(result)}"
    )
    if isinstance(limits.get("record_f1_min"), (int, float)):
        record_f1 = overall["record"]["f1"] or 0.0
        assert record_f1 >= limits["record_f1_min"], (
            f"record F1 {record_f1:.4f} < threshold {limits['record_f1_min']}\n{_misses_summary(result)}"
        )
