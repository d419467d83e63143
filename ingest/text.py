"""Text conversions of budget documents: markdown with tab-separated tables, or one table cell per line."""

from __future__ import annotations

import codecs
import re

from yusuan.model import Block, Cell, Grid, IngestedDocument, TextLine

from .errors import IngestError
from .normalize import heading_depth, normalize_text

_ENCODINGS = ("utf-8", "gb18030")
_PAGE_MARK = re.compile(r"^\s*[-—–]?\s*\d{1,3}\s*[-—–]?\s*$")


# UTF-32 before UTF-16: the UTF-32-LE mark begins with the UTF-16-LE one
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))


def decode(source: str, data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16/UTF-32 marked by their BOM, or GBK/GB18030; anything else is an error
    naming the file."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise IngestError(source, "decode", f"invalid {encoding.upper()} text (byte {exc.start})") from None
            if _looks_like_text(text):
                return text
            raise IngestError(source, "decode", f"{encoding.upper()} text full of control characters: not a text document")
    if b"\x00" in data[:4096]:
        raise IngestError(source, "decode", "binary content (NUL bytes): not a text document")
    for encoding in _ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return text
    raise IngestError(source, "decode", "unknown text encoding (not UTF-8, GBK or GB18030)")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")  # control characters other than \t \n \f \r


def _looks_like_text(text: str) -> bool:
    sample = text[:20000]
    if not sample:
        return False
    return len(_CONTROL.findall(sample)) / len(sample) < 0.01


def ingest_text(source: str, data: bytes, sha256: str) -> IngestedDocument:
    text = decode(source, data)
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    layout = _detect_layout(raw_lines)
    builder = _cell_per_line_blocks if layout == "cell-per-line" else _tsv_blocks
    blocks = builder(raw_lines)
    if not any(block.lines or block.grid for block in blocks):
        raise IngestError(source, "decode", "no text content")
    return IngestedDocument(source=source, sha256=sha256, layout=layout, pages=1, blocks=blocks)


def _detect_layout(raw_lines: list[str]) -> str:
    tab_lines = [line for line in raw_lines if "\t" in line]
    if not tab_lines:
        return "plain"
    single = sum(1 for line in tab_lines if line.startswith("\t") and line.count("\t") == 1)
    if single / len(tab_lines) > 0.6:
        return "cell-per-line"
    kv = sum(1 for line in tab_lines if not line.startswith("\t") and line.rstrip("\t").count("\t") <= 4)
    return "key-value" if kv / len(tab_lines) > 0.4 and len(tab_lines) < 400 else "tsv-markdown"


def _text_line(raw: str, number: int) -> TextLine:
    return TextLine(text=normalize_text(raw), raw=raw, line=number, heading=heading_depth(raw))


def _cell(raw: str, number: int, row: int, col: int) -> Cell:
    # positional (text, raw, line, page, row, col): a document has thousands of cells, and keywords cost a third more
    return Cell(normalize_text(raw), raw, number, None, row, col)


class _BlockCollector:
    """Groups text lines into headings/paragraphs and attaches title and unit lines to the next grid."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._pending: list[TextLine] = []

    def text(self, line: TextLine) -> None:
        if not line.text or _PAGE_MARK.match(line.text):
            return
        self._pending.append(line)

    def flush_text(self) -> None:
        for line in self._pending:
            kind = "heading" if line.heading or _is_title_like(line.text) else "paragraph"
            self.blocks.append(Block(kind=kind, lines=[line]))
        self._pending = []

    def grid(self, rows: list[list[Cell]], layout: str) -> None:
        title, context = _split_title(self._pending)
        self._pending = [line for line in self._pending if line is not title and line not in context]
        self.flush_text()
        grid = Grid(
            rows=rows,
            title=title.text if title else "",
            title_line=title,
            context=context,
            source_layout=layout,
        )
        self.blocks.append(Block(kind="table", lines=([title] if title else []) + context, grid=grid))

    def note_after_table(self, line: TextLine) -> bool:
        last = self.blocks[-1] if self.blocks else None
        if last is not None and last.kind == "table" and not self._pending and _is_table_note(line.text):
            last.grid.note.append(line)
            return True
        return False


_TITLE_HINT = re.compile(r"(表|目录|说明|情况|解释|概况)$")
_UNIT_LINE = re.compile(
    r"(单位|金额单位)\s*[:：]|预算年度|截止时间|^\d{4}年度?$|^\d{3,}(?![\d年])[\u4e00-\u9fff]|^(编制部门|编制单位|部门|填报单位)\s*[:：]"
)
_NOTE_LINE = re.compile(r"^(注|说明)[:：]|本表无数据|空表列示|无.{0,20}(预算|支出).{0,10}(表|数据)")


def _is_title_like(text: str) -> bool:
    return len(text) <= 40 and bool(_TITLE_HINT.search(text)) and "。" not in text


def _is_table_note(text: str) -> bool:
    return bool(_NOTE_LINE.search(text))


def _split_title(pending: list[TextLine]) -> tuple[TextLine | None, list[TextLine]]:
    """The table's title is the last title-like line before it; unit/meta lines after the title are context."""
    context: list[TextLine] = []
    for line in reversed(pending):
        if _UNIT_LINE.search(line.text) and len(line.text) < 80:
            context.insert(0, line)
            continue
        if len(line.text) <= 60 and "。" not in line.text:
            return line, context
        break
    return None, context


def _tsv_blocks(raw_lines: list[str]) -> list[Block]:
    collector = _BlockCollector()
    rows: list[list[Cell]] = []
    for index, raw in enumerate(raw_lines):
        number = index + 1
        if "\t" in raw:
            row = len(rows)
            rows.append([_cell(part, number, row, col) for col, part in enumerate(raw.split("\t"))])
            continue
        if not raw.strip():
            if rows and _next_nonblank_has_tab(raw_lines, index):
                continue
            if rows:
                collector.grid(rows, "tsv")
                rows = []
            continue
        if rows:
            collector.grid(rows, "tsv")
            rows = []
        line = _text_line(raw, number)
        if not collector.note_after_table(line):
            collector.text(line)
    if rows:
        collector.grid(rows, "tsv")
    collector.flush_text()
    return collector.blocks


def _next_nonblank_has_tab(raw_lines: list[str], index: int) -> bool:
    for position in range(index + 1, len(raw_lines)):  # not a slice: a copy of the rest per blank line is quadratic
        if raw_lines[position].strip():
            return "\t" in raw_lines[position]
    return False


def _cell_per_line_blocks(raw_lines: list[str]) -> list[Block]:
    """Each cell on its own tab-indented line; a blank line ends a row; an unindented line right after a
    cell (no blank between) continues that cell's text (a wrapped cell)."""
    collector = _BlockCollector()
    rows: list[list[Cell]] = []
    current: list[Cell] = []
    previous_was_cell = False
    for index, raw in enumerate(raw_lines):
        number = index + 1
        if raw.startswith("\t"):
            current.append(_cell(raw[1:], number, len(rows), len(current)))
            previous_was_cell = True
            continue
        if not raw.strip():
            if current:
                rows.append(current)
                current = []
            previous_was_cell = False
            continue
        if previous_was_cell and current:
            last = current[-1]
            last.raw += raw
            last.text = normalize_text(last.raw)
            continue
        if current:
            rows.append(current)
            current = []
        if rows:
            collector.grid(rows, "cell-per-line")
            rows = []
        line = _text_line(raw, number)
        if not collector.note_after_table(line):
            collector.text(line)
        previous_was_cell = False
    if current:
        rows.append(current)
    if rows:
        collector.grid(rows, "cell-per-line")
    collector.flush_text()
    return collector.blocks
