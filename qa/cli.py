"""`yusuan ask` (`yusuan eval qa` lives in the eval group)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

DataOption = typer.Option(None, "--data", help="data directory (default ./yusuan-data or $YUSUAN_DATA)")


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_command)


def ask_command(
    question: str = typer.Argument(..., help="中文问题，例如 哪个部门三公经费最高"),
    data: Path | None = DataOption,
    as_json: bool = typer.Option(False, "--json", help="print the full answer object as JSON"),
) -> None:
    """Answer a question over the records (rules first, optional LLM assist for unparsed questions)."""
    from yusuan.config import db_path

    from .engine import ask

    if not db_path(data).exists():
        typer.echo(json.dumps({"error": f"no store at {db_path(data)}; run yusuan extract first"}, ensure_ascii=False))
        raise typer.Exit(2)
    answer = ask(question, data)
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
        return
    typer.echo(answer.answer)
    for ev in answer.evidence[:10]:
        where = f"{ev.source}:{ev.line}" if ev.page is None else f"{ev.source} p.{ev.page} l.{ev.line}"
        typer.echo(f"  证据 {where}  {ev.raw}")


def qa_eval_command(
    questions: Path = typer.Option(Path("eval/qa_questions.jsonl"), "--questions", help="question set (jsonl)"),
    data: Path | None = DataOption,
) -> None:
    """Exact-answer accuracy of `yusuan ask` on a question set, by intent."""
    from .evaluate import format_report, run_qa_eval

    report = run_qa_eval(questions, data)
    typer.echo(format_report(report))
