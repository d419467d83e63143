"""`yusuan extract`, `yusuan export`, `yusuan docs`, `yusuan import`."""

from __future__ import annotations

import json
import sys
import time
from functools import partial
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
    app.command("import")(import_command)


def extract_command(
    paths: list[Path] = typer.Argument(..., help="files or folders (pdf, xlsx, xls, docx, html, txt, md)"),
    data: Path | None = DataOption,
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="worker processes"),
    timeout: float = typer.Option(300.0, help="per-file time limit in seconds (0: none)"),
    max_memory: float = typer.Option(4096.0, "--max-memory", help="per-worker memory limit in MB (0: none)"),
    force: bool = typer.Option(False, help="re-extract files whose content is unchanged"),
    commit_every: float = typer.Option(1.0, "--commit-every", min=0, help="documents read within this many seconds are "
                                       "committed in one transaction (what a kill can cost to redo; 0: each on its own)"),
    engine: str = typer.Option("local", help="local: worker processes here, into the store; ray: a Ray cluster, "
                                              "into the Parquet dataset DATA/dataset (load it with `yusuan import`)"),
    address: str | None = typer.Option(None, help="Ray cluster address (default $RAY_ADDRESS, else a local Ray)"),
) -> None:
    """Extract documents into the store; a bad file is reported and the batch goes on."""
    from .ray_engine import expand_list_files

    if engine not in ("local", "ray"):
        console.print(f"[red]unknown engine {engine!r}: use local or ray[/red]")
        raise typer.Exit(2)
    refused: list[FileOutcome] = []  # named or linked files that cannot be read: reported, the rest goes on
    files = collect_files(expand_list_files(paths), refused)
    if not files and not refused:
        console.print("[red]no files found[/red]")
        raise typer.Exit(2)
    directory = resolve_data_dir(data)
    started = time.perf_counter()
    if engine == "ray":
        from yusuan.store.dataset import Dataset

        from .ray_engine import print_summary, run_on_ray

        dataset = Dataset(directory / "dataset")
        result = _run_with_progress(files, dataset, workers, timeout or None, max_memory or None, force,
                                    run=partial(run_on_ray, address=address))
        result.outcomes.extend(refused)
        report = write_error_report(result, directory)
        print_summary(console, result, dataset, report, time.perf_counter() - started)
        raise typer.Exit(1 if result.failed else 0)
    with Store(db_path(directory)) as store:
        result = _run_with_progress(files, store, workers, timeout or None, max_memory or None, force,
                                    run=partial(run_batch, refused=refused, commit_seconds=commit_every))
        report = write_error_report(result, directory)
        _print_summary(store, result, report, time.perf_counter() - started)
    if result.failed:
        raise typer.Exit(1)


def _run_with_progress(files, store, workers, timeout, max_memory, force, run=run_batch) -> BatchResult:
    totals = {"pages": 0, "records": 0, "failed": 0, "skipped": 0, "not_budget": 0}
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

            return run(files, store, on_progress=update, on_start=start, **options)

    count = {"done": 0, "total": len(files)}

    def log(outcome: FileOutcome) -> None:
        _tally(totals, outcome)
        count["done"] += 1
        if outcome.status in ("failed", "not_budget"):
            detail = f"{outcome.stage}: {outcome.reason}"
        elif outcome.status == "skipped":
            detail = outcome.reason
        else:
            detail = f"{outcome.records} records, {outcome.pages} pages, {outcome.seconds:.1f} s"
        if outcome.status != "failed":
            detail += _problems(outcome)
        print(f"[{outcome.status}] {count['done']}/{count['total']} {outcome.source}: {detail}", flush=True)

    return run(files, store, on_progress=log, **options)


def _counts(totals: dict[str, int]) -> str:
    text = f"{totals['pages']} pages · {totals['records']} records · {totals['failed']} failed"
    text += f" · {totals['not_budget']} not budgets" if totals["not_budget"] else ""
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
    totals["not_budget"] += outcome.status == "not_budget"


SUMMARY_ROWS = 40
MISSING_NAMED = 3  # `yusuan docs` names the missing standard tables up to this many


def _print_summary(store: Store, result: BatchResult, report: Path, seconds: float) -> None:
    out = console if console.is_terminal else Console(width=200)  # a log file is not 80 columns wide
    extracted = [o for o in result.outcomes if o.status == "extracted"]
    skipped = [o for o in result.outcomes if o.status == "skipped"]
    unchanged = sum(o.reason.startswith("unchanged") for o in skipped)
    duplicates = f", {len(skipped) - unchanged} duplicates" if len(skipped) > unchanged else ""
    with store.reading() as con:
        documents = con.execute("SELECT count(*) FROM documents").fetchone()[0]
    pages = sum(o.pages for o in extracted)
    rate = f" ({pages / seconds:.1f} pages/s)" if pages and seconds > 0 else ""
    out.print(
        f"{len(result.outcomes)} files: {len(extracted)} extracted ({pages} pages), {unchanged} unchanged{duplicates}, "
        f"{len(result.not_budget)} not budget disclosures (not stored), {len(result.failed)} failed in {seconds:.1f} s"
        f"{rate} · store holds {documents} documents"
    )
    counts = Table(title="records per kind")
    counts.add_column("kind")
    counts.add_column("records", justify="right")
    for kind, count in store.counts().items():
        counts.add_row(kind, str(count))
    out.print(counts)
    passed, failed = sum(o.checks_passed for o in extracted), sum(o.checks_failed for o in extracted)
    out.print(f"consistency checks of the {len(extracted)} documents extracted: {passed} passed, {failed} failed")
    _print_coverage(out, store, extracted)
    rows = problems(result)
    if not rows:
        return
    needing_ocr = sum(bool(o.pages_needing_ocr) for o in rows)
    with_warnings = sum(o.status != "failed" and bool(o.warnings) for o in rows)
    errors = Table(title=f"{len(result.failed)} failed · {len(result.not_budget)} not budget disclosures · "
                         f"{needing_ocr} need OCR · {with_warnings} with warnings (details in {report})")
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


def _print_coverage(out: Console, store: Store, extracted: list[FileOutcome]) -> None:
    """Standard tables found per document of this run: how many are complete, and which tables the others miss,
    one row per combination of missing tables (a batch of thousands of documents has a handful of them)."""
    sources = [o.source for o in extracted]
    if not sources:
        return
    with store.reading() as con:
        rows = con.execute(
            "SELECT source, doc_kind, coverage FROM documents WHERE list_contains(?, source) ORDER BY source", [sources]
        ).fetchall()
    gaps: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
    for source, doc_kind, coverage in rows:
        cover = json.loads(coverage or "{}")
        if cover.get("missing"):
            found = f"{len(cover['found'])}/{len(cover['found']) + len(cover['missing'])}"
            gaps.setdefault((doc_kind or "", found, tuple(cover["missing"])), []).append(source)
    complete = len(rows) - sum(len(files) for files in gaps.values())
    out.print(f"standard tables: {complete} of {len(rows)} documents have all of theirs")
    if not gaps:
        return
    incomplete = Table(title="standard tables not found")
    for column in ("documents", "kind", "found", "missing", "file"):
        incomplete.add_column(column, overflow="fold")
    ranked = sorted(gaps.items(), key=lambda item: (-len(item[1]), item[0]))
    for (doc_kind, found, missing), files in ranked[:SUMMARY_ROWS]:
        example = files[0] if len(files) == 1 else f"{files[0]} (+{len(files) - 1} more)"
        incomplete.add_row(str(len(files)), doc_kind, found, "、".join(missing), example)
    if len(ranked) > SUMMARY_ROWS:
        incomplete.caption = f"… and {len(ranked) - SUMMARY_ROWS} more combinations (`yusuan docs` lists every document)"
    out.print(incomplete)


def coverage_text(coverage: str | None) -> str:
    """`7/9 −政府性基金支出表 −国有资本经营支出表` for `yusuan docs` (the missing ones named when they are few)."""
    cover = json.loads(coverage or "{}")
    if not cover:
        return ""
    found, missing = cover.get("found", []), cover.get("missing", [])
    named = "".join(f" −{kind}" for kind in missing) if len(missing) <= MISSING_NAMED else ""
    return f"{len(found)}/{len(found) + len(missing)}{named}"


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
    """List the documents in the store (issues: found by the audit at extraction; blank when not audited then)."""
    from yusuan.store.issues import issue_counts

    with Store(db_path(data)) as store:
        frame = store.documents()
        with store.reading() as con:
            issues = issue_counts(con)
    columns = ("doc_id", "department", "region", "year", "doc_kind", "unit_original", "source")
    table = Table()
    for column in (*columns, "standard tables", "issues"):
        table.add_column(column)
    shown = frame[list(columns)].astype(object).where(frame[list(columns)].notna(), "")
    for row, coverage, doc_id in zip(shown.itertuples(index=False), frame["coverage"], frame["doc_id"], strict=True):
        table.add_row(*(str(value) for value in row), coverage_text(coverage), str(issues.get(doc_id, "")))
    console.print(table)


def import_command(
    dataset: Path = typer.Argument(..., help="a Parquet dataset written by `yusuan extract --engine ray`"),
    data: Path | None = DataOption,
) -> None:
    """Load a Parquet dataset into the store (documents already there are replaced)."""
    from yusuan.store.dataset import Dataset, import_dataset

    if not (dataset / "documents").is_dir():
        console.print(f"[red]{dataset} is not a yusuan dataset (no documents/ folder)[/red]")
        raise typer.Exit(2)
    with Store(db_path(data)) as store:
        counts = import_dataset(Dataset(dataset), store)
    console.print(" · ".join(f"{table} {count}" for table, count in counts.items()))
