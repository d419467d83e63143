"""The same budget tables as a PDF, a spreadsheet, a Word document and a web page give the same records.

The tables are those of a real Shanghai 部门预算 PDF (its grids as ingested: title, 编制部门/单位 line, rows), written
out with openpyxl, python-docx and plain HTML, so each format's reader meets the real layouts: split 类/款/项 code
columns, stacked headers, amounts in 元 except the 三公 table in 万元."""

from __future__ import annotations

import html

import pytest
from conftest import REALDOCS
from docx import Document
from openpyxl import Workbook

from yusuan.extract import extract_document, extract_path
from yusuan.ingest import ingest_path

PDF = REALDOCS / "shanghai-putuo-GovBudgetChecker" / "dept_budget.pdf"
KINDS = ("budget_total", "function_line", "econ_line", "sangong")


def _tables() -> list[tuple[str, list[str], list[list[str]]]]:
    """Each table once, with the rows of its continuation pages (whose repeated header rows a spreadsheet has not)."""
    tables: list[tuple[str, list[str], list[list[str]]]] = []
    for block in ingest_path(PDF).blocks:
        if block.grid is None:
            continue
        rows = [[cell.text for cell in row] for row in block.grid.rows]
        if block.grid.title:
            tables.append((block.grid.title, [line.text for line in block.grid.context], rows))
        elif tables:
            tables[-1][2].extend(row for row in rows if row not in tables[-1][2][:3])
    return tables


def _write_xlsx(path):
    book = Workbook()
    book.remove(book.active)
    for index, (title, context, rows) in enumerate(_tables(), start=1):
        sheet = book.create_sheet(f"表{index}")
        sheet.append([title])
        for line in context:
            sheet.append([line])
        for row in rows:
            sheet.append(row)
    book.save(path)


def _write_docx(path):
    document = Document()
    for title, context, rows in _tables():
        document.add_paragraph(title)
        for line in context:
            document.add_paragraph(line)
        table = document.add_table(rows=len(rows), cols=max(len(row) for row in rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                table.cell(r, c).text = text
    document.save(path)


def _write_html(path):
    parts = ["<html><body>"]
    for title, context, rows in _tables():
        parts.append(f"<p>{html.escape(title)}</p>")
        parts.extend(f"<p>{html.escape(line)}</p>" for line in context)
        parts.append("<table>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td>{html.escape(text)}</td>" for text in row) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")


def _signature(extraction) -> dict[str, set]:
    """What a user reads off the records, independent of where in the file they came from."""
    result: dict[str, set] = {}
    for kind in KINDS:
        rows = set()
        for record in extraction.by_kind(kind):
            data = record.model_dump(exclude={"doc_id", "record_id", "provenance", "values", "checks", "table_title"})
            rows.add(tuple(sorted((key, str(value)) for key, value in data.items())))
        result[kind] = rows
    return result


@pytest.fixture(scope="module")
def from_pdf():
    return _signature(extract_path(PDF))


@pytest.mark.parametrize(("suffix", "write"), [(".xlsx", _write_xlsx), (".docx", _write_docx), (".html", _write_html)])
def test_same_records_from_every_format(tmp_path, from_pdf, suffix, write):
    path = tmp_path / f"dept_budget{suffix}"
    write(path)
    document = ingest_path(path)
    extraction = extract_document(document)
    got = _signature(extraction)
    for kind in KINDS:
        assert from_pdf[kind], kind
        assert got[kind] == from_pdf[kind], (suffix, kind, sorted(got[kind] ^ from_pdf[kind])[:4])
    sangong = extraction.by_kind("sangong")[0]
    assert sangong.values["total"].unit_original == "万元"
    line = next(r for r in extraction.by_kind("function_line") if r.code == "2040601")
    assert line.values["total"].unit_original == "元" and line.total == 1672.672544
    assert line.provenance.source == str(path)
