"""QA over real PDFs: eval/qa_questions_realdocs.jsonl, whose answers were read from the PDFs (page and printed text
in each question's `evidence`), asked over a store holding exactly the PDFs the questions cite (≤ 6)."""

from __future__ import annotations

import json

import pytest
from conftest import REALDOCS, ROOT

from yusuan.eval.questions import INTENTS, load_questions, validate_questions
from yusuan.qa.evaluate import format_report, run_qa_eval

QUESTIONS = ROOT / "eval" / "qa_questions_realdocs.jsonl"
# Measured over the six PDFs: 44/44. Raise when it improves, never lower it to pass; a miss caused by extraction is
# reported with the question id (see the failure message), not fixed by editing the expected value.
MIN_CORRECT = 44


def _sources() -> list[str]:
    return sorted({doc for item in load_questions(QUESTIONS) for doc in item["source_docs"]})


@pytest.fixture(scope="session")
def realdocs_store(tmp_path_factory):
    from yusuan.config import db_path
    from yusuan.extract.batch import run_batch
    from yusuan.store import Store

    data = tmp_path_factory.mktemp("qa-realdocs")
    paths = [REALDOCS / doc.removeprefix("realdocs/") for doc in _sources()]
    with Store(db_path(data)) as store:
        run_batch(paths, store, workers=2)
    return data


def test_question_file_is_grounded():
    questions = load_questions(QUESTIONS)
    assert validate_questions(questions, require_sources=True) == []
    assert len(questions) >= 25
    assert all(item["evidence"] and "p." in item["evidence"] for item in questions)
    assert {item["intent"] for item in questions} >= {"lookup", "rank", "compare", "sum", "change", "share", "count", "list"}
    assert {item["intent"] for item in questions} <= INTENTS
    assert len(_sources()) <= 6


def test_documents_have_stable_names(realdocs_store):
    import duckdb

    from yusuan.config import db_path

    con = duckdb.connect(str(db_path(realdocs_store)), read_only=True)
    try:
        rows = con.execute("SELECT department, year FROM documents").fetchall()
    finally:
        con.close()
    assert sorted(rows) == sorted([
        ("上海市普陀区人民政府办公室", 2025), ("上海市普陀区人民政府万里街道办事处", 2024),
        ("上海市普陀区人民政府万里街道办事处", 2025), ("上海市普陀区商务委员会", 2025),
        ("江苏省人民检察院", 2019), ("江苏省高级人民法院", 2019),
    ])


def test_realdocs_question_accuracy(realdocs_store, capsys):
    report = run_qa_eval(QUESTIONS, realdocs_store)
    text = format_report(report)
    with capsys.disabled():
        print("\n[qa realdocs] " + text)
    misses = [{k: d[k] for k in ("id", "question", "got", "unit", "expected", "answer")} for d in report["details"]
              if not d["ok"]]
    assert report["correct"] >= MIN_CORRECT, json.dumps(misses, ensure_ascii=False, indent=1)
    assert all(b["intent_ok"] == b["n"] for b in report["by_intent"].values()), text
