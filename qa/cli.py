"""`yusuan ask` and `yusuan sql` (`yusuan eval qa` lives in the eval group). Imports happen inside the commands."""

from __future__ import annotations

from pathlib import Path

import typer

from .shell import run_ask

DataOption = typer.Option(None, "--data", help="data directory (default ./yusuan-data or $YUSUAN_DATA)")


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_command)
    app.command("sql")(sql_command)


def ask_command(
    question: str = typer.Argument(..., help="中文问题，例如 2025年普陀区各部门三公经费最高的是哪个"),
    data: Path | None = DataOption,
    as_json: bool = typer.Option(False, "--json", help="print the full answer object as JSON"),
    show_sql: bool = typer.Option(False, "--sql", help="print the SQL the answer ran"),
) -> None:
    """Answer a question over the fact model (rules first, optional LLM assist for unparsed questions)."""
    raise typer.Exit(run_ask(question, data, as_json, show_sql))


def sql_command(
    query: str = typer.Argument(..., help='e.g. "SELECT department, year, value FROM facts WHERE concept = \'sangong_total\'"'),
    data: Path | None = DataOption,
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or jsonl"),
    limit: int = typer.Option(200, "--limit", help="rows printed at most (table format)"),
) -> None:
    """Run a read-only SQL query over the store: `facts` (the fact model), `documents` and the record tables."""
    import csv
    import json
    import sys

    import duckdb

    from yusuan.config import db_path
    from yusuan.store.facts import connect_read_only

    if not db_path(data).exists():
        typer.echo(f"error: no store at {db_path(data)}; run yusuan extract first", err=True)
        raise typer.Exit(2)
    con = connect_read_only(str(db_path(data)))
    try:
        cur = con.execute(query)
        columns = [c[0] for c in cur.description] if cur.description else []
        rows = cur.fetchall() if columns else []
    except duckdb.Error as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        con.close()
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt == "jsonl":
        for row in rows:
            typer.echo(json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False, default=str))
    else:
        typer.echo("\t".join(columns))
        for row in rows[:limit]:
            typer.echo("\t".join("" if v is None else str(v) for v in row))
        if len(rows) > limit:
            typer.echo(f"… {len(rows) - limit} more rows (--limit, or --format csv)")


def qa_eval_command(
    questions: Path = typer.Option(Path("eval/qa_questions.jsonl"), "--questions", help="question set (jsonl)"),
    data: Path | None = DataOption,
) -> None:
    """Exact-answer accuracy of `yusuan ask` on a question set, by intent."""
    from .evaluate import format_report, run_qa_eval

    report = run_qa_eval(questions, data)
    typer.echo(format_report(report))
