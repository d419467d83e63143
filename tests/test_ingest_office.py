"""Spreadsheet, Word and HTML ingestion on files generated in tmp_path."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from docx import Document

from yusuan.ingest import IngestError, ingest_path
from yusuan.model import Grid, IngestedDocument


def grids(document: IngestedDocument) -> list[Grid]:
    return [block.grid for block in document.blocks if block.kind == "table" and block.grid is not None]


def row_texts(grid: Grid) -> list[list[str]]:
    return [[cell.text for cell in row] for row in grid.rows]


# ------------------------------------------------------------------ xlsx


def _budget_workbook(path: Path) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "收支总表"
    sheet["A1"] = "2025年部门财务收支预算总表"
    sheet.merge_cells("A1:D1")
    sheet["A2"] = "编制部门：某某区财政局"
    sheet["D2"] = "单位：万元"
    sheet["A3"] = "本年收入"
    sheet.merge_cells("A3:B3")
    sheet["C3"] = "本年支出"
    sheet.merge_cells("C3:D3")
    sheet.append(["项目", "预算数", "项目", "预算数"])
    sheet.append(["一、财政拨款收入", 3121.42, "一、一般公共服务支出", 2218.644])
    sheet.append(["二、事业收入", None, "二、社会保障和就业支出", 902.776])
    sheet.append(["收入总计", 3121.42, "支出总计", 3121.42])
    sheet["B5"].number_format = "#,##0.00"
    sheet["B7"].number_format = "#,##0.00"
    sheet.append([])
    sheet.append(["注：本表为测试数据。"])
    second = workbook.create_sheet("三公")
    second.append(["“三公”经费合计", "因公出国（境）费", "公务用车购置及运行费", None, "公务接待费"])
    second.append([None, None, "小计", "购置费", None])
    second.merge_cells("A1:A2")
    second.merge_cells("C1:D1")
    second.append([12.5, 0, 10, 0, 2.5])
    workbook.create_sheet("空表")
    workbook.save(path)
    return path


def test_xlsx_sheets_become_grids_with_merged_cells_expanded(tmp_path):
    document = ingest_path(_budget_workbook(tmp_path / "budget.xlsx"))
    assert (document.layout, document.pages) == ("spreadsheet", 3)
    assert document.warnings == ["sheet 3 (空表): empty"]
    summary, sangong = grids(document)
    assert summary.title == "2025年部门财务收支预算总表"
    assert summary.title_line.line == 1 and summary.title_line.page == 1
    assert [line.text for line in summary.context] == ["编制部门:某某区财政局", "单位:万元"]
    assert [line.text for line in summary.note] == ["注:本表为测试数据。"]
    assert row_texts(summary) == [
        ["本年收入", "本年收入", "本年支出", "本年支出"],
        ["项目", "预算数", "项目", "预算数"],
        ["一、财政拨款收入", "3,121.42", "一、一般公共服务支出", "2218.644"],
        ["二、事业收入", "", "二、社会保障和就业支出", "902.776"],
        ["收入总计", "3,121.42", "支出总计", "3121.42"],
    ]
    total = summary.rows[-1][1]
    assert (total.page, total.row, total.col) == (1, 7, 2)  # sheet coordinates, 1-based

    assert sangong.title == "三公"  # no title row: the sheet name
    assert row_texts(sangong) == [
        ["“三公”经费合计", "因公出国(境)费", "公务用车购置及运行费", "公务用车购置及运行费", "公务接待费"],
        ["“三公”经费合计", "", "小计", "购置费", ""],
        ["12.5", "0", "10", "0", "2.5"],
    ]
    assert {cell.page for row in sangong.rows for cell in row} == {2}


def test_xls_html_disguise_is_read_as_html(tmp_path):
    path = tmp_path / "export.xls"
    path.write_text("<html><body><table><tr><td>项目</td><td>金额</td></tr><tr><td>合计</td><td>1.5</td></tr>"
                    "</table></body></html>", encoding="utf-8")  # fmt: skip
    document = ingest_path(path)
    assert document.layout == "html"
    assert document.warnings == ["spreadsheet file is an HTML table; read as HTML"]
    assert row_texts(grids(document)[0]) == [["项目", "金额"], ["合计", "1.5"]]


def test_corrupt_xls(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(IngestError) as caught:
        ingest_path(path)
    assert caught.value.reason.startswith("corrupt xls")


def test_xls_workbook_with_merged_cells(tmp_path):
    xlwt = pytest.importorskip("xlwt")  # writes BIFF .xls; not a project dependency
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("支出表")
    sheet.write_merge(0, 0, 0, 2, "2025年部门支出预算总表")
    sheet.write(1, 2, "单位：元")
    sheet.write_merge(2, 3, 0, 0, "科目名称")
    sheet.write_merge(2, 2, 1, 2, "支出预算")
    sheet.write(3, 1, "基本支出")
    sheet.write(3, 2, "项目支出")
    money = xlwt.easyxf(num_format_str="#,##0.00")
    sheet.write(4, 0, "一般公共服务支出")
    sheet.write(4, 1, 16093326.0, money)
    sheet.write(4, 2, 6093114.8, money)
    path = tmp_path / "old.xls"
    book.save(str(path))

    document = ingest_path(path)
    assert (document.layout, document.pages) == ("spreadsheet", 1)
    (grid,) = grids(document)
    assert grid.title == "2025年部门支出预算总表"
    assert [line.text for line in grid.context] == ["单位:元"]
    assert row_texts(grid) == [
        ["科目名称", "支出预算", "支出预算"],
        ["科目名称", "基本支出", "项目支出"],
        ["一般公共服务支出", "16,093,326.00", "6,093,114.80"],
    ]
    assert (grid.rows[2][2].row, grid.rows[2][2].col, grid.rows[2][2].page) == (5, 3, 1)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("a.xlsx", b"hello world, not a workbook", "not a spreadsheet (not a zip or OLE workbook; starts with"),
        ("a.xlsx", b"PK\x03\x04garbage", "corrupt or truncated xlsx (bad zip archive"),
        ("a.docx", b"plain text", "not a docx document (not a zip archive; starts with"),
        ("a.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "legacy Word .doc (OLE) or encrypted document"),
        ("a.html", b"PK\x03\x04\x00\x00", "not an HTML document (binary content"),
        ("a.xlsx", b"", "file is empty"),
    ],
)
def test_office_files_that_are_not_what_their_name_says(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(IngestError) as caught:
        ingest_path(path)
    assert caught.value.reason.startswith(reason), caught.value.reason


def test_docx_named_xlsx_and_truncated_xlsx(tmp_path):
    docx_path = tmp_path / "report.docx"
    document = Document()
    document.add_paragraph("正文")
    document.save(docx_path)
    wrong = tmp_path / "report.xlsx"
    wrong.write_bytes(docx_path.read_bytes())
    with pytest.raises(IngestError) as caught:
        ingest_path(wrong)
    assert caught.value.reason == "not an xlsx workbook (a Word document)"

    workbook = _budget_workbook(tmp_path / "budget.xlsx").read_bytes()
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(workbook[: len(workbook) // 2])
    with pytest.raises(IngestError) as caught:
        ingest_path(truncated)
    assert "corrupt" in caught.value.reason


# ------------------------------------------------------------------ docx


def test_docx_paragraphs_and_tables(tmp_path):
    document = Document()
    document.add_heading("上海市某某局2025年部门预算", level=1)
    document.add_paragraph("2025年收入预算3,121.42万元，比2024年增加107.62万元。")
    document.add_paragraph("2025年部门“三公”经费预算表")
    document.add_paragraph("单位：万元")
    table = document.add_table(rows=3, cols=4)
    table.cell(0, 0).merge(table.cell(1, 0)).text = "合计"
    table.cell(0, 1).merge(table.cell(0, 2)).text = "公务用车购置及运行费"
    table.cell(0, 3).text = "公务接待费"
    table.cell(1, 1).text = "购置费"
    table.cell(1, 2).text = "运行费"
    for col, value in enumerate(["0.95", "0", "0.50", "0.45"]):
        table.cell(2, col).text = value
    document.add_paragraph("注：本表为测试数据。")
    document.add_paragraph("其他说明文字。")
    path = tmp_path / "budget.docx"
    document.save(path)

    ingested = ingest_path(path)
    assert (ingested.layout, ingested.pages) == ("docx", 1)
    kinds = [block.kind for block in ingested.blocks]
    assert kinds == ["heading", "paragraph", "table", "paragraph"]
    heading = ingested.blocks[0].lines[0]
    assert (heading.text, heading.heading, heading.line) == ("上海市某某局2025年部门预算", 1, 1)
    (grid,) = grids(ingested)
    assert grid.title == "2025年部门“三公”经费预算表"
    assert [line.text for line in grid.context] == ["单位:万元"]
    assert [line.text for line in grid.note] == ["注:本表为测试数据。"]
    assert row_texts(grid) == [
        ["合计", "公务用车购置及运行费", "公务用车购置及运行费", "公务接待费"],
        ["合计", "购置费", "运行费", ""],
        ["0.95", "0", "0.50", "0.45"],
    ]
    assert grid.rows[2][3].line == 5 and (grid.rows[2][3].row, grid.rows[2][3].col) == (2, 3)
    assert ingested.blocks[-1].lines[0].line == 7


# ------------------------------------------------------------------ html

HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>页面标题</title><style>td {color: red}</style></head>
<body>
<h2>2025年部门收入预算总表</h2>
<p>编制单位：某某区财政局</p><p>单位：元</p>
<table border="1">
  <tr><th rowspan="2">功能分类科目编码</th><th rowspan="2">科目名称</th><th colspan="2">收入预算</th></tr>
  <tr><th>合计</th><th>财政拨款收入</th></tr>
  <tr><td>201</td><td>一般公共服务<br>支出</td><td>22,186,440.80</td><td>22,186,440.80</td></tr>
  <tr><td colspan="2">合计</td><td>31,214,205.80</td><td>31,214,205.80</td></tr>
</table>
<p>本表无数据说明：无。</p>
<div>其他 <b>说明</b> 文字</div>
<script>var x = "不要这个";</script>
</body></html>
"""


def test_html_tables_with_rowspan_and_colspan(tmp_path):
    path = tmp_path / "budget.html"
    path.write_text(HTML, encoding="utf-8")
    document = ingest_path(path)
    assert (document.layout, document.pages) == ("html", 1)
    (grid,) = grids(document)
    assert grid.title == "2025年部门收入预算总表"
    assert [line.text for line in grid.context] == ["编制单位:某某区财政局", "单位:元"]
    assert row_texts(grid) == [
        ["功能分类科目编码", "科目名称", "收入预算", "收入预算"],
        ["功能分类科目编码", "科目名称", "合计", "财政拨款收入"],
        ["201", "一般公共服务支出", "22,186,440.80", "22,186,440.80"],
        ["合计", "合计", "31,214,205.80", "31,214,205.80"],
    ]
    assert grid.rows[2][1].raw == "一般公共服务\n支出"
    assert grid.rows[2][2].line == 9  # the source line of the <td>
    texts = [line.text for line in document.text_lines()]
    assert "其他说明文字" in texts
    assert not any("不要这个" in text or "页面标题" in text for text in texts)
    assert [line.text for line in grid.note] == ["本表无数据说明:无。"]


def test_htm_suffix_and_gbk_encoding(tmp_path):
    path = tmp_path / "page.htm"
    html = '<html><head><meta charset="gbk"></head><body><p>部门预算</p><table><tr><td>合计</td><td>1</td></tr></table></body></html>'
    path.write_bytes(html.encode("gbk"))
    document = ingest_path(path)
    assert grids(document)[0].title == "部门预算"
    assert row_texts(grids(document)[0]) == [["合计", "1"]]


def test_layout_tables_are_walked_into(tmp_path):
    path = tmp_path / "layout.html"
    path.write_text(
        "<table><tr><td><p>导航</p><table><tr><td>项目</td><td>金额</td></tr><tr><td>合计</td><td>2</td></tr>"
        "</table></td></tr></table>",
        encoding="utf-8",
    )
    document = ingest_path(path)
    assert [row_texts(grid) for grid in grids(document)] == [[["项目", "金额"], ["合计", "2"]]]


def test_xlsx_readers_registered_for_all_suffixes(tmp_path):
    data = _budget_workbook(tmp_path / "budget.xlsx").read_bytes()
    for suffix in (".xlsm", ".xls"):
        path = tmp_path / f"copy{suffix}"
        path.write_bytes(data)
        assert grids(ingest_path(path))[0].title == "2025年部门财务收支预算总表"
    assert zipfile.is_zipfile(tmp_path / "budget.xlsx")
