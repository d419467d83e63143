"""Extract: an ingested document → document metadata + typed, checked records (:class:`yusuan.model.Extraction`)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from yusuan import __version__
from yusuan.ingest import ingest_path
from yusuan.model import DocumentMeta, Extraction, Inference, IngestedDocument, Record

from .checks import run_checks
from .classify import classify_document, table_coverage
from .metadata import infer_metadata
from .narrative import extract_facts
from .numbers import parse_amount
from .recognizers import BuildContext, classify, title_kind
from .table import Table, prepare, table_grids


def extract_path(path: str | Path) -> Extraction:
    return extract_document(ingest_path(path))


def extract_document(doc: IngestedDocument) -> Extraction:
    tables = merge_continuations([prepare(grid) for grid in table_grids(doc.blocks)])
    unit, unit_inference = document_unit(tables)
    ctx = BuildContext(source=doc.source, default_unit=unit)
    records: list[Record] = []
    warnings = list(doc.warnings)
    for table in tables:
        recognizer, _ = classify(table)
        if recognizer is None:
            if table.rows and table.title:
                warnings.append(f"unrecognised table '{table.title}' (line {table.grid.first_line}, page {table.grid.page})")
            continue
        records.extend(recognizer.build(table, ctx))
    records.extend(extract_facts(doc.blocks, doc.source))
    run_checks(records)

    table_texts = [table.title for table in tables] + [
        "\t".join([cell.text for cell in row]) for table in tables for row in table.header_rows + table.rows[:60]
    ]
    inferred = infer_metadata(doc, table_texts)
    inferred["unit_original"] = unit_inference
    disclosure = classify_document(doc, [table.title for table in tables])
    inferred["disclosure"] = Inference(value=disclosure.is_disclosure, how=disclosure.reason, evidence=disclosure.title)
    table_kinds = [kind for table in tables if (kind := title_kind(table.title))] + [r.table_kind for r in records if r.table_title]
    meta = DocumentMeta(
        doc_id=doc.doc_id, source=doc.source, sha256=doc.sha256, layout=doc.layout, pages=doc.pages,
        department=inferred["department"].value, region=inferred["region"].value, level=inferred["level"].value,
        year=inferred["year"].value, doc_kind=inferred["doc_kind"].value, unit_original=unit,
        inferred=inferred, warnings=warnings + ctx.warnings, extractor_version=__version__,
        coverage=table_coverage(inferred["doc_kind"].value, table_kinds),
    )
    counters: Counter[str] = Counter()
    for record in records:
        record.doc_id = doc.doc_id
        if record.provenance.source != doc.source:  # most were built with it: a pydantic assignment costs
            record.provenance.source = doc.source
        counters[record.kind] += 1
        record.record_id = f"{doc.doc_id}:{record.kind}:{counters[record.kind]}"
    return Extraction(document=meta, records=records)


def merge_continuations(tables: list[Table]) -> list[Table]:
    """A table repeated across pages is one table: the same header rows repeated (under the same title or none),
    or an untitled piece as wide as the table before it. Rows a continuation piece mistook for header rows are kept."""
    merged: list[Table] = []
    for table in tables:
        previous = merged[-1] if merged else None
        extra = _continuation_rows(previous, table) if previous is not None else None
        if extra is not None:
            previous.continue_with(table.grid, extra + table.rows)
            continue
        merged.append(table)
    return merged


def _header_texts(rows) -> list[list[str]]:
    return [[cell.text for cell in row if cell.text] for row in rows]


def _continuation_rows(previous: Table, table: Table):
    if table.title and table.title != previous.title:
        return None
    if previous.header_rows:
        count = len(previous.header_rows)
        if _header_texts(table.header_rows[:count]) == _header_texts(previous.header_rows):
            return table.header_rows[count:]
    # An untitled piece as wide as the table before it goes on with it; rows it took for a header are data.
    if not table.title and table.width == previous.printed_width and (table.rows or table.header_rows):
        return table.header_rows
    return None


def document_unit(tables: list[Table]) -> tuple[str | None, Inference]:
    stated = Counter(table.unit for table in tables if table.unit)
    if stated:
        unit, count = stated.most_common(1)[0]
        return unit, Inference(value=unit, how="unit line printed with the tables", evidence=f"单位:{unit} ×{count}")
    amounts = [
        amount.value
        for table in tables
        for row in table.rows
        for cell in row
        if (amount := parse_amount(cell.text)) is not None and "." in cell.text
    ]
    if amounts and max(amounts) >= 100000:
        return "元", Inference(
            value="元", how="no unit printed; amounts up to " f"{max(amounts):,.2f} are implausible in 万元 for one "
            "department's line items, so 元", evidence=f"max amount {max(amounts):.2f}",
        )
    if amounts:
        return "万元", Inference(value="万元", how="no unit printed; assumed 万元", evidence="")
    return None, Inference(value=None, how="no money amounts")
