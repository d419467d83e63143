"""QA question sets (eval/qa_questions*.jsonl, eval/qa/analyst_*.jsonl): loading and format checks.

The runner that asks these questions is the QA stage's (`yusuan eval qa`, yusuan.qa.evaluate); this module only
defines and checks the files (see docs/eval.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .fixtures import repo_root, resolve_source

# The intents of the QA stage's query plans (yusuan.qa.plan.INTENTS, docs/qa.md).
INTENTS = frozenset(
    {"lookup", "series", "change", "growth", "sum", "average", "median", "count", "list", "share", "rank", "compare",
     "execution", "why", "unknown"}
)
EXPECTED_KEYS = {"value", "unit", "entity", "entities", "answer_contains", "no_data", "clarify"}
REQUIRED = ("id", "question", "intent", "expected")


def default_questions_path() -> Path:
    return Path(__file__).resolve().parent / "qa_questions.jsonl"


def grounded_questions_path() -> Path:
    return Path(__file__).resolve().parent / "qa_questions_grounded.jsonl"


def load_questions(path: str | Path | None = None) -> list[dict[str, Any]]:
    path = Path(path) if path else default_questions_path()
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON: {exc}") from exc
        item["_line"] = number
        questions.append(item)
    return questions


def validate_questions(
    questions: list[dict[str, Any]], root: Path | None = None, require_sources: bool = False
) -> list[str]:
    """Format problems (empty when the file is well-formed). `source_docs` is required for grounded sets."""
    root = root or repo_root()
    problems = []
    seen: set[str] = set()
    for item in questions:
        where = f"line {item.get('_line', '?')}"
        for key in REQUIRED:
            if key not in item:
                problems.append(f"{where}: missing '{key}'")
        qid = item.get("id")
        if qid in seen:
            problems.append(f"{where}: duplicate id {qid!r}")
        seen.add(qid)
        if item.get("intent") not in INTENTS:
            problems.append(f"{where}: intent {item.get('intent')!r} is not one of {sorted(INTENTS)}")
        expected = item.get("expected")
        if not isinstance(expected, dict) or not (EXPECTED_KEYS - {"unit"}) & set(expected):
            problems.append(f"{where}: expected must say what a correct answer holds (value, entity, no_data …)")
        else:
            unknown = set(expected) - EXPECTED_KEYS
            if unknown:
                problems.append(f"{where}: expected has unknown keys {sorted(unknown)}")
            value = expected.get("value")
            if value is not None and (not isinstance(value, (int, float, str)) or isinstance(value, bool)):
                problems.append(f"{where}: expected.value must be a number, text or null")
            if isinstance(value, (int, float)) and not expected.get("unit"):
                problems.append(f"{where}: a numeric expected.value needs expected.unit")
        docs = item.get("source_docs")
        if docs is None and not require_sources:
            continue
        # a question the store cannot answer (a department or year it lacks) may cite no document at all
        unanswerable = (item.get("expected") or {}).get("no_data") is True
        if not isinstance(docs, list) or (not docs and not unanswerable):
            problems.append(f"{where}: source_docs must be a non-empty list")
        else:
            for doc in docs:
                if not resolve_source(doc, root).is_file():
                    problems.append(f"{where}: source document not found: {doc}")
    return problems
