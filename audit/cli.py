"""`yusuan audit PATH|--doc ID` — find the problems in a disclosure; `yusuan eval audit` scores it on the fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from .source import DocumentAudit

DataOption = typer.Option(None, "--data", help="data directory (default ./yusuan-data or $YUSUAN_DATA)")


def register(app: typer.Typer) -> None:
    app.command("audit")(audit_command)


def audit_command(
    path: Path | None = typer.Argument(None, help="a disclosure file (PDF, spreadsheet, docx, html, text)"),
    doc: str | None = typer.Option(None, "--doc", help="a document id in the store: its issues stored at extraction, "
                                                       "else its source file audited again"),
    recompute: bool = typer.Option(False, "--recompute", help="with --doc: audit the source file again even when "
                                                              "issues are stored"),
    fmt: str = typer.Option("md", "--format", "-f", help="md, csv, json or html"),
    annotate: Path | None = typer.Option(None, "--annotate", help="write a copy of the PDF with the issues boxed here"),
    out: Path | None = typer.Option(None, "--out", "-o", help="write the report here instead of stdout"),
    data: Path | None = DataOption,
) -> None:
    """Audit one disclosure: completeness, arithmetic in and across tables, text vs tables, text arithmetic, lint."""
    from yusuan.ingest import IngestError

    from . import audit_path
    from .report import FORMATS, render

    if fmt not in FORMATS:
        raise typer.BadParameter(f"one of {', '.join(FORMATS)}", param_hint="--format")
    if (path is None) == (doc is None):
        raise typer.BadParameter("give a file PATH or --doc ID (one of them)")
    if recompute and doc is None:
        raise typer.BadParameter("--recompute goes with --doc", param_hint="--recompute")
    origin = None
    try:
        if doc is None:
            extraction, issues = audit_path(path)
            meta, source = extraction.document, path
        else:
            audit, source = _stored(doc, data, recompute, need_source=annotate is not None)
            meta, issues, origin = audit.document, audit.issues, audit.origin
    except (LookupError, OSError, IngestError) as exc:  # a file that cannot be read: one line naming it and why
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    report = render(issues, meta, fmt)
    if origin and fmt == "json":
        report = json.dumps({**json.loads(report), "origin": origin}, ensure_ascii=False, indent=2)
    if out:
        out.write_text(report, encoding="utf-8")
    else:
        typer.echo(report, nl=False)
    if origin:
        how = "stored at extraction" if origin == "stored" else "recomputed from the source file"
        typer.echo(f"issues {how} ({origin})", err=True)
    if annotate:
        if Path(source).suffix.lower() != ".pdf":
            typer.echo("error: --annotate needs a PDF", err=True)
            raise typer.Exit(2)
        from .annotate import annotate_pdf

        typer.echo(f"annotated: {annotate_pdf(source, issues, annotate)}", err=True)


def _stored(doc_id: str, data: Path | None, recompute: bool, need_source: bool) -> tuple[DocumentAudit, Path | None]:
    """A stored document's issues, and its source file when ``need_source`` (to annotate)."""
    from yusuan.config import db_path
    from yusuan.store import Store

    from .source import stored_audit, stored_source

    if not db_path(data).exists():
        raise LookupError(f"no store at {db_path(data)}; run yusuan extract first")
    with Store(db_path(data), read_only=True) as store:
        audit = stored_audit(store.con, doc_id, recompute)
        source = stored_source(store.con, doc_id) if need_source else None
    return audit, source


def eval_audit_command(
    fixtures: Path = typer.Option(Path("eval/audit"), "--fixtures", help="folder of audit fixtures (*.json)"),
    as_json: bool = typer.Option(False, "--json", help="print the per-document results as JSON"),
) -> None:
    """Precision and recall of `yusuan audit` per rule family on the hand-labelled issue fixtures."""
    from .evaluate import format_report, run_eval

    result = run_eval(fixtures)
    typer.echo(result.model_dump_json(indent=2) if as_json else format_report(result))
