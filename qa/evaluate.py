"""QA evaluation: exact-answer accuracy by intent over a question file (docs/qa.md, the analyst question format).

Each line: {"id", "question", "intent", "expected": {...}}; every expected key given must hold:
value + unit (money compared in the expected unit within 0.01, % within 0.05 points, counts exact; null = no value),
entity (appears in the answer sentence), entities (all appear), answer_contains (all appear), no_data (the answer says
the store cannot answer and has no value), clarify (the answer asks back, listing candidates).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from .engine import Answer, Engine

_TO_WAN = {"万元": 1.0, "元": 0.0001, "亿元": 10000.0}


def value_ok(expected: dict[str, Any], answer: Answer) -> bool:
    if "value" not in expected:
        return True
    want, got = expected["value"], answer.value
    if want is None or got is None:
        return want is None and got is None
    eu, au = expected.get("unit"), answer.unit
    if eu in _TO_WAN and au in _TO_WAN:
        got = got * _TO_WAN[au] / _TO_WAN[eu]
    elif eu != au and eu is not None and au is not None and not (eu == "个" and au is None):
        return False
    if eu == "%":
        return abs(float(got) - float(want)) <= 0.05
    if eu == "个":
        return round(float(got)) == round(float(want))
    return abs(float(got) - float(want)) <= 0.01 + 1e-9 * abs(float(want))


def _normalized(text: str) -> str:
    from yusuan.vocab import normalize

    return normalize(text).replace(",", "")


def answer_ok(expected: dict[str, Any], answer: Answer) -> bool:
    text = _normalized(answer.answer)
    if not value_ok(expected, answer):
        return False
    if expected.get("entity") and _normalized(expected["entity"]) not in text:
        return False
    if any(_normalized(e) not in text for e in expected.get("entities") or []):
        return False
    if any(_normalized(s) not in text for s in expected.get("answer_contains") or []):
        return False
    if expected.get("no_data") and not (answer.no_data and answer.value is None):
        return False
    return not (expected.get("clarify") and not (answer.clarify and answer.candidates))


def run_qa_eval(questions_path: str | Path, data_dir: str | Path | None) -> dict[str, Any]:
    from yusuan.config import db_path
    from yusuan.store.lock import StoreConnection

    lines = [json.loads(line) for line in Path(questions_path).read_text(encoding="utf-8").splitlines() if line.strip()]
    con = StoreConnection(db_path(data_dir))  # read-only, under the store's shared lock
    per_intent: dict[str, dict[str, int]] = defaultdict(lambda: {"n": 0, "correct": 0, "intent_ok": 0})
    details = []
    try:
        engine = Engine(con, data_dir)
        for item in lines:
            answer = engine.ask(item["question"], use_llm=False)
            expected = item.get("expected") or {}
            ok = answer_ok(expected, answer)
            intent_ok = answer.plan is not None and answer.plan.intent == item.get("intent")
            bucket = per_intent[item.get("intent", "?")]
            bucket["n"] += 1
            bucket["correct"] += int(ok)
            bucket["intent_ok"] += int(intent_ok)
            details.append({"id": item.get("id"), "question": item["question"], "ok": ok, "intent_ok": intent_ok,
                            "intent": item.get("intent"), "got_intent": answer.plan.intent if answer.plan else None,
                            "got": answer.value, "unit": answer.unit, "answer": answer.answer[:300], "expected": expected})
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
        out.append(f"  {intent:12s} {b['correct']}/{b['n']}  ({b['accuracy']:.0%}; intent recognised {b['intent_ok']}/{b['n']})")
    for d in report["details"]:
        if not d["ok"]:
            out.append(f"  ✗ {d['id']} [{d['intent']}→{d['got_intent']}] {d['question']} → {d['got']} {d['unit']} "
                       f"(expected {json.dumps(d['expected'], ensure_ascii=False)}) {d['answer'][:120]}")
    return "\n".join(out)
