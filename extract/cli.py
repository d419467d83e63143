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

from .batch import BatchResult, FileOutcome, collect_files, problems, run_batch, write_error_report

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
    timeout: float = typer.Option(300.0, help="per-file time limit in seconds (0: none)"),
    max_memory: float = typer.Option(4096.0, "--max-memory", help="per-worker memory limit in MB (0: none)"),
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
        result = _run_with_progress(files, store, workers, timeout or None, max_memory or None, force)
        report = write_error_report(result, directory)
        _print_summary(store, result, report, time.perf_counter() - started)
    if result.failed:
        raise typer.Exit(1)


def _run_with_progress(files, store, workers, timeout, max_memory, force) -> BatchResult:
    totals = {"pages": 0, "records": 0, "failed": 0, "skipped": 0}
    options = {"workers": workers, "timeout": timeout, "force": force, "max_memory_mb": max_memory}
    if sys.stdout.isatty():
        progress = Progress(
            BarColumn(bar_width=16), MofNCompleteColumn(), TextColumn("files ·"), TextColumn("{task.description}"),
            TextColumn("· ETA"), TimeRemainingColumn(), console=console,
        )
        with progress:
            task = progress.add_task(_counts(totals), total=None)

            def start(to_extract: int, skipped: int) -> None:
                progress.update(task, total=to_extract)  # the ETA counts files still to read, not skipped ones

            def update(outcome: FileOutcome) -> None:
                _tally(totals, outcome)
                progress.update(task, advance=outcome.status != "skipped", description=_counts(totals))

            return run_batch(files, store, on_progress=update, on_start=start, **options)

    count = {"done": 0, "total": len(files)}

    def log(outcome: FileOutcome) -> None:
        _tally(totals, outcome)
        count["done"] += 1
        if outcome.status == "failed":
            detail = f"{outcome.stage}: {outcome.reason}"
        elif outcome.status == "skipped":
            detail = outcome.reason
        else:
            detail = f"{outcome.records} records, {outcome.pages} pages, {outcome.seconds:.1f} s"
        if outcome.status != "failed":
            detail += _problems(outcome)
        print(f"[{outcome.status}] {count['done']}/{count['total']} {outcome.source}: {detail}", flush=True)

    return run_batch(files, store, on_progress=log, **options)


def _counts(totals: dict[str, int]) -> str:
    text = f"{totals['pages']} pages · {totals['records']} records · {totals['failed']} failed"
    return text + (f" · {totals['skipped']} skipped" if totals["skipped"] else "")


def _problems(outcome: FileOutcome) -> str:
    text = ""
    if outcome.pages_needing_ocr:
        text += f" · pages needing OCR: {_pages(outcome.pages_needing_ocr)}"
    if outcome.warnings:
        text += f" · {len(outcome.warnings)} warning{'s' if len(outcome.warnings) > 1 else ''}"
    return text


def _pages(pages: list[int]) -> str:
    return ", ".join(map(str, pages[:10])) + (f" … ({len(pages)} pages)" if len(pages) > 10 else "")


def _tally(totals: dict[str, int], outcome: FileOutcome) -> None:
    totals["pages"] += outcome.pages
    totals["records"] += outcome.records
    totals["failed"] += outcome.status == "failed"
    totals["skipped"] += outcome.status == "skipped"


SUMMARY_ROWS = 40


def _print_summary(store: Store, result: BatchResult, report: Path, seconds: float) -> None:
    out = console if console.is_terminal else Console(width=200)  # a log file is not 80 columns wide
    extracted = [o for o in result.outcomes if o.status == "extracted"]
    skipped = [o for o in result.outcomes if o.status == "skipped"]
    unchanged = sum(o.reason.startswith("unchanged") for o in skipped)
    duplicates = f", {len(skipped) - unchanged} duplicates" if len(skipped) > unchanged else ""
    documents = store.con.execute("SELECT count(*) FROM documents").fetchone()[0]
    pages = sum(o.pages for o in extracted)
    rate = f" ({pages / seconds:.1f} pages/s)" if pages and seconds > 0 else ""
    out.print(
        f"{len(result.outcomes)} files: {len(extracted)} extracted ({pages} pages), {unchanged} unchanged{duplicates}, "
        f"{len(result.failed)} failed in {seconds:.1f} s{rate} · store holds {documents} documents"
    )
    counts = Table(title="records per kind")
    counts.add_column("kind")
    counts.add_column("records", justify="right")
    for kind, count in store.counts().items():
        counts.add_row(kind, str(count))
    out.print(counts)
    passed, failed = store.check_totals()
    out.print(f"consistency checks: {passed} passed, {failed} failed")
    rows = problems(result)
    if not rows:
        return
    needing_ocr = sum(bool(o.pages_needing_ocr) for o in rows)
    with_warnings = sum(o.status != "failed" and bool(o.warnings) for o in rows)
    errors = Table(title=f"{len(result.failed)} failed · {needing_ocr} need OCR · {with_warnings} with warnings "
                         f"(details in {report})")
    for column in ("file", "status", "stage", "reason", "pages needing OCR", "warnings"):
        errors.add_column(column, overflow="fold")
    for outcome in rows[:SUMMARY_ROWS]:
        first = outcome.warnings[0] if outcome.warnings else ""
        more = f" (+{len(outcome.warnings) - 1} more)" if len(outcome.warnings) > 1 else ""
        errors.add_row(outcome.source, outcome.status, outcome.stage, outcome.reason,
                       _pages(outcome.pages_needing_ocr), first + more)
    if len(rows) > SUMMARY_ROWS:
        errors.caption = f"… and {len(rows) - SUMMARY_ROWS} more files in {report}"
    out.print(errors)


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
    columns = ("doc_id", "department", "region", "year", "doc_kind", "unit_original", "source")
    table = Table()
    for column in columns:
        table.add_column(column)
    for row in frame[list(columns)].astype(object).where(frame[list(columns)].notna(), "").itertuples(index=False):
        table.add_row(*(str(value) for value in row))
    console.print(table)
