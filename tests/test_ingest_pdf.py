"""PDF ingestion: real disclosures from shared/realdocs and small PDFs generated here with reportlab."""

from __future__ import annotations

import hashlib
import io
from functools import cache
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from yusuan.ingest import IngestError, ingest_path, pdf_tables
from yusuan.ingest import pdf as pdf_reader
from yusuan.ingest.pdf import ingest_pdf
from yusuan.model import Grid, IngestedDocument

REALDOCS = Path(__file__).parents[1].parent / "shared" / "realdocs"
FONT = "STSong-Light"
WIDTH, HEIGHT = A4
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


@cache
def real(relative: str) -> IngestedDocument:
    return ingest_path(REALDOCS / relative)


def grids(document: IngestedDocument) -> list[Grid]:
    return [block.grid for block in document.blocks if block.kind == "table" and block.grid is not None]


def row_texts(grid: Grid) -> list[list[str]]:
    return [[cell.text for cell in row] for row in grid.rows]


def find_row(grid: Grid, label: str) -> list[str] | None:
    return next((texts for texts in row_texts(grid) if label in texts), None)


def paragraphs(document: IngestedDocument) -> list[str]:
    return [line.text for line in document.text_lines()]


# ------------------------------------------------------------------ real documents

PUTUO_2025 = "shanghai-tianbaoxitong/上海市普陀区财政局部门25年预算.pdf"
JIANGSU_TABLES = "jiangsu-open-budget/江苏省委办公厅/江苏省委办公厅2019年度部门预算公开表格.pdf"


def test_putuo_budget_summary_table_has_totals_row():
    document = real(PUTUO_2025)
    assert document.layout == "pdf"
    assert document.pages == 24
    summary = next(grid for grid in grids(document) if "收支" in grid.title)
    assert summary.title == "2025年部门财务收支预算总表"
    assert [line.text for line in summary.context] == ["编制部门:上海市普陀区财政局", "单位:元"]
    assert find_row(summary, "收入总计") == ["收入总计", "31,214,205.80", "支出总计", "31,214,205.80"]
    # the filler rows of the printed form are gone, merged header cells are ""
    assert row_texts(summary)[0] == ["本年收入", "", "本年支出", ""]
    assert all(any(row) for row in row_texts(summary))
    total = summary.rows[-1][1]
    assert total.page == 9 and total.bbox is not None and total.raw == "31,214,205.80"
    # the title and unit lines belong to the grid, not to the paragraphs
    assert "2025年部门财务收支预算总表" not in paragraphs(document)
    assert not any(text.startswith("编制部门") for text in paragraphs(document))


def test_putuo_continuation_piece_keeps_columns_and_repeated_header():
    document = real(PUTUO_2025)
    income = [grid for grid in grids(document) if grid.page in (10, 11)]
    assert [grid.title for grid in income] == ["2025年部门收入预算总表", ""]
    first, continued = income
    assert len(first.rows[0]) == len(continued.rows[0]) == 9
    assert row_texts(continued)[:3] == row_texts(first)[:3]  # repeated header kept for extract to drop
    assert row_texts(first)[1][7] == "事业单位经营收入"  # a two-line header cell, joined
    assert row_texts(continued)[-1][0] == "合计" and row_texts(continued)[-1][4] == "31,214,205.80"


def test_jiangsu_sangong_table_has_subtotal_column():
    document = real(JIANGSU_TABLES)
    sangong = next(grid for grid in grids(document) if "三公" in grid.title)
    assert sangong.title == "“三公”经费、会议费、培训费支出预算表"
    assert "单位:万元" in [line.text for line in sangong.context]
    header = row_texts(sangong)
    assert "小计" in header[1] and "公务用车购置费" in header[2]
    assert header[-1] == ["1,471.70", "508.20", "70.00", "411.20", "", "411.20", "27.00", "933.50", "30.00"]


def test_jiangsu_title_drawn_inside_the_table_frame_is_lifted_out():
    document = real(JIANGSU_TABLES)
    summary = grids(document)[0]
    assert summary.title == "收支预算总表"
    assert [line.text for line in summary.context] == ["部门:中共江苏省委办公厅", "单位:万元"]
    assert row_texts(summary)[0][:3] == ["收入", "", "支出"]
    assert find_row(summary, "收入合计") == ["收入合计", "27,664.22", "支出合计", "", "", "27,664.22"]


def test_wrapped_header_text_overflowing_its_cell_stays_in_the_header():
    procurement = next(grid for grid in grids(real(JIANGSU_TABLES)) if "政府采购" in grid.title)
    assert row_texts(procurement)[0][4] == "采购组织形式"
    assert row_texts(procurement)[1][4] == ""


def test_word_cell_shading_does_not_split_rows():
    """Word→PostScript exports paint a filled rectangle per text line; only drawn rules make rows."""
    document = real("jiangsu-open-budget/江苏省人民检察院/2018年省检察院部门预算公开.pdf")
    summary = next(grid for grid in grids(document) if grid.title == "公开 01表:收支预算总表")
    assert find_row(summary, "1.一般公共预算")[:2] == ["1.一般公共预算", "21,940.96"]
    assert find_row(summary, "二、财政专户管理资金") is not None
    assert max(len(row) for row in summary.rows) == 6


def test_digits_on_their_own_baseline_stay_in_the_sentence():
    """ONLYOFFICE sets Latin digits a few points below the CJK text of the same line."""
    document = real("shanghai-putuo-GovBudgetChecker/上海市普陀区财政局2024年度部门决算.pdf")
    text = "".join(block.text for block in document.blocks if block.kind == "paragraph")
    assert "上海市普陀区财政局2024年度收入支出总计2995.39万元。与2023年度相比" in text


def test_content_outside_the_page_box_is_ignored():
    document = real("jiangsu-open-budget/江苏省人大办公厅/江苏省人大办公厅2017年度预算公开.pdf")
    for block in document.blocks:
        for line in block.lines:
            assert line.bbox is None or line.bbox[3] <= 842.0
    page11 = [grid for grid in grids(document) if grid.page == 11]
    assert [grid.title for grid in page11] == ["财政拨款支出预算表"]


def test_title_at_the_foot_of_the_previous_page_goes_with_the_table():
    document = real("jiangsu-open-budget/江苏省人大办公厅/江苏省人大办公厅2017年度预算公开.pdf")
    grid = next(grid for grid in grids(document) if grid.page == 13)
    assert grid.title == "财政拨款基本支出预算表"
    assert grid.title_line is not None and grid.title_line.page == 12


def test_rows_without_borders_around_a_page_break_are_kept():
    document = real("jiangsu-open-budget/江苏省高级人民法院/省法院2018年度部门预算公开.pdf")
    continued = next(grid for grid in grids(document) if grid.page == 13 and not grid.title)
    assert row_texts(continued)[0] == ["2040504", "案件审判", "1,833.30"]
    page10 = next(grid for grid in grids(document) if grid.page == 10 and not grid.title)
    assert row_texts(page10)[0][2:4] == ["十八、住房保障支出", "4,716.51"]
    wanli = real("shanghai-putuo-GovBudgetChecker/上海市普陀区人民政府万里街道办事处24年预算.pdf")
    spilled = next(grid for grid in grids(wanli) if grid.page == 20 and not grid.title)
    assert row_texts(spilled)[0][-3:] == ["156,211,123", "99,706,020", "56,505,103"]


def test_notes_under_a_table_go_to_grid_note():
    document = real(JIANGSU_TABLES)
    fund = next(grid for grid in grids(document) if grid.title == "财政拨款政府性基金支出预算表")
    assert [line.text for line in fund.note] == ["注:本部门无相关收支项目"]


def test_page_numbers_and_running_headers_are_not_text():
    document = real("jiangsu-open-budget/江苏省人民检察院/2018年省检察院部门预算公开.pdf")
    assert not [text for text in paragraphs(document) if text.strip("-— ").isdigit()]


# ------------------------------------------------------------------ generated PDFs


def _pdf(draw, pages: int = 1, **options) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, **options)
    for number in range(1, pages + 1):
        draw(pdf, number)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _ruled(pdf: canvas.Canvas, top: float, xs: list[float], rows: list[list[str]], height: float = 20) -> float:
    y = HEIGHT - top
    for index in range(len(rows) + 1):
        pdf.line(xs[0], y - index * height, xs[-1], y - index * height)
    for x in xs:
        pdf.line(x, y, x, y - len(rows) * height)
    pdf.setFont(FONT, 10)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            baseline = y - r * height - 14
            if c and text[:1].isdigit():
                pdf.drawRightString(xs[c + 1] - 3, baseline, text)
            else:
                pdf.drawString(xs[c] + 3, baseline, text)
    return top + len(rows) * height


def _running_header(pdf: canvas.Canvas, number: int) -> None:
    pdf.setFont(FONT, 9)
    pdf.drawString(60, HEIGHT - 30, "某某区财政局2025年部门预算")
    pdf.drawCentredString(WIDTH / 2, 30, f"- {number} -")


def _ingest(tmp_path: Path, data: bytes, name: str = "generated.pdf") -> IngestedDocument:
    path = tmp_path / name
    path.write_bytes(data)
    return ingest_path(path)


COLUMNS = [60, 260, 360, 460, 535]
HEADER = ["项目", "预算数", "上年数", "增减"]


def _two_page_table(pdf: canvas.Canvas, number: int) -> None:
    _running_header(pdf, number)
    if number == 1:
        pdf.setFont(FONT, 16)
        pdf.drawCentredString(WIDTH / 2, HEIGHT - 80, "江 苏 省 人 民 检 察 院")
        pdf.setFont(FONT, 14)
        pdf.drawCentredString(WIDTH / 2, HEIGHT - 120, "2025年部门财务收支预算总表")
        pdf.setFont(FONT, 10)
        pdf.drawString(60, HEIGHT - 140, "编制部门：某某区财政局")
        pdf.drawRightString(WIDTH - 60, HEIGHT - 140, "单位：万元")
        body = [[f"项目{i}", f"{100 + i}.50", f"{90 + i}.00", "10.50"] for i in range(1, 30)]
        _ruled(pdf, 150, COLUMNS, [HEADER, *body])
    else:
        body = [[f"项目{i}", f"{100 + i}.50", f"{90 + i}.00", "10.50"] for i in range(30, 35)]
        bottom = _ruled(pdf, 60, COLUMNS, [HEADER, *body, ["收入总计", "3,121.42", "3,000.00", "121.42"]])
        pdf.setFont(FONT, 10)
        pdf.drawString(60, HEIGHT - bottom - 20, "注：本表为测试数据。")


def test_ruled_table_split_across_two_pages(tmp_path):
    document = _ingest(tmp_path, _pdf(_two_page_table, pages=2))
    assert (document.layout, document.pages, document.warnings) == ("pdf", 2, [])
    first, second = grids(document)
    assert first.title == "2025年部门财务收支预算总表"
    assert [line.text for line in first.context] == ["编制部门:某某区财政局", "单位:万元"]
    assert second.title == ""  # a continuation piece: extract merges it
    assert row_texts(first)[0] == row_texts(second)[0] == HEADER
    assert len(first.rows) == 30 and len(second.rows) == 7
    assert row_texts(second)[-1] == ["收入总计", "3,121.42", "3,000.00", "121.42"]
    assert [line.text for line in second.note] == ["注:本表为测试数据。"]
    cell = second.rows[-1][1]
    assert (cell.page, cell.row, cell.col) == (2, 6, 1)
    left, top, right, bottom = cell.bbox
    assert left == pytest.approx(260, abs=1) and right == pytest.approx(360, abs=1) and bottom - top == pytest.approx(20)
    texts = paragraphs(document)
    assert "江苏省人民检察院" in texts  # letter-spaced heading joined
    assert not any("某某区财政局2025年部门预算" in text or text.strip("- ").isdigit() for text in texts)


def test_number_cut_by_a_column_rule_stays_whole(tmp_path):
    def draw(pdf: canvas.Canvas, _number: int) -> None:
        _ruled(pdf, 100, [60, 200, 300, 400], [["项目", "金额", "备注"], ["办公费", "", "说明"]])
        pdf.setFont(FONT, 10)
        pdf.drawRightString(303, HEIGHT - 134, "267.80")  # the last digit lies right of the rule at x=300

    grid = grids(_ingest(tmp_path, _pdf(draw)))[0]
    assert row_texts(grid)[1] == ["办公费", "267.80", "说明"]


def test_unruled_table_from_aligned_columns(tmp_path):
    def draw(pdf: canvas.Canvas, _number: int) -> None:
        pdf.setFont(FONT, 14)
        pdf.drawCentredString(WIDTH / 2, HEIGHT - 80, "部门收支总表")
        pdf.setFont(FONT, 10)
        pdf.drawRightString(WIDTH - 60, HEIGHT - 100, "单位：万元")
        rows = [
            ("项目", "预算数", "上年数"),
            ("一、一般公共服务支出", "1,234.50", "1,100.00"),
            ("二、社会保障和就业支出", "345.60", "300.00"),
            ("三、机关事业单位基本养老保险缴费", "88.00", "80.00"),
            None,
            ("四、住房保障支出", "12.00", "10.00"),
            ("合计", "1,680.10", "1,490.00"),
        ]
        for index, row in enumerate(rows):
            y = HEIGHT - 130 - 18 * index
            if row is None:
                continue
            pdf.drawString(60, y, row[0])
            pdf.drawRightString(380, y, row[1])
            pdf.drawRightString(520, y, row[2])
        pdf.drawString(60, HEIGHT - 130 - 18 * 3 - 14, "支出（项）")  # the third label wraps

    document = _ingest(tmp_path, _pdf(draw))
    (grid,) = grids(document)
    assert grid.source_layout == "pdf-unruled"
    assert grid.title == "部门收支总表"
    assert [line.text for line in grid.context] == ["单位:万元"]
    assert row_texts(grid) == [
        ["项目", "预算数", "上年数"],
        ["一、一般公共服务支出", "1,234.50", "1,100.00"],
        ["二、社会保障和就业支出", "345.60", "300.00"],
        ["三、机关事业单位基本养老保险缴费支出(项)", "88.00", "80.00"],
        ["四、住房保障支出", "12.00", "10.00"],
        ["合计", "1,680.10", "1,490.00"],
    ]
    assert paragraphs(document) == []


def test_paragraph_lines_and_headings(tmp_path):
    def draw(pdf: canvas.Canvas, _number: int) -> None:
        pdf.setFont(FONT, 11)
        pdf.drawString(60, HEIGHT - 80, "一、收入预算情况说明")
        sentence = "本部门2025年收入预算3,121.42万元，其中财政拨款收入3,121.42万元，比上年增加107.62万元。"
        pdf.drawString(82, HEIGHT - 100, sentence[:30])
        pdf.drawString(60, HEIGHT - 116, sentence[30:])
        pdf.drawString(82, HEIGHT - 140, "二、支出预算情况说明")

    document = _ingest(tmp_path, _pdf(draw))
    kinds = [(block.kind, block.text) for block in document.blocks]
    assert kinds[0] == ("heading", "一、收入预算情况说明")
    assert kinds[1] == (
        "paragraph",
        "本部门2025年收入预算3,121.42万元,其中财政拨款收入3,121.42万元,比上年增加107.62万元。",
    )
    line = document.blocks[1].lines[0]
    assert (line.page, line.line) == (1, 2) and line.bbox[0] == pytest.approx(82, abs=0.5)


def test_encrypted_pdf_is_rejected_with_a_reason(tmp_path):
    data = _pdf(lambda pdf, _n: pdf.drawString(100, 700, "secret"), encrypt="secret")
    with pytest.raises(IngestError) as caught:
        _ingest(tmp_path, data)
    assert caught.value.reason == "encrypted PDF (password required)"
    assert caught.value.stage == "open"


def test_owner_password_only_pdf_is_read(tmp_path):
    """Printable without a password; pdfminer decodes its CID text as (cid:NN), PDFium does not."""
    from reportlab.lib import pdfencrypt

    def draw(pdf: canvas.Canvas, _number: int) -> None:
        pdf.setFont(FONT, 14)
        pdf.drawString(100, 750, "2025年部门收支总表")

    encryption = pdfencrypt.StandardEncryption("", ownerPassword="owner", canModify=0)
    document = _ingest(tmp_path, _pdf(draw, encrypt=encryption))
    assert "2025年部门收支总表" in paragraphs(document)
    assert all("re-read with PDFium" in warning for warning in document.warnings)


def test_cid_garbage_is_a_page_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("YUSUAN_OCR", "0")
    monkeypatch.setenv("YUSUAN_PDF_BACKEND", "pdfminer")  # (cid:NN) text is pdfminer's; garble what it reads
    original = pdf_reader._page_chars

    def garbled(page):
        chars = original(page)
        for index, char in enumerate(chars):
            char["text"] = f"(cid:{index})"
        return chars

    monkeypatch.setattr(pdf_reader, "_page_chars", garbled)
    monkeypatch.setattr(pdf_reader, "_pdfium_chars", lambda *args: [])
    document = _ingest(tmp_path, _pdf(lambda pdf, _n: (pdf.setFont(FONT, 12), pdf.drawString(100, 700, "收入总计")), 2))
    assert document.warnings == [
        "page 1: 4 (cid:) glyphs, text unreadable",
        "page 1: text unreadable, OCR not available",
        "page 2: 4 (cid:) glyphs, text unreadable",
        "page 2: text unreadable, OCR not available",
    ]
    assert document.pages_needing_ocr == [1, 2]


@pytest.mark.parametrize(
    ("data", "reason", "pdf_reason"),
    [
        (b"", "file is empty", "file is empty (0 bytes)"),
        (b"Hello, this is a text file\n", "not a PDF (starts with b'Hello, this is a')", None),
        # a web page saved under a .pdf name is read as HTML (crawlers do this); an empty one is a clear error
        (b"<!DOCTYPE html><html>404</html>", "HTML document has no text", "not a PDF (starts with b'<!DOCTYPE html><')"),
    ],
)
def test_not_a_pdf(tmp_path, data, reason, pdf_reason):
    with pytest.raises(IngestError) as caught:
        _ingest(tmp_path, data)
    assert caught.value.reason == reason
    with pytest.raises(IngestError) as caught:
        ingest_pdf("x.pdf", data, hashlib.sha256(data).hexdigest())
    assert caught.value.reason == (pdf_reason or reason)


def test_truncated_and_corrupt_pdfs(tmp_path):
    good = _pdf(_two_page_table, pages=2)
    for broken in (good[: len(good) // 2], good[:-300], good[:400] + b"\x00" * 600 + good[1000:], b"%PDF-1.4\n"):
        with pytest.raises(IngestError) as caught:
            _ingest(tmp_path, broken)
        assert caught.value.reason.startswith("truncated or corrupt PDF"), caught.value.reason


def test_pdfminer_is_only_opened_for_pages_pdfium_hands_over(monkeypatch):
    data = _pdf(_two_page_table, pages=2)
    opened = []
    original = pdf_reader._PdfminerPages.pages
    monkeypatch.setattr(pdf_reader._PdfminerPages, "pages", lambda self: opened.append(1) or original(self))
    document = ingest_pdf("x.pdf", data, "sha", backend="pdfium")
    assert opened == [] and document.pages == 2 and grids(document)
    assert ingest_pdf("x.pdf", data, "sha", backend="pdfminer").blocks == document.blocks and opened


@pytest.mark.parametrize("count", [b"2", b"5"])
def test_a_page_count_pdfminer_disagrees_with_is_read_by_pdfminer(count):
    """PDFium trusts the page tree's /Count, pdfminer counts the pages: where they differ, page N may not be the same
    page in both, and the whole document is read by pdfminer. /Count too large: the pages past the end fall back to
    pdfminer, which disagrees; too small: the file holds more page objects than PDFium counts, pdfminer is asked."""
    data = _pdf(_two_page_table, pages=3).replace(b"/Count 3", b"/Count " + count)
    document = ingest_pdf("x.pdf", data, "sha", backend="pdfium")
    reference = ingest_pdf("x.pdf", data, "sha", backend="pdfminer")
    assert document.pages == 3 and grids(document)
    assert document.blocks == reference.blocks and document.warnings == reference.warnings


def test_page_without_text_layer_needs_ocr(tmp_path, monkeypatch):
    monkeypatch.setenv("YUSUAN_OCR", "0")

    def draw(pdf: canvas.Canvas, number: int) -> None:
        if number == 2:
            pdf.rect(100, 100, 300, 300, fill=1)  # drawn, but no text layer: a stand-in for a scanned image
        elif number != 4:  # page 4 stays blank (a separator page)
            pdf.setFont(FONT, 12)
            pdf.drawString(100, 700, f"第{number}页正文")

    document = _ingest(tmp_path, _pdf(draw, pages=4))
    assert document.pages_needing_ocr == [2]
    assert document.warnings == [
        "page 2: no text layer (scanned image?), OCR not available",
        "page 4: blank page (no text layer, no images)",
    ]
    assert paragraphs(document) == ["第1页正文", "第3页正文"]
    assert document.pages == 4


def test_scanned_page_is_read_by_ocr(tmp_path, monkeypatch):
    pytest.importorskip("rapidocr_onnxruntime")
    import pypdfium2
    from reportlab.lib.utils import ImageReader

    monkeypatch.delenv("YUSUAN_OCR", raising=False)
    text_page = pypdfium2.PdfDocument(_pdf(_two_page_table, pages=1))[0]
    image = text_page.render(scale=2).to_pil()

    def draw(pdf: canvas.Canvas, _number: int) -> None:
        pdf.drawImage(ImageReader(image), 0, 0, width=WIDTH, height=HEIGHT)

    document = _ingest(tmp_path, _pdf(draw))
    assert document.pages_needing_ocr == []
    assert document.warnings and document.warnings[0].startswith("page 1: no text layer, text read by OCR")
    (grid,) = [grid for grid in grids(document) if grid.source_layout == "pdf-unruled"]
    assert grid.title == "2025年部门财务收支预算总表"
    assert find_row(grid, "项目1")[:3] == ["项目1", "101.50", "91.00"]


@pytest.mark.parametrize("pairs_at_once", [1 << 20, 3])  # one numpy pass, and many small ones
def test_container_cells_and_cell_lookup(monkeypatch, pairs_at_once):
    monkeypatch.setattr(pdf_tables, "_PAIRS_AT_ONCE", pairs_at_once)
    left, right, twin = (10.0, 10.0, 50.0, 30.0), (50.0, 10.0, 90.0, 30.0), (10.0, 10.0, 50.0, 30.0)
    background = (9.5, 9.5, 90.5, 30.5)  # holds both cells (within a point): a shaded rectangle, not a cell
    assert pdf_tables._drop_container_cells([background, left, right]) == [left, right]
    assert pdf_tables._drop_container_cells([left, twin, right]) == [left, twin, right]  # a copy is not contained
    wide = (10.0, 10.0, 90.0, 30.0)
    points = [(30.0, 20.0), (50.2, 20.0), (50.0, 30.4), (95.0, 20.0)]
    # the smallest box holding the point (grown by half a point), the first of equal ones; -1 for none
    assert pdf_tables._smallest_holding(points, [wide, left, right]) == [1, 1, 1, -1]
    assert pdf_tables._smallest_holding([], [wide]) == []
