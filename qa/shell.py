"""`yusuan ask` as a shell command, without typer: yusuan.cli's fast path calls :func:`run_ask` directly, and the
typer command (qa/cli.py) wraps it. Only the engine is imported, and only once the store is known to exist."""

from __future__ import annotations

from pathlib import Path


def run_ask(question: str, data: Path | None, as_json: bool = False, show_sql: bool = False) -> int:
    """Answer one question and print it (the full answer object with `as_json`); returns the exit status."""
    import json

    from yusuan.config import db_path

    if not db_path(data).exists():
        print(json.dumps({"error": f"no store at {db_path(data)}; run yusuan extract first"}, ensure_ascii=False))
        return 2
    from .engine import ask

    answer = ask(question, data)
    if as_json:
        print(answer.model_dump_json(indent=2))
        return 0
    print(answer.answer)
    for ev in answer.evidence[:10]:
        where = f"{ev.source}:{ev.line}" if ev.page is None else f"{ev.source} p.{ev.page} l.{ev.line}"
        print(f"  证据 {where}  {ev.raw}")
    if show_sql:
        for sql in answer.sql:
            print(f"  SQL {sql}")
    return 0
