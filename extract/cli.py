"""`yusuan extract`, `yusuan export`, `yusuan docs`."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from yusuan.config import data_dir as resolve_data_dir
from yusuan.config import db_path
from yusuan.store import Store, export

from .batch import BatchResult, FileOutcome, collect_files, run_batch, write_error_report

console = Console()
DataOption = typer.Option(None, "--data", help="data directory (default ./yusuan-data or $YUSUAN_DATA)")


def register(app: typer.Typer) -> None:
    app.command("extract")(extract_command)
    app.command("export")(export_command)
    app.command("docs")(docs_command)


def extract_command(
    paths: list[Path] = typer.Argument(..., help="files or folders (pdf, xlsx, xls, docx, html, txt, md)"),
    data: Path | None = DataOption,
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="worker processes"),
    timeout: float = typer.Option(300.0, help="per-file time limit in seconds"),
    force: bool = typer.Option(False, help="re-extract files whose content is unchanged"),
) -> None:
    """Extract documents into the store; a bad file is reported and the batch goes on."""
    files = collect_files(paths)
    if not files:
        console.print("[red]no files found[/red]")
        raise typer.Exit(2)
    directory = resolve_data_dir(data)
    started = time.perf_counter()
    with Store(db_path(directory)) as store:
        result = _run_with_progress(files, store, workers, timeout, force)
        report = write_error_report(result, directory)
        _print_summary(store, result, report, time.perf_counter() - started)
    if result.failed:
        raise typer.Exit(1)


def _run_with_progress(files, store, workers, timeout, force) -> BatchResult:
    totals = {"pages": 0, "records": 0, "failed": 0}
    if sys.stdout.isatty():
        progress = Progress(
            TextColumn("[bold]extract"), BarColumn(), MofNCompleteColumn(),
            TextColumn("pages {task.fields[pages]} · records {task.fields[records]} · failed {task.fields[failed]}"),
            TimeRemainingColumn(), console=console,
        )
        with progress:
            task = progress.add_task("extract", total=len(files), **totals)

            def update(outcome: FileOutcome) -> None:
                _tally(totals, outcome)
                progress.update(task, advance=1, **totals)

            return run_batch(files, store, workers, timeout, force, update)

    def log(outcome: FileOutcome) -> None:
        _tally(totals, outcome)
        detail = outcome.reason if outcome.status != "extracted" else f"{outcome.records} records, {outcome.pages} pages"
        print(f"[{outcome.status}] {outcome.source}: {detail}", flush=True)

    return run_batch(files, store, workers, timeout, force, log)


def _tally(totals: dict[str, int], outcome: FileOutcome) -> None:
    totals["pages"] += outcome.pages
    totals["records"] += outcome.records
    totals["failed"] += outcome.status == "failed"


def _print_summary(store: Store, result: BatchResult, report: Path, seconds: float) -> None:
    extracted = sum(o.status == "extracted" for o in result.outcomes)
    skipped = sum(o.status == "skipped" for o in result.outcomes)
    documents = store.con.execute("SELECT count(*) FROM documents").fetchone()[0]
    console.print(
        f"{len(result.outcomes)} files: {extracted} extracted, {skipped} unchanged, {len(result.failed)} failed "
        f"in {seconds:.1f} s · store holds {documents} documents"
    )
    counts = Table(title="records per kind")
    counts.add_column("kind")
    counts.add_column("records", justify="right")
    for kind, count in store.counts().items():
        counts.add_row(kind, str(count))
    console.print(counts)
    passed, failed = store.check_totals()
    console.print(f"consistency checks: {passed} passed, {failed} failed")
    if result.failed or any(o.warnings or o.pages_needing_ocr for o in result.outcomes):
        errors = Table(title=f"problems (details in {report})")
        for column in ("file", "stage", "reason"):
            errors.add_column(column)
        for outcome in result.outcomes:
            if outcome.status == "failed":
                errors.add_row(outcome.source, outcome.stage, outcome.reason)
            elif outcome.pages_needing_ocr:
                errors.add_row(outcome.source, "ocr", f"pages needing OCR: {outcome.pages_needing_ocr}")
        console.print(errors)


def export_command(
    fmt: str = typer.Option("jsonl", "--format", "-f", help="jsonl, csv or parquet"),
    out: Path = typer.Option(Path("yusuan-export"), "--out", "-o"),
    data: Path | None = DataOption,
) -> None:
    """Write one file per record kind (and documents)."""
    if fmt not in ("jsonl", "csv", "parquet"):
        console.print(f"[red]unknown format {fmt!r}: use jsonl, csv or parquet[/red]")
        raise typer.Exit(2)
    with Store(db_path(data)) as store:
        for path in export(store, fmt, out):
            console.print(str(path))


def docs_command(data: Path | None = DataOption) -> None:
    """List the documents in the store."""
    with Store(db_path(data)) as store:
        frame = store.documents()
    table = Table()
    for column in ("doc_id", "department", "region", "year", "doc_kind", "unit_original", "source"):
        table.add_column(column)
    for row in frame.itertuples():
        table.add_row(*(str(getattr(row, c)) if getattr(row, c) is not None else "" for c in
                        ("doc_id", "department", "region", "year", "doc_kind", "unit_original", "source")))
    console.print(table)
