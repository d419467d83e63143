"""CI gates: yusuan's own extractor over the seed fixtures (sources under corpus/) and over the hand-labelled real PDFs
(sources under realdocs/) must not fall below the numeric-field F1 and record F1 stored in eval/thresholds.json.
Raise the thresholds when the extractor improves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from yusuan.eval.extractors import YusuanExtractor
from yusuan.eval.fixtures import load_fixtures
from yusuan.eval.runner import run_extractor

THRESHOLDS = Path(__file__).resolve().parents[1] / "eval" / "thresholds.json"


GATES = ("corpus", "realdocs")


def _thresholds(gate: str) -> dict:
    return json.loads(THRESHOLDS.read_text(encoding="utf-8"))["yusuan"][gate]


def _misses_summary(result, limit: int = 15) -> str:
    lines = []
    for doc in result.docs:
        if doc.error:
            lines.append(f"{doc.fixture}: failed: {doc.error}")
        for miss in [m for m in doc.misses if m["type"] != "wrong_provenance"][:limit]:
            lines.append(f"{doc.fixture}: {miss['type']} {miss['kind']} {miss.get('key')} {miss.get('field', '')} "
                         f"gold={miss.get('gold')!r} predicted={miss.get('predicted')!r}")
    return "\n".join(lines)


@pytest.mark.parametrize("gate", GATES)
def test_thresholds_file_is_well_formed(gate):
    limits = _thresholds(gate)
    for name in ("numeric_f1_min", "record_f1_min"):
        assert isinstance(limits.get(name), (int, float)), f"set yusuan.{gate}.{name} in eval/thresholds.json"
        assert 0.0 <= limits[name] <= 1.0


@pytest.mark.parametrize("gate", GATES)
def test_yusuan_f1_does_not_regress(gate):
    limits = _thresholds(gate)
    extractor = YusuanExtractor()
    assert extractor.available() is None
    fixtures = [f for f in load_fixtures() if f.source.startswith(gate)]
    assert len(fixtures) >= (5 if gate == "corpus" else 8), f"too few fixtures with sources under {gate}/"
    result = run_extractor(extractor, fixtures)
    overall = result.metrics()["overall"]
    assert overall["skipped"] == 0 and overall["failed"] == 0, f"{gate} documents are missing or failed"
    numeric_f1 = overall["numeric_f1"] or 0.0
    assert numeric_f1 >= limits["numeric_f1_min"], (
        f"numeric-field F1 {numeric_f1:.4f} < threshold {limits['numeric_f1_min']} "
        f"(eval/thresholds.json)\n{_misses_summary(result)}"
    )
    record_f1 = overall["record"]["f1"] or 0.0
    assert record_f1 >= limits["record_f1_min"], (
        f"record F1 {record_f1:.4f} < threshold {limits['record_f1_min']}\n{_misses_summary(result)}"
    )
