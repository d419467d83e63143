"""`yusuan eval` — score extractors against the hand-labelled fixtures; `yusuan eval validate` — check fixtures."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from yusuan.audit.cli import eval_audit_command
from yusuan.index.cli import search_eval_command
from yusuan.qa.cli import qa_eval_command

from .extractors import load_extractor, registered_extractors, unavailable_reason
from .fixtures import load_fixtures, validate_fixtures
from .match import DEFAULT_TOLERANCE

eval_app = typer.Typer(
    help="Score extractors against the hand-labelled fixtures (eval/fixtures), or validate the fixtures.",
    no_args_is_help=False,
)


@eval_app.callback(invoke_without_command=True)
def evaluate(
    ctx: typer.Context,
    extractor: str = typer.Option(
        "yusuan", "--extractor", "-e", help="extractor name, comma-separated names, or 'all' (see `yusuan eval list`)"
    ),
    fixtures: Path = typer.Option(None, "--fixtures", help="fixture folder (default: eval/fixtures)"),
    as_json: bool = typer.Option(False, "--json", help="print the full results (per document, every miss) as JSON"),
    report: Path = typer.Option(None, "--report", help="write a Markdown report here (chart PNG beside it)"),
    out: Path = typer.Option(None, "--out", help="also write the JSON results to this file"),
    tolerance: float = typer.Option(DEFAULT_TOLERANCE, "--tolerance", help="numeric tolerance in 万元"),
    only: list[str] = typer.Option(
        None, "--only", help="score only fixtures whose name or source starts with this (repeatable)"
    ),
) -> None:
    """Run extractors over the fixtures and print a leaderboard."""
    if ctx.invoked_subcommand is not None:
        return
    from .report import leaderboard_table, run_json, write_json, write_markdown
    from .runner import run

    err = Console(stderr=True)

    def progress(name, fixture, doc) -> None:
        if not as_json:
            status = doc.status if doc.status != "ok" else f"{doc.predicted} records"
            err.print(f"[dim]{name}: {fixture.name} ({status}, {doc.seconds:.1f}s)[/dim]")

    results, warnings = run(extractor, fixtures, tolerance, only or None, progress)
    data = run_json(results, warnings, str(fixtures or ""))
    for warning in data["warnings"]:
        err.print(f"[yellow]warning:[/yellow] {warning}")
    if out:
        write_json(out, data)
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        console = Console()
        if not console.is_terminal:
            console = Console(width=200)
        console.print(leaderboard_table(results))
    if report:
        path, chart = write_markdown(results, report, warnings)
        err.print(f"report: {path}" + (f", chart: {chart}" if chart else ""))


@eval_app.command("validate")
def validate(
    fixtures: Path = typer.Option(None, "--fixtures", help="fixture folder (default: eval/fixtures)"),
    strict: bool = typer.Option(False, "--strict", help="fail on warnings the fixture notes do not explain"),
    as_json: bool = typer.Option(False, "--json", help="print problems as JSON"),
    no_source: bool = typer.Option(False, "--no-source", help="skip the source file / sha256 checks"),
) -> None:
    """Check fixture format (errors) and the labels' own arithmetic (warnings)."""
    loaded = load_fixtures(fixtures)
    problems = validate_fixtures(loaded, check_source=not no_source)
    errors = [p for p in problems if p.severity == "error"]
    unexplained = [p for p in problems if p.severity == "warning" and not p.noted]
    if as_json:
        sys.stdout.write(json.dumps([p.to_dict() for p in problems], ensure_ascii=False, indent=2) + "\n")
    else:
        console = Console()
        for problem in problems:
            style = "red" if problem.severity == "error" else ("dim" if problem.noted else "yellow")
            console.print(f"[{style}]{problem}[/{style}]", highlight=False)
        records = sum(len(f.records(kind)) for f in loaded for kind in f.kinds)
        console.print(
            f"{len(loaded)} fixtures, {records} records: {len(errors)} errors, "
            f"{len(problems) - len(errors)} warnings ({len(unexplained)} not explained by the notes)"
        )
    if errors or (strict and unexplained):
        raise typer.Exit(1)


@eval_app.command("list")
def list_extractors() -> None:
    """Registered extractors (built-ins and `yusuan.extractors` entry points) and whether they can run here."""
    table = Table(title="extractors")
    for header in ("name", "target", "version", "status"):
        table.add_column(header)
    for name, target in sorted(registered_extractors().items()):
        try:
            extractor = load_extractor(name)
            reason = unavailable_reason(extractor)
            version = str(getattr(extractor, "version", ""))
        except Exception as exc:  # a broken plugin is listed, not fatal
            reason, version = str(exc), ""
        table.add_row(name, target, version, "ok" if reason is None else f"[yellow]{reason}[/yellow]")
    Console().print(table)


# The QA and search runners belong to their stages; the `yusuan eval` group gathers every evaluation.
eval_app.command("qa")(qa_eval_command)
eval_app.command("search")(search_eval_command)
eval_app.command("audit")(eval_audit_command)


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
