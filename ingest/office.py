"""Office and web formats: .xlsx/.xlsm (openpyxl), .xls (xlrd), .docx (python-docx), .html/.htm (BeautifulSoup).

Every reader produces the same :class:`~yusuan.model.IngestedDocument` as the text and PDF readers: table
blocks with a :class:`Grid` (title, unit/meta context lines, notes) and heading/paragraph blocks of
:class:`TextLine`. Merged cells are expanded: the merged value is copied into every cell of the range.

Provenance: spreadsheets give ``page`` = sheet index (1-based) and ``row``/``col`` = sheet row/column (1-based);
docx gives ``line`` = paragraph index (1-based, tables count as one paragraph slot) and 0-based grid
``row``/``col``; html gives ``line`` = source line of the element and 0-based grid ``row``/``col``.
"""

from __future__ import annotations

import datetime as _dt
import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

from yusuan.model import Block, Cell, Grid, IngestedDocument, TextLine

from .errors import IngestError
from .normalize import normalize_text
from .patterns import NOTE_LINE as _NOTE_LINE
from .patterns import UNIT_LINE as _UNIT_LINE
from .text import _BlockCollector

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _head(data: bytes) -> str:
    return repr(data[:16])


def _zip_members(source: str, data: bytes, what: str, suffix: str) -> set[str]:
    """The member names of an OOXML package (xlsx, docx), or a per-file error saying why it is not one."""
    if not data.startswith(_ZIP):
        raise IngestError(source, "read", f"not {what} (not a zip archive; starts with {_head(data)})")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return set(archive.namelist())
    except zipfile.BadZipFile as exc:
        raise IngestError(source, "open", f"corrupt or truncated {suffix} (bad zip archive: {exc})") from exc


# ------------------------------------------------------------------ sniffing


def is_html(data: bytes) -> bool:
    """HTML by content, whatever the file is called: a saved web page starts with a doctype, <html>, <head>,
    <meta> or a bare <table> (after a BOM, whitespace and "saved from" comments)."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    while head.startswith(b"<!--") and (end := head.find(b"-->")) >= 0:
        head = head[end + 3:].lstrip(b" \t\r\n")
    head = head.lower()
    return head.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml", b"<meta", b"<head", b"<body")) and (
        b"<table" in data[:200000].lower() or b"<html" in head or b"<body" in head
    )


def ingest_spreadsheet(source: str, data: bytes, sha256: str) -> IngestedDocument:
    """.xlsx/.xlsm/.xls by content: a zip is OOXML, an OLE container is BIFF (or an encrypted OOXML), and a
    file of HTML (government sites often serve an HTML table as "xls") goes to the HTML reader."""
    if not data:
        raise IngestError(source, "read", "file is empty (0 bytes)")
    if data.startswith(_ZIP):
        return ingest_xlsx(source, data, sha256)
    if data.startswith(_OLE):
        if "EncryptedPackage".encode("utf-16-le") in data[:200000]:
            raise IngestError(source, "open", "encrypted workbook (password required)")
        return ingest_xls(source, data, sha256)
    if is_html(data):
        document = ingest_html(source, data, sha256)
        document.warnings.insert(0, "spreadsheet file is an HTML table; read as HTML")
        return document
    raise IngestError(source, "read", f"not a spreadsheet (not a zip or OLE workbook; starts with {_head(data)})")


# ------------------------------------------------------------------ spreadsheet grids


def _format_number(value: float, number_format: str | None) -> str:
    """The number as a spreadsheet shows it for plain numeric formats ("#,##0.00" → 31,214,205.80)."""
    fmt = (number_format or "General").split(";")[0]
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if fmt != "General" and re.fullmatch(r'[#0,\.\s%\\"_\-()]*', fmt) and "0" in fmt:
        decimals = len(fmt.split(".", 1)[1].rstrip("%").replace("_", "").replace(")", "")) if "." in fmt else 0
        decimals = min(decimals, 10)
        if fmt.rstrip().endswith("%"):
            return f"{value * 100:.{decimals}f}%"
        return f"{value:,.{decimals}f}" if "," in fmt else f"{value:.{decimals}f}"
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _value_text(value: Any, number_format: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, _dt.datetime):
        return value.date().isoformat() if value.time() == _dt.time() else value.isoformat(sep=" ")
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, int | float):
        return _format_number(value, number_format)
    return str(value)


def _sheet_grid(name: str, index: int, values: list[list[str]], layout: str) -> tuple[Grid, list[TextLine]] | None:
    """Rows of cell texts (merged ranges already expanded) → a Grid with title, context and notes."""
    height = len(values)
    while height and not any(text.strip() for text in values[height - 1]):
        height -= 1
    width = max((len(row) for row in values[:height]), default=0)
    while width and not any(len(row) >= width and row[width - 1].strip() for row in values[:height]):
        width -= 1
    if not height or not width:
        return None
    rows = [
        [Cell(text=normalize_text(raw), raw=raw, page=index, row=r + 1, col=c + 1) for c, raw in enumerate((row + [""] * width)[:width])]
        for r, row in enumerate(values[:height])
    ]
    title_line: TextLine | None = None
    context: list[TextLine] = []
    notes: list[TextLine] = []
    while rows:
        texts = _distinct(rows[0])
        if not texts:
            rows.pop(0)
            continue
        if title_line is None and not context and len(texts) == 1 and _title_like(texts[0]):
            title_line = TextLine(text=texts[0], raw=rows[0][0].raw or texts[0], line=rows[0][0].row, page=index)
            rows.pop(0)
            continue
        if len(texts) <= 4 and all(_UNIT_LINE.search(text) or not text for text in texts) and len(rows) > 1:
            context.extend(TextLine(text=text, raw=text, line=rows[0][0].row, page=index) for text in texts)
            rows.pop(0)
            continue
        break
    while rows:
        texts = _distinct(rows[-1])
        if not texts:
            rows.pop()
            continue
        if len(texts) == 1 and _NOTE_LINE.search(texts[0]) and len(rows) > 1:
            notes.insert(0, TextLine(text=texts[0], raw=texts[0], line=rows[-1][0].row, page=index))
            rows.pop()
            continue
        break
    if not rows:
        return None
    grid = Grid(
        rows=rows,
        title=title_line.text if title_line else normalize_text(name),
        title_line=title_line,
        context=context,
        note=notes,
        source_layout=layout,
    )
    return grid, ([title_line] if title_line else []) + context


def _distinct(row: list[Cell]) -> list[str]:
    seen: list[str] = []
    for cell in row:
        if cell.text and cell.text not in seen:
            seen.append(cell.text)
    return seen


def _title_like(text: str) -> bool:
    return len(text) <= 60 and "。" not in text and not _UNIT_LINE.search(text) and not _NOTE_LINE.search(text)


def _sheet_blocks(name: str, index: int, values: list[list[str]], layout: str) -> list[Block]:
    built = _sheet_grid(name, index, values, layout)
    if built is None:
        return []
    grid, lines = built
    return [Block(kind="table", lines=lines, grid=grid)]


def ingest_xlsx(source: str, data: bytes, sha256: str) -> IngestedDocument:
    import openpyxl

    names = _zip_members(source, data, "an xlsx workbook", "xlsx")
    if "xl/workbook.xml" not in names:
        kind = "a Word document" if "word/document.xml" in names else "a zip archive without xl/workbook.xml"
        raise IngestError(source, "read", f"not an xlsx workbook ({kind})")
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises KeyError/ValueError/zip errors on damaged workbooks
        raise IngestError(source, "open", f"corrupt xlsx: {type(exc).__name__}: {exc}") from exc
    blocks: list[Block] = []
    warnings: list[str] = []
    for index, sheet in enumerate(workbook.worksheets, start=1):
        values = _openpyxl_values(sheet)
        sheet_blocks = _sheet_blocks(sheet.title, index, values, "spreadsheet")
        if not sheet_blocks:
            warnings.append(f"sheet {index} ({sheet.title}): empty")
        blocks.extend(sheet_blocks)
    if not blocks:
        raise IngestError(source, "parse", "workbook has no cell content")
    return IngestedDocument(
        source=source,
        sha256=sha256,
        layout="spreadsheet",
        pages=len(workbook.worksheets),
        blocks=blocks,
        warnings=warnings,
    )


def _openpyxl_values(sheet: Any) -> list[list[str]]:
    max_row, max_col = sheet.max_row or 0, sheet.max_column or 0
    values = [["" for _ in range(max_col)] for _ in range(max_row)]
    for row in sheet.iter_rows(min_row=1, max_row=max_row, max_col=max_col):
        for cell in row:
            if cell.value is None or not hasattr(cell, "column"):
                continue
            values[cell.row - 1][cell.column - 1] = _value_text(cell.value, cell.number_format)
    for merged in sheet.merged_cells.ranges:
        top_left = values[merged.min_row - 1][merged.min_col - 1] if merged.min_row <= max_row else ""
        for r in range(merged.min_row, min(merged.max_row, max_row) + 1):
            for c in range(merged.min_col, min(merged.max_col, max_col) + 1):
                values[r - 1][c - 1] = top_left
    return values


def ingest_xls(source: str, data: bytes, sha256: str) -> IngestedDocument:
    import xlrd

    if not data.startswith(_OLE):
        raise IngestError(source, "read", f"not an xls workbook (not an OLE container; starts with {_head(data)})")
    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=True)
    except Exception as exc:  # xlrd.XLRDError, CompDocError, struct errors on damaged files
        message = str(exc)
        if "encrypt" in message.lower():
            raise IngestError(source, "open", "encrypted workbook (password required)") from exc
        raise IngestError(source, "open", f"corrupt xls: {type(exc).__name__}: {message}") from exc
    blocks: list[Block] = []
    warnings: list[str] = []
    for index in range(book.nsheets):
        sheet = book.sheet_by_index(index)
        values = _xlrd_values(book, sheet)
        sheet_blocks = _sheet_blocks(sheet.name, index + 1, values, "spreadsheet")
        if not sheet_blocks:
            warnings.append(f"sheet {index + 1} ({sheet.name}): empty")
        blocks.extend(sheet_blocks)
    if not blocks:
        raise IngestError(source, "parse", "workbook has no cell content")
    return IngestedDocument(source=source, sha256=sha256, layout="spreadsheet", pages=book.nsheets, blocks=blocks, warnings=warnings)


def _xlrd_values(book: Any, sheet: Any) -> list[list[str]]:
    import xlrd

    values = [["" for _ in range(sheet.ncols)] for _ in range(sheet.nrows)]
    for r in range(sheet.nrows):
        for c in range(sheet.ncols):
            cell = sheet.cell(r, c)
            if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                continue
            if cell.ctype == xlrd.XL_CELL_DATE:
                try:
                    values[r][c] = _value_text(xlrd.xldate_as_datetime(cell.value, book.datemode))
                except Exception:  # out-of-range date serials: keep the number
                    values[r][c] = _value_text(cell.value)
                continue
            if cell.ctype == xlrd.XL_CELL_NUMBER:
                values[r][c] = _value_text(cell.value, _xlrd_format(book, cell))
                continue
            if cell.ctype == xlrd.XL_CELL_BOOLEAN:
                values[r][c] = "TRUE" if cell.value else "FALSE"
                continue
            if cell.ctype == xlrd.XL_CELL_ERROR:
                continue
            values[r][c] = str(cell.value)
    for r0, r1, c0, c1 in getattr(sheet, "merged_cells", []):
        top_left = values[r0][c0] if r0 < sheet.nrows and c0 < sheet.ncols else ""
        for r in range(r0, min(r1, sheet.nrows)):
            for c in range(c0, min(c1, sheet.ncols)):
                values[r][c] = top_left
    return values


def _xlrd_format(book: Any, cell: Any) -> str | None:
    try:
        xf = book.xf_list[cell.xf_index]
        return book.format_map[xf.format_key].format_str
    except (AttributeError, IndexError, KeyError, TypeError):
        return None


# ------------------------------------------------------------------ docx


def ingest_docx(source: str, data: bytes, sha256: str) -> IngestedDocument:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    if data.startswith(_OLE):
        raise IngestError(source, "read", "legacy Word .doc (OLE) or encrypted document: not a .docx")
    names = _zip_members(source, data, "a docx document", "docx")
    if "word/document.xml" not in names:
        raise IngestError(source, "read", "not a docx document (zip archive without word/document.xml)")
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises PackageNotFoundError, KeyError, lxml errors
        raise IngestError(source, "open", f"corrupt docx: {type(exc).__name__}: {exc}") from exc

    collector = _BlockCollector()
    number = 0
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            number += 1
            paragraph = Paragraph(child, document)
            raw = paragraph.text
            if not raw.strip():
                continue
            line = TextLine(text=normalize_text(raw), raw=raw, line=number, heading=_docx_heading(paragraph))
            if not collector.note_after_table(line):
                collector.text(line)
        elif tag == "tbl":
            number += 1
            rows = _docx_rows(Table(child, document), number)
            if rows:
                collector.grid(rows, "docx")
    collector.flush_text()
    blocks = collector.blocks
    if not blocks:
        raise IngestError(source, "parse", "document has no text")
    return IngestedDocument(source=source, sha256=sha256, layout="docx", pages=1, blocks=blocks)


def _docx_heading(paragraph: Any) -> int:
    try:
        name = (paragraph.style.name or "").lower() if paragraph.style is not None else ""
    except (KeyError, ValueError):
        return 0
    match = re.match(r"(heading|标题)\s*(\d)", name)
    if match:
        return int(match.group(2))
    return 1 if name in ("title", "标题") else 0


def _docx_rows(table: Any, number: int) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for r, row in enumerate(table.rows):
        texts: list[str] = []
        texts.extend("" for _ in range(getattr(row, "grid_cols_before", 0) or 0))
        texts.extend(_docx_cell_text(cell) for cell in row.cells)
        texts.extend("" for _ in range(getattr(row, "grid_cols_after", 0) or 0))
        rows.append([Cell(text=normalize_text(_join_lines(raw)), raw=raw, line=number, row=r, col=c) for c, raw in enumerate(texts)])
    width = max((len(row) for row in rows), default=0)
    for r, row in enumerate(rows):
        row.extend(Cell(text="", raw="", line=number, row=r, col=c) for c in range(len(row), width))
    return rows if any(cell.text for row in rows for cell in row) else []


def _docx_cell_text(cell: Any) -> str:
    parts = [paragraph.text for paragraph in cell.paragraphs]
    for nested in cell.tables:  # a table inside a cell: keep its text in reading order
        for row in nested.rows:
            parts.append(" ".join(_docx_cell_text(inner) for inner in row.cells))
    return "\n".join(part for part in parts if part.strip())


def _join_lines(raw: str) -> str:
    out = ""
    for part in raw.split("\n"):
        part = part.strip()
        if not part:
            continue
        if out and out[-1].isascii() and out[-1].isalnum() and part[0].isascii() and part[0].isalnum():
            out += " "
        out += part
    return out


# ------------------------------------------------------------------ html

_SKIP_TAGS = {"script", "style", "noscript", "head", "title", "template", "svg", "iframe", "object"}
_BLOCK_TAGS = {
    "p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "td", "th", "tr",
    "table", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "br", "hr", "caption", "center",
    "body", "html", "header", "footer", "main", "nav", "aside", "form", "fieldset", "address",
}  # fmt: skip


MAX_HTML_DEPTH = 400  # real pages nest a few dozen elements deep; Python's recursion limit is 1000


def _nesting_depth(root: Any) -> int:
    deepest, stack = 0, [(root, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in getattr(node, "contents", ()) if getattr(child, "name", None))
    return deepest


def ingest_html(source: str, data: bytes, sha256: str) -> IngestedDocument:
    from bs4 import BeautifulSoup

    if not data.strip():
        raise IngestError(source, "read", "file is empty")
    if data.startswith((_ZIP, _OLE, b"%PDF")):
        raise IngestError(source, "read", f"not an HTML document (binary content; starts with {_head(data)})")
    # html.parser (not lxml) because it records each tag's source line, which becomes TextLine.line/Cell.line
    soup = BeautifulSoup(data, "html.parser")
    depth = _nesting_depth(soup)
    if depth > MAX_HTML_DEPTH:  # the readers below walk the tree recursively (and in quadratic time when this deep)
        raise IngestError(source, "parse", f"HTML elements nested {depth} deep (at most {MAX_HTML_DEPTH} are read)")
    page_title = _page_title(soup)
    root = soup.body or soup
    for tag in root.find_all(_SKIP_TAGS):
        tag.decompose()
    title = _title_element(root)
    _drop_site_chrome(root, title)
    root = _article(root, title)
    if title is not None:
        _drop_before(root, title)
    collector = _BlockCollector()
    if title is None and page_title is not None:
        collector.text(page_title)  # the body does not print its budget title: the page's <title> names it
    for kind, payload in _html_walk(root):
        if kind == "table":
            grid_rows, caption = payload
            if caption is not None:
                collector.text(caption)
            collector.grid(grid_rows, "html")
        else:
            if not collector.note_after_table(payload):
                collector.text(payload)
    collector.flush_text()
    if not collector.blocks:
        raise IngestError(source, "parse", "HTML document has no text")
    return IngestedDocument(source=source, sha256=sha256, layout="html", pages=1, blocks=collector.blocks)


# Web pages wrap the article in the site's navigation, header, footer, breadcrumbs and link lists.
_CHROME_TAGS = ["nav", "header", "footer", "aside", "form", "select", "button", "input", "label", "menu"]
_CHROME_NAMES = {
    "nav", "navs", "navbar", "menu", "header", "head", "top", "topbar", "footer", "foot", "bottom", "breadcrumb", "crumb",
    "crumbs", "sidebar", "side", "share", "copyright", "search", "login", "toolbar", "banner", "links", "friendlink",
}
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden")
_BUDGET_TITLE = re.compile(r"(20\d{2}|二〇).{0,40}(预算|决算)|(预算|决算).{0,20}20\d{2}")
_CONTAINERS = {"div", "section", "article", "main", "center", "body", "font", "tbody", "tr", "td"}
_DOMINANT = 0.6  # a child holding this share of its parent's own (non-link) text is where the article is


def _class_tokens(tag: Any) -> set[str]:
    names = " ".join([*(tag.get("class") or []), tag.get("id") or ""]).lower()
    return set(re.split(r"[-_\s]+", names)) - {""}


def _text_length(tag: Any, links: bool = True) -> int:
    total = len(re.sub(r"\s+", "", tag.get_text()))
    if links:
        return total
    return total - sum(len(re.sub(r"\s+", "", a.get_text())) for a in tag.find_all("a"))


def _title_element(root: Any) -> Any:
    """The element printing the page's budget title ("…2026年部门预算情况说明"): short, outside links and breadcrumbs."""
    for tag in root.find_all(True):
        text = re.sub(r"\s+", "", tag.get_text())
        if (6 <= len(text) <= 80 and _BUDGET_TITLE.search(text) and not tag.find_parent("a") and tag.name != "a"
                and not re.search(r">|位置|»", text) and not _HIDDEN.search(tag.get("style") or "")):
            return tag
    return None


def _drop_site_chrome(root: Any, title: Any) -> None:
    """Remove hidden elements, navigation/header/footer (by tag or class/id name) and link lists — never the
    title's own ancestors, never a data table."""
    keep = set(map(id, title.parents)) | {id(title)} if title is not None else set()
    for tag in root.find_all(True):
        if tag.decomposed or id(tag) in keep or tag is root:
            continue
        chrome = (
            tag.name in _CHROME_TAGS or bool(_class_tokens(tag) & _CHROME_NAMES) or _HIDDEN.search(tag.get("style") or "")
            or (tag.name in ("ul", "ol", "dl", "div", "p") and _text_length(tag) >= 10
                and _text_length(tag, links=False) < 0.3 * _text_length(tag) and not tag.find("table"))
        )
        if chrome:
            tag.decompose()


def _article(root: Any, title: Any) -> Any:
    """Go down from <body> while one container child holds most of the text that is not link text (and still
    holds the title): that child is the article, the rest is the site around it."""
    node = root
    while True:
        weight = _text_length(node, links=False)
        if not weight:
            return node
        children = [child for child in node.find_all(True, recursive=False)
                    if child.name in _CONTAINERS or (child.name == "table" and child.find("table"))]
        best = max(children, key=lambda child: _text_length(child, links=False), default=None)
        if best is None or _text_length(best, links=False) < _DOMINANT * weight:
            return node
        if title is not None and best is not title and title not in best.descendants:
            return node
        node = best


def _drop_before(root: Any, title: Any) -> None:
    """The article starts at its title: what the page prints before it (info boxes, dates, breadcrumbs) goes."""
    ancestors = set(map(id, title.parents))
    inside = set(map(id, root.descendants))
    for text in list(title.find_all_previous(string=True)):
        if id(text) in inside:
            text.extract()
    for tag in list(title.find_all_previous(True)):
        if id(tag) in inside and id(tag) not in ancestors and not tag.decomposed:
            tag.decompose()


def _page_title(soup: Any) -> TextLine | None:
    """The <title> of a page whose body does not print its budget title: its first part, before the site name."""
    tag = soup.find("title")
    text = re.split(r"\s+[-_|]\s+|_", tag.get_text(" ", strip=True))[0] if tag is not None else ""
    if not _BUDGET_TITLE.search(text):
        return None
    return TextLine(text=normalize_text(text), raw=text, line=getattr(tag, "sourceline", None), heading=1)


def _html_walk(root: Any) -> Iterator[tuple[str, Any]]:
    """Document-order stream of ("line", TextLine) and ("table", (rows, caption)) items.

    A table whose cells hold other tables is a layout table: it is walked into, not turned into a grid."""
    from bs4 import NavigableString, Tag

    buffer: list[str] = []
    buffer_line: list[int | None] = [None]
    heading: list[int] = [0]

    def flush() -> Iterator[tuple[str, Any]]:
        raw = " ".join(part.strip() for part in buffer if part.strip())
        buffer.clear()
        if raw:
            yield "line", TextLine(text=normalize_text(raw), raw=raw, line=buffer_line[0], heading=heading[0])
        buffer_line[0] = None
        heading[0] = 0

    def walk(node: Any) -> Iterator[tuple[str, Any]]:
        for child in node.children:
            if isinstance(child, NavigableString):
                if type(child).__name__ in ("Comment", "Doctype", "Declaration", "ProcessingInstruction", "CData"):
                    continue
                if child.strip():
                    if buffer_line[0] is None:
                        buffer_line[0] = getattr(child.parent, "sourceline", None)
                    buffer.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name.lower() if child.name else ""
            if name in _SKIP_TAGS:
                continue
            if name == "table" and not child.find("table"):
                yield from flush()
                rows = _html_table_rows(child)
                caption_tag = child.find("caption")
                caption = None
                if caption_tag is not None and caption_tag.get_text(strip=True):
                    text = caption_tag.get_text(" ", strip=True)
                    caption = TextLine(text=normalize_text(text), raw=text, line=getattr(caption_tag, "sourceline", None))
                if rows:
                    yield "table", (rows, caption)
                continue
            block = name in _BLOCK_TAGS
            if block:
                yield from flush()
            match = re.fullmatch(r"h([1-6])", name)
            if match:
                heading[0] = int(match.group(1))
            yield from walk(child)
            if block:
                yield from flush()

    yield from walk(root)
    yield from flush()


def _html_table_rows(table: Any) -> list[list[Cell]]:
    """Rows of a <table> with rowspan/colspan expanded (the spanning cell's text copied into every slot)."""
    grid: dict[tuple[int, int], Cell] = {}
    row_tags = [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]
    for r, tr in enumerate(row_tags):
        c = 0
        for td in tr.find_all(["td", "th"], recursive=False):
            while (r, c) in grid:
                c += 1
            raw = _join_lines("\n".join(s for s in td.stripped_strings))
            raw_text = "\n".join(td.stripped_strings)
            rowspan = _span(td.get("rowspan"))
            colspan = _span(td.get("colspan"))
            for dr in range(rowspan):
                for dc in range(colspan):
                    grid[(r + dr, c + dc)] = Cell(
                        text=normalize_text(raw),
                        raw=raw_text,
                        line=getattr(td, "sourceline", None),
                        row=r + dr,
                        col=c + dc,
                    )
            c += colspan
    if not grid:
        return []
    height = max(r for r, _c in grid) + 1
    width = max(c for _r, c in grid) + 1
    rows = [[grid.get((r, c)) or Cell(text="", raw="", row=r, col=c) for c in range(width)] for r in range(height)]
    return rows if any(cell.text for row in rows for cell in row) else []


def _span(value: Any) -> int:
    try:
        return max(1, min(int(str(value).strip() or 1), 1000))
    except (TypeError, ValueError):
        return 1
