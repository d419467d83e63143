"""QA evaluation: exact-answer accuracy by intent over eval/qa_questions.jsonl.

Each line: {"id", "question", "intent", "expected": {"value", "unit", "entity"}}. An answer is correct when the
value matches within 0.01 (after converting to the expected unit; counts compare as integers) and, when expected
has an entity, the entity appears in the answer sentence or its first row. The intent is reported separately.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb

from .engine import Engine

_TO_WAN = {"万元": 1.0, "元": 0.0001, "亿元": 10000.0}


def _value_ok(expected: dict[str, Any], answer) -> bool:
    if "value" not in expected:
        return True
    want, got = expected["value"], answer.value
    if want is None or got is None:
        return want is None and got is None
    eu, au = expected.get("unit"), answer.unit
    if eu in _TO_WAN and au in _TO_WAN:
        got = got * _TO_WAN[au] / _TO_WAN[eu]
    return abs(float(got) - float(want)) <= 0.01 + 1e-9 * abs(float(want))


def _entity_ok(expected: dict[str, Any], answer) -> bool:
    entity = expected.get("entity")
    if not entity:
        return True
    return entity in answer.answer


def run_qa_eval(questions_path: str | Path, data_dir: str | Path | None) -> dict[str, Any]:
    from yusuan.config import db_path

    lines = [json.loads(line) for line in Path(questions_path).read_text(encoding="utf-8").splitlines() if line.strip()]
    con = duckdb.connect(str(db_path(data_dir)), read_only=True)
    per_intent: dict[str, dict[str, int]] = defaultdict(lambda: {"n": 0, "correct": 0, "intent_ok": 0})
    details = []
    try:
        engine = Engine(con, data_dir)
        for item in lines:
            answer = engine.ask(item["question"], use_llm=False)
            expected = item.get("expected") or {}
            ok = _value_ok(expected, answer) and _entity_ok(expected, answer)
            intent_ok = answer.plan is not None and answer.plan.intent == item.get("intent")
            bucket = per_intent[item.get("intent", "?")]
            bucket["n"] += 1
            bucket["correct"] += int(ok)
            bucket["intent_ok"] += int(intent_ok)
            details.append({"id": item.get("id"), "question": item["question"], "ok": ok, "intent_ok": intent_ok,
                            "got": answer.value, "unit": answer.unit, "answer": answer.answer[:200],
                            "expected": expected})
    finally:
        con.close()
    n = sum(b["n"] for b in per_intent.values())
    correct = sum(b["correct"] for b in per_intent.values())
    return {"n": n, "correct": correct, "accuracy": correct / n if n else 0.0,
            "by_intent": {k: {**v, "accuracy": v["correct"] / v["n"]} for k, v in sorted(per_intent.items())},
            "details": details}


def format_report(report: dict[str, Any]) -> str:
    out = [f"QA exact-answer accuracy: {report['correct']}/{report['n']} = {report['accuracy']:.1%}"]
    for intent, b in report["by_intent"].items():
        out.append(f"  {intent:18s} {b['correct']}/{b['n']}  ({b['accuracy']:.0%}; intent recognised {b['intent_ok']}/{b['n']})")
    for d in report["details"]:
        if not d["ok"]:
            out.append(f"  ✗ {d['id']} {d['question']} → {d['got']} {d['unit']} (expected {d['expected']}) {d['answer'][:80]}")
    return "\n".join(out)
