"""Leaderboard (rich), JSON and Markdown reports (with a matplotlib bar chart) of evaluation runs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from rich.table import Table

from .kinds import KINDS
from .runner import RunResult, environment

REPORT_VERSION = 1


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def scored_kinds(results: list[RunResult]) -> list[str]:
    """Kinds that have gold records in the run (in schema order)."""
    present = set()
    for result in results:
        for doc in result.docs:
            for kind, stat in doc.kinds.items():
                if stat.tp or stat.fn:
                    present.add(kind)
    return [kind for kind in KINDS if kind in present]


def leaderboard_rows(results: list[RunResult]) -> list[dict[str, Any]]:
    rows = []
    for result in results:
        row: dict[str, Any] = {
            "extractor": result.extractor,
            "version": result.version,
            "fingerprint": result.fingerprint,
            "unavailable": result.unavailable,
        }
        if result.unavailable is None:
            overall = result.metrics()["overall"]
            row.update(
                {
                    "kinds": {kind: m["f1"] for kind, m in overall["kinds"].items()},
                    "record_f1": overall["record"]["f1"],
                    "numeric_f1": overall["numeric_f1"],
                    "numeric_exact_match": overall["numeric_exact_match"],
                    "text_f1": overall["text"]["f1"],
                    "provenance_hit": overall["provenance_hit"],
                    "checks_pass_rate": overall["checks_pass_rate"],
                    "checks_coverage": overall["checks_coverage"],
                    "docs_per_second": overall["docs_per_second"],
                    "failures_per_document": overall["failures_per_document"],
                    "documents": overall["documents"],
                    "skipped": overall["skipped"],
                    "unit_errors": overall["unit_errors"],
                }
            )
        rows.append(row)
    return rows


SHORT_KIND = {
    "budget_total": "budget",
    "function_line": "function",
    "econ_line": "econ",
    "sangong": "三公",
    "project": "project",
    "indicator": "indicator",
    "fact": "fact",
}


def leaderboard_table(results: list[RunResult]) -> Table:
    kinds = scored_kinds(results)
    table = Table(title="yusuan eval — record F1 per kind (%), numeric fields, provenance, speed", show_lines=False)
    table.add_column("extractor", style="bold", no_wrap=True)
    for kind in kinds:
        table.add_column(SHORT_KIND.get(kind, kind), justify="right")
    for header in ("record F1", "numeric F1", "numeric exact", "provenance", "checks pass (cov.)", "docs/s", "fail/doc"):
        table.add_column(header, justify="right")
    for row in leaderboard_rows(results):
        label = f"{row['extractor']} {row['version']}\n[dim]{row['fingerprint']}[/dim]"
        if row["unavailable"]:
            short = str(row["unavailable"]).split(":")[0]
            table.add_row(f"{row['extractor']}\n[yellow]not run: {short}[/yellow]", *["—"] * (len(kinds) + 7))
            continue
        cells = [_pct(row["kinds"].get(kind)) for kind in kinds]
        checks = f"{_pct(row['checks_pass_rate'])} ({_pct(row['checks_coverage'])})"
        cells += [
            _pct(row["record_f1"]),
            _pct(row["numeric_f1"]),
            _pct(row["numeric_exact_match"]),
            _pct(row["provenance_hit"]),
            checks,
            _rate(row["docs_per_second"]),
            _rate(row["failures_per_document"]),
        ]
        table.add_row(label, *cells)
    return table


def run_json(results: list[RunResult], warnings: list[str] | None = None, fixtures_dir: str = "") -> dict[str, Any]:
    """Everything: run metadata, leaderboard, per extractor overall / by layout / by document (with misses)."""
    documents = {}
    for result in results:
        for doc in result.docs:
            documents.setdefault(
                doc.fixture,
                {"source": doc.source, "layout": doc.layout, "sha256": doc.sha256 or None,
                 "sha256_fixture": doc.sha256_expected, "status": doc.status if doc.status == "skipped" else "ok"},
            )
    return {
        "report_version": REPORT_VERSION,
        "environment": environment(),
        "fixtures_dir": fixtures_dir,
        "tolerance": results[0].tolerance if results else None,
        "warnings": list(warnings or []) + [w for r in results for w in r.warnings],
        "documents": documents,
        "leaderboard": leaderboard_rows(results),
        "extractors": [result.to_dict() for result in results],
    }


def write_json(path: str | Path, data: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------- chart + markdown


def write_chart(results: list[RunResult], path: str | Path) -> Path | None:
    """Grouped bar chart: record F1 per kind (and numeric-field F1), one bar per extractor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ran = [r for r in results if r.unavailable is None]
    kinds = scored_kinds(ran)
    if not ran or not kinds:
        return None
    groups = [*kinds, "numeric fields"]
    width = 0.8 / len(ran)
    fig, ax = plt.subplots(figsize=(max(7.0, 1.3 * len(groups) + 2), 4.2), dpi=120)
    for i, result in enumerate(ran):
        overall = result.metrics()["overall"]
        values = [(overall["kinds"].get(kind) or {}).get("f1") or 0.0 for kind in kinds]
        values.append(overall["numeric_f1"] or 0.0)
        positions = [g + (i - (len(ran) - 1) / 2) * width for g in range(len(groups))]
        ax.bar(positions, values, width=width * 0.95, label=f"{result.extractor} {result.version}")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1")
    ax.set_title("F1 per record kind and extractor")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(cell).replace("|", "\\|").replace("\n", " ") for cell in row) + " |" for row in rows]
    return out


def _miss_text(miss: dict[str, Any]) -> str:
    kind, key = miss.get("kind"), miss.get("key")
    if miss["type"] == "missing_record":
        return f"missing {kind} `{key}` at {miss.get('loc')}"
    if miss["type"] == "extra_record":
        return f"extra {kind} `{key}` at {miss.get('loc')}"
    if miss["type"] == "wrong_unit":
        return f"wrong unit {kind} `{key}` {miss['field']}: gold {miss['gold']}, predicted {miss['predicted']}"
    if miss["type"] == "wrong_provenance":
        return f"provenance {kind} `{key}`: gold {miss['gold']}, predicted {miss['predicted']}"
    return f"wrong {kind} `{key}` {miss.get('field')}: gold {miss.get('gold')!r}, predicted {miss.get('predicted')!r}"


def write_markdown(
    results: list[RunResult], path: str | Path, warnings: list[str] | None = None, misses_per_doc: int = 8
) -> tuple[Path, Path | None]:
    """The report and, beside it, `<name>.png` (F1 per kind and extractor)."""
    path = Path(path)
    chart = write_chart(results, path.with_suffix(".png"))
    data = run_json(results, warnings)
    kinds = scored_kinds(results)
    lines = ["# yusuan evaluation report", ""]
    env = data["environment"]
    lines.append(f"Python {env['python']} on {env['platform']}; numeric tolerance ±{data['tolerance']} 万元.")
    lines.append("")
    lines.append("## Extractors")
    lines.append("")
    lines += _md_table(
        ["extractor", "version", "fingerprint", "status"],
        [[r.extractor, r.version, f"`{r.fingerprint}`", r.unavailable or "ran"] for r in results],
    )
    lines += ["", "## Leaderboard", ""]
    if chart:
        lines += [f"![F1 per kind and extractor]({chart.name})", ""]
    headers = ["extractor", *kinds, "record F1", "numeric F1", "numeric exact", "provenance", "checks pass (cov.)",
               "docs/s", "fail/doc"]
    rows = []
    for row in data["leaderboard"]:
        if row["unavailable"]:
            continue
        rows.append(
            [row["extractor"], *[_pct(row["kinds"].get(kind)) for kind in kinds], _pct(row["record_f1"]),
             _pct(row["numeric_f1"]), _pct(row["numeric_exact_match"]), _pct(row["provenance_hit"]),
             f"{_pct(row['checks_pass_rate'])} ({_pct(row['checks_coverage'])})", _rate(row["docs_per_second"]),
             _rate(row["failures_per_document"])]
        )
    lines += _md_table(headers, rows)
    lines += ["", "Record F1 per kind in %. Kinds a fixture does not list as `complete` are scored for recall only;"
              " extra records count only for table kinds the labeller covered.", ""]
    ran = [r for r in results if r.unavailable is None]
    lines += ["## By layout", ""]
    layout_rows = []
    for result in ran:
        for layout, metrics in result.metrics()["by_layout"].items():
            layout_rows.append([result.extractor, layout, metrics["documents"], _pct(metrics["record"]["f1"]),
                                _pct(metrics["numeric_f1"]), _pct(metrics["provenance_hit"])])
    lines += _md_table(["extractor", "layout", "docs", "record F1", "numeric F1", "provenance"], layout_rows)
    lines += ["", "## Fields (micro over documents)", ""]
    for result in ran:
        lines += [f"### {result.extractor}", ""]
        field_rows = []
        for kind, metrics in result.metrics()["overall"]["kinds"].items():
            for name, stat in metrics["fields"].items():
                field_rows.append([kind, name, stat["labelled"], _pct(stat["precision"]), _pct(stat["recall"]),
                                   _pct(stat["f1"]), _pct(stat["exact_match"]), stat["unit"]])
        lines += _md_table(["kind", "field", "labelled", "P", "R", "F1", "exact", "unit errors"], field_rows)
        lines.append("")
    lines += ["## Documents", ""]
    doc_rows = []
    for result in results:
        for doc in result.docs:
            metrics = result.metrics()["by_document"][doc.fixture]
            doc_rows.append([result.extractor, doc.fixture, doc.layout, doc.status, metrics["predicted"],
                             _pct(metrics["record"]["f1"]), _pct(metrics["numeric_f1"]), f"{doc.seconds:.2f}",
                             f"`{(doc.sha256 or '')[:12]}`"])
    lines += _md_table(["extractor", "fixture", "layout", "status", "records", "record F1", "numeric F1", "s",
                        "sha256"], doc_rows)
    lines += ["", "## Misses", ""]
    for result in ran:
        types = Counter(m["type"] for doc in result.docs for m in doc.misses)
        lines.append(f"### {result.extractor}: " + ", ".join(f"{t} {n}" for t, n in sorted(types.items())))
        lines.append("")
        for doc in result.docs:
            shown = [m for m in doc.misses if m["type"] != "wrong_provenance"][:misses_per_doc]
            if doc.error:
                lines.append(f"* **{doc.fixture}** failed: `{doc.error}`")
            if not shown:
                continue
            more = len(doc.misses) - len(shown)
            lines.append(f"* **{doc.fixture}** ({len(doc.misses)} misses{', first shown' if more > 0 else ''})")
            lines += [f"  * {_miss_text(m)}" for m in shown]
        lines.append("")
    all_warnings = data["warnings"]
    if all_warnings:
        lines += ["## Warnings", ""] + [f"* {w}" for w in all_warnings] + [""]
    lines += ["## Documents scored", ""]
    lines += _md_table(["fixture", "source", "sha256"],
                       [[name, d["source"], f"`{d['sha256']}`"] for name, d in data["documents"].items()])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, chart
