"""PDF ingestion (PDFium; pdfplumber as reference and fallback): positioned lines, ruled and unruled table grids, OCR.

Produces the same :class:`~yusuan.model.IngestedDocument` the text layouts produce: heading/paragraph blocks of
:class:`TextLine` (page, bbox, normalised text, raw text) and table blocks whose :class:`Grid` carries cell geometry.
:mod:`.pdf_lines` turns characters into lines, :mod:`.pdf_tables` builds grids; this module reads pages, drops
running headers/footers, attaches titles/units/notes to tables, groups paragraphs and runs OCR.

PDF traps handled (each one seen in the real disclosures under shared/realdocs) are listed in docs/ingest.md.
"""

from __future__ import annotations

import io
import itertools
import logging
import os
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from yusuan.model import Block, Grid, IngestedDocument, TextLine

from .errors import IngestError
from .patterns import NOTE_LINE as _NOTE_LINE
from .patterns import TITLE_WORD as _TITLE_WORD
from .pdf_cells import clip_to_page, find_table_cells
from .pdf_lines import (
    Char,
    _group_lines,
    _Line,
    _merge_lines,
    _mid,
    _number_lines,
    _parts,
    _Segment,
    build_lines,
)
from .pdf_pdfium import PdfiumFallback, PdfiumPage
from .pdf_tables import (
    _ENUMERATED,
    _TABLE_NUMBER,
    _adopt_orphan_rows,
    _is_unit_line,
    _Page,
    _ruled_table,
    _spilled_rows,
    _Table,
    _unruled_tables,
)

log = logging.getLogger(__name__)


_PAGE_NUMBER = re.compile(
    r"^[-—–－_~·•\s]*(第\s*)?[\dⅠ-Ⅻ]{1,4}(\s*页)?(\s*[/／]\s*\d{1,4}|\s*共\s*\d{1,4}\s*页)?[-—–－_~·•\s]*$"
    r"|^(page|Page|PAGE)\s*\d{1,4}(\s*of\s*\d{1,4})?$"
)


_CONTINUED = re.compile(r"^[（(]?\s*续\s*(表|上表)?\s*[)）]?\s*\d*$|^续表")


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


RULE_WIDTH = 2.5  # a filled rectangle at most this thick is a drawn rule


SCAN_IMAGE_SHARE = 0.1  # a text-less page with images over this share of its area is a scan


SCAN_INK = 0.03  # …or with this share of dark pixels (outlined text, drawings); below it, a blank page


MARGIN_BAND = 0.09  # share of the page height at top and bottom where headers/footers live


def _image_share(page: Any, area: float) -> float:
    covered = 0.0
    for image in page.images:
        width = max(0.0, min(image["x1"], page.bbox[2]) - max(image["x0"], page.bbox[0]))
        height = max(0.0, min(image["bottom"], page.bbox[3]) - max(image["top"], page.bbox[1]))
        covered += width * height
    return min(1.0, covered / area) if area > 0 else 0.0


def _ink(pdfium_doc: Any, page: _Page) -> float:
    """Share of dark pixels on a small rendering: tells a blank separator page from a page of graphics."""
    if pdfium_doc is None:
        return 1.0
    try:
        import numpy as np

        image = pdfium_doc[page.number - 1].render(scale=0.25, grayscale=True).to_pil().convert("L")
        return float((np.asarray(image) < 200).mean())
    except Exception:  # cannot render: assume there is something to read
        log.debug("rendering page %s failed", page.number, exc_info=True)
        return 1.0


def _is_rule_object(obj: dict[str, Any]) -> bool:
    """Filled, unstroked rectangles thicker than a rule are cell shading or page backgrounds, not borders:
    Word/PostScript exports paint one per text line, which would cut every wrapped cell into rows."""
    if obj.get("object_type") != "rect" or obj.get("stroke"):
        return True
    return not obj.get("fill") or min(obj.get("width", 0), obj.get("height", 0)) <= RULE_WIDTH


def _page_chars(page: Any) -> list[Char]:
    x0, top, x1, bottom = page.bbox
    chars = _dedupe_chars(page.chars)
    return [c for c in chars if c.get("text") and x0 - 1 <= (c["x0"] + c["x1"]) / 2 <= x1 + 1 and top - 1 <= _mid(c) <= bottom + 1]


def _dedupe_chars(chars: list[Char], tolerance: float = 1.0) -> list[Char]:
    """Drop a glyph drawn again within `tolerance` of an earlier one with the same text, font and size (fake bold
    prints every glyph twice). The semantics of pdfplumber's `dedupe_chars()`, hashed instead of sorted and clustered:
    on a grid of squares twice `tolerance` wide, a glyph's twin lies in its square or in the neighbouring one on the
    near side, along each axis (four squares to look in)."""
    side = 2 * tolerance
    kept: list[Char] = []
    squares: dict[tuple[int, int], tuple[Char, ...]] = {}
    for char in chars:
        x0, top = char["x0"], char["top"]
        gx, gy = int(x0 // side), int(top // side)
        nx = gx - 1 if x0 - gx * side < tolerance else gx + 1
        ny = gy - 1 if top - gy * side < tolerance else gy + 1
        own = squares.get((gx, gy), ())
        near = own + squares.get((nx, gy), ()) + squares.get((gx, ny), ()) + squares.get((nx, ny), ())
        if near and any(_twins(char, other, tolerance) for other in near):
            continue
        kept.append(char)
        squares[gx, gy] = (*own, char)
    return kept


def _twins(char: Char, other: Char, tolerance: float) -> bool:
    return (
        abs(other["x0"] - char["x0"]) <= tolerance
        and abs(other["top"] - char["top"]) <= tolerance
        and other.get("text") == char.get("text")
        and other.get("fontname") == char.get("fontname")
        and other.get("size") == char.get("size")
    )


def _pdfium_chars(document: Any, index: int, height: float) -> list[Char]:
    """Characters as PDFium decodes them (it maps some fonts pdfminer leaves as (cid:NN))."""
    page = document[index]
    if page.get_rotation():
        return []
    textpage = page.get_textpage()
    chars: list[Char] = []
    for i in range(textpage.count_chars()):
        text = textpage.get_text_range(i, 1)
        if not text or not text.strip():
            continue
        left, bottom, right, top = textpage.get_charbox(i, loose=True)
        chars.append({"text": text, "x0": left, "x1": right, "top": height - top, "bottom": height - bottom, "size": top - bottom})
    return chars


class _PlumberPage:
    """A page read by pdfminer through pdfplumber (the fallback, and the whole document when forced)."""

    spells_cid = True  # pdfminer writes a glyph it cannot map to Unicode as "(cid:NN)"

    def __init__(self, page: Any) -> None:
        self.width, self.height = float(page.width), float(page.height)
        try:
            # content outside the page box is never shown (WPS exports park whole sheets below the page)
            page = page.crop(page.bbox)
        except Exception:  # a degenerate page box: keep the page as it is
            log.debug("crop to page box failed", exc_info=True)
        self.page = page

    def chars(self) -> list[Char]:
        return _page_chars(self.page)

    def cell_groups(self) -> list[list[tuple[float, ...]]]:
        return [list(table.cells) for table in self.page.filter(_is_rule_object).find_tables()]

    def image_share(self) -> float:
        return _image_share(self.page, self.width * self.height)


class _PdfiumSource:
    """A page read by PDFium in pdfplumber's geometry (see :mod:`.pdf_pdfium`)."""

    spells_cid = False  # a glyph PDFium cannot map to Unicode sends the page to pdfminer

    def __init__(self, document: Any, index: int) -> None:
        self.reader = PdfiumPage(document, index)
        self.width, self.height = self.reader.width, self.reader.height

    def chars(self) -> list[Char]:
        return _dedupe_chars(self.reader.chars())  # already clipped to the page box: every middle lies inside it

    def cell_groups(self) -> list[list[tuple[float, ...]]]:
        objects = clip_to_page(self.reader.rule_objects(), self.reader.frame.bbox)
        return find_table_cells([obj for obj in objects if _is_rule_object(obj)])

    def image_share(self) -> float:
        raise PdfiumFallback("no text layer")  # scans and blank pages: pdfplumber measures their images


def _read_page(source: _PlumberPage | _PdfiumSource, number: int, warnings: list[str], pdfium_doc: Any) -> _Page:
    result = _Page(number=number, width=source.width, height=source.height)
    chars = source.chars()
    cid = sum(1 for c in chars if c["text"].startswith("(cid:")) if source.spells_cid else 0
    if cid:
        share = cid / len(chars)
        if share > 0.3 and pdfium_doc is not None:
            alternative = _pdfium_chars(pdfium_doc, number - 1, result.height)
            alt_cid = sum(1 for c in alternative if c["text"].startswith("(cid:") or c["text"] == "\ufffd")
            if alternative and _CJK.search("".join(c["text"] for c in alternative)) and alt_cid < len(alternative) * 0.05:
                warnings.append(f"page {number}: {cid} (cid:) glyphs in pdfminer's text, page re-read with PDFium")
                chars = alternative
                cid = 0
        if cid:
            readable = "text unreadable" if share > 0.3 else "glyphs dropped from the text"
            warnings.append(f"page {number}: {cid} (cid:) glyphs, {readable}")
            if share > 0.3:
                result.text_layer = False
                result.unreadable = True
    if not any(c["text"].strip() for c in chars):
        result.text_layer = False
        result.image_share = source.image_share()
        return result
    if not result.text_layer:
        return result

    used: set[int] = set()
    try:
        found = source.cell_groups()
    except PdfiumFallback:
        raise
    except Exception as exc:  # table finding failing on odd vector graphics must not lose the page's text
        warnings.append(f"page {number}: table detection failed ({type(exc).__name__})")
        found = []
    for cells in found:
        built = _ruled_table(cells, [c for c in chars if id(c) not in used] if used else chars, number)
        if built is None:
            continue
        table, table_chars = built
        result.tables.append(table)
        used |= table_chars
    result.lines = _number_lines(build_lines([c for c in chars if id(c) not in used] if used else chars), number)
    return result


def _margin_key(line: _Line) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line.text))


def _drop_headers_footers(pages: list[_Page]) -> None:
    """Running headers/footers: margin lines repeated on many pages (digits ignored, so "第 3 页" repeats),
    and lone page numbers. Table titles are never taken for running headers."""
    counts: Counter[str] = Counter()
    for page in pages:
        keys = {
            _margin_key(line)
            for line in page.lines
            if _in_margin(line, page) and not _TITLE_WORD.search(line.text) and not _is_unit_line(line.text)
        }
        counts.update(keys)
    threshold = len(pages) if len(pages) <= 3 else max(3, int(0.4 * len(pages)))
    threshold = max(threshold, 2)
    repeated = {key for key, count in counts.items() if count >= threshold and key}
    for page in pages:
        page.lines = [
            line
            for line in page.lines
            if not (_in_margin(line, page) and (_margin_key(line) in repeated or _PAGE_NUMBER.match(line.text) or not line.text))
            and not (_PAGE_NUMBER.match(line.text) and _is_last_or_first(line, page))
        ]


def _in_margin(line: _Line, page: _Page) -> bool:
    return line.bottom <= page.height * MARGIN_BAND or line.top >= page.height * (1 - MARGIN_BAND)


def _is_last_or_first(line: _Line, page: _Page) -> bool:
    """A lone page number at the very bottom (or top) of the page, below (above) everything else."""
    others = [other for other in page.lines if other is not line]
    lowest = max([o.bottom for o in others] + [t.bottom for t in page.tables], default=0.0)
    highest = min([o.top for o in others] + [t.top for t in page.tables], default=page.height)
    return line.top >= lowest - 1 or line.bottom <= highest + 1


def _attach_titles(page: _Page) -> None:
    """Each table takes the nearest title-like line above it (and the unit/meta lines in between)."""
    taken: set[int] = set()
    previous_bottom = 0.0
    for table in sorted(page.tables, key=lambda t: t.top):
        above = [line for line in page.lines if line.bottom <= table.top + 2 and line.top >= previous_bottom - 1 and id(line) not in taken]
        above.sort(key=lambda line: line.top)
        above = _join_unit_continuations(above, taken)
        context: list[_Line] = []
        title: _Line | None = None
        for position in range(len(above) - 1, -1, -1):
            line = above[position]
            text = line.text
            if not text:
                continue
            if _is_unit_line(text) or _TABLE_NUMBER.match(text):
                context.insert(0, line)
                continue
            if _CONTINUED.match(text):
                context.insert(0, line)
                break
            if _is_title_text(text):
                if _ENUMERATED.match(text) and not _TITLE_WORD.search(text):
                    break
                title = line
                upper = above[position - 1] if position > 0 else None
                if upper is not None and _continues_title(upper, line):
                    taken.add(id(upper))
                    title = _merge_lines(upper, line)
            break
        table.title_line = title
        table.context = context
        inner = list(table.inner_title)
        if title is None and inner and not _is_unit_line(inner[0]):
            table.title = inner.pop(0)
        else:
            table.title = title.text if title else ""
        table.inner_title = inner
        for line in ([title] if title else []) + context:
            taken.add(id(line))
        previous_bottom = table.bottom
    page.lines = [line for line in page.lines if id(line) not in taken]


def _attach_notes(page: _Page) -> None:
    """Lines right under a table that comment on it ("注：…", "（无政府性基金支出）", "本表无数据") → grid.note."""
    taken: set[int] = set()
    tables = sorted(page.tables, key=lambda t: t.top)
    for index, table in enumerate(tables):
        limit = tables[index + 1].top if index + 1 < len(tables) else page.height
        below = sorted(
            (ln for ln in page.lines if ln.top >= table.bottom - 1 and ln.bottom <= limit + 1 and id(ln) not in taken),
            key=lambda ln: ln.top,
        )
        edge = table.bottom
        for line in below:
            if line.top - edge > 2.5 * line.height:
                break
            if _NOTE_LINE.search(line.text) and len(line.text) <= 200:
                table.note.append(line)
            elif table.note and line.top - edge <= 0.8 * line.height and not _TITLE_WORD.search(line.text):
                table.note.append(line)  # the note wraps
            else:
                break
            taken.add(id(line))
            edge = line.bottom
    page.lines = [line for line in page.lines if id(line) not in taken]


def _title_from_previous_page(previous: _Page, page: _Page) -> None:
    """A title (and unit lines) printed at the foot of one page for a table that starts on the next."""
    if not page.tables:
        return
    table = min(page.tables, key=lambda t: t.top)
    if table.title or any(line.bottom <= table.top for line in page.lines):
        return
    last_table = max((t.bottom for t in previous.tables), default=0.0)
    trailing = sorted((line for line in previous.lines if line.top >= last_table), key=lambda line: line.top)[-5:]
    index = next(
        (i for i in range(len(trailing) - 1, -1, -1) if _TITLE_WORD.search(trailing[i].text)),
        None,
    )
    if index is None or not _is_title_text(trailing[index].text):
        return
    after = trailing[index + 1 :]
    if any("。" in line.text or len(line.text) > 40 for line in after):
        return
    title = trailing[index]
    taken = {id(line) for line in trailing[index:]}
    if index > 0 and _continues_title(trailing[index - 1], title):
        taken.add(id(trailing[index - 1]))
        title = _merge_lines(trailing[index - 1], title)
    table.title_line = title
    table.title = title.text
    table.context = after + table.context
    previous.lines = [line for line in previous.lines if id(line) not in taken]


def _is_title_text(text: str) -> bool:
    return len(text) <= 60 and "。" not in text and not text.endswith(("，", ",", "；", ";", "：", ":"))


def _continues_title(upper: _Line, lower: _Line) -> bool:
    """A title wrapped onto a second line ("…培训费支出预" / "算表")."""
    text = upper.text
    return (
        bool(text)
        and _is_title_text(text)
        and not _TITLE_WORD.search(text)
        and not _is_unit_line(text)
        and not _TABLE_NUMBER.match(text)
        and 0 <= lower.top - upper.bottom <= 0.8 * max(lower.height, upper.height)
        and abs(lower.size - upper.size) <= 1.0
        and len(_TITLE_WORD.sub("", lower.text)) <= len(text)
        and len(text + lower.text) <= 80
    )


def _join_unit_continuations(above: list[_Line], taken: set[int]) -> list[_Line]:
    """'部门名称：江苏省人大' wrapped onto '常委会办公厅' right under it: one meta line."""
    result: list[_Line] = []
    for line in above:
        host = next(
            (
                unit
                for unit in reversed(result)
                if _is_unit_line(unit.text) and 0 <= line.top - unit.bottom <= 0.8 * line.height and abs(line.x0 - unit.x0) <= 2 * line.size
            ),
            None,
        )
        if (
            host is not None
            and len(line.text) <= 15
            and not _is_unit_line(line.text)
            and not _TITLE_WORD.search(line.text)
            and "。" not in line.text
        ):
            last = host.segments[-1]
            host.segments[-1] = _Segment(last.text + line.raw, last.x0, max(last.x1, line.x1))
            host.raw = host.raw + line.raw
            host.x1 = max(host.x1, line.x1)
            host.bottom = max(host.bottom, line.bottom)
            taken.add(id(line))
            continue
        result.append(line)
    return result


def _heading_depth(line: _Line, body_size: float, right: float | None = None) -> int:
    """1 for part titles and large type, 2 for 一、 and short bold lines, 3 for （一）; 0 for body text.
    A numbered line that runs to the right margin is the first line of a paragraph, not a heading."""
    text = line.text
    if not text or len(text) > 40 or "。" in text or text.endswith(("，", "；", "：")):
        return 0
    if re.match(r"^\s*第[一二三四五六七八九十]+(部分|章|篇)", text):
        return 1
    if line.size >= body_size * 1.2:
        return 1
    if right is not None and line.x1 >= right - 1.5 * line.size:
        return 0
    if re.match(r"^\s*[一二三四五六七八九十]+\s*[、.．]", text):
        return 2
    if re.match(r"^\s*[（(][一二三四五六七八九十]+[)）]", text) and len(text) <= 30:
        return 3
    if line.bold and len(text) <= 30:
        return 2
    return 0


def _text_line(line: _Line, heading: int = 0) -> TextLine:
    return TextLine(text=line.text, raw=line.raw, line=line.number, page=line.page, bbox=line.bbox, heading=heading)


@dataclass
class _PageBlocks:
    blocks: list[Block]
    opens_with_continuation: bool = False  # first block is a paragraph line at the left margin (not indented)
    ends_open: bool = False  # last block is a paragraph whose last line runs to the margin without a full stop


def _page_blocks(page: _Page, body_size: float) -> _PageBlocks:
    items: list[tuple[float, int, Any]] = [(line.top, 0, line) for line in page.lines]
    items += [(table.top, 1, table) for table in page.tables]
    items.sort(key=lambda item: (item[0], item[1]))
    body = [line for line in page.lines if _heading_depth(line, body_size) == 0 and len(line.text) > 15]
    left = min((line.x0 for line in body), default=min((line.x0 for line in page.lines), default=0.0))
    right = max((line.x1 for line in body), default=page.width)

    blocks: list[Block] = []
    paragraph: list[TextLine] = []
    previous: _Line | None = None
    first_line: _Line | None = None

    def flush() -> None:
        nonlocal paragraph
        if paragraph:
            blocks.append(Block(kind="paragraph", lines=paragraph))
            paragraph = []

    for _top, _kind, item in items:
        if isinstance(item, _Table):
            flush()
            previous = None
            blocks.append(_table_block(item, page))
            continue
        line: _Line = item
        if not line.text:
            continue
        depth = _heading_depth(line, body_size, right)
        text_line = _text_line(line, depth)
        parts = _parts(line) if _is_unit_line(line.text) else [line]
        if len(parts) > 1:
            flush()
            for part in parts:
                blocks.append(Block(kind="paragraph", lines=[_text_line(part)]))
            previous = None
            continue
        if depth:
            flush()
            blocks.append(Block(kind="heading", lines=[text_line]))
            previous = None
            continue
        if previous is not None and not _starts_paragraph(line, previous, left, right):
            paragraph.append(text_line)
        else:
            flush()
            paragraph = [text_line]
        if not blocks and first_line is None:
            first_line = line
        previous = line
    ends_open = (
        previous is not None
        and bool(paragraph)
        and previous.x1 >= right - 2.5 * previous.size
        and not previous.text.endswith(("。", "；", ";", "：", ":", "！", "？", "!", "?"))
    )
    flush()
    opens = first_line is not None and first_line.x0 <= left + 0.8 * first_line.size
    return _PageBlocks(blocks, opens_with_continuation=opens, ends_open=ends_open)


def _starts_paragraph(line: _Line, previous: _Line, left: float, right: float) -> bool:
    size = line.size
    if abs(line.size - previous.size) > 1.0:
        return True
    if line.top - previous.bottom > 1.2 * max(line.height, previous.height):
        return True
    if line.x0 > left + 1.5 * size:  # indented first line
        return True
    if previous.x1 < right - 2.5 * size:  # previous line ended short
        return True
    return bool(previous.text.endswith(("。", "：", ":")) and line.x0 > left + 0.8 * size)


def _table_block(table: _Table, page: _Page) -> Block:
    title_line = _text_line(table.title_line) if table.title_line else None
    context = [_text_line(part) for line in table.context for part in _parts(line)]
    for text in table.inner_title:
        context.append(TextLine(text=text, raw=text, page=page.number, bbox=None))
    if title_line is None and table.title:
        title_line = TextLine(text=table.title, raw=table.title, page=page.number)
    grid = Grid(
        rows=table.rows,
        title=table.title,
        title_line=title_line,
        context=context,
        note=[_text_line(line) for line in table.note],
        source_layout="pdf" if table.kind == "ruled" else "pdf-unruled",
    )
    return Block(kind="table", lines=([title_line] if title_line else []) + context, grid=grid)


_OCR_ENGINE: Any = None


_OCR_TRIED = False


def ocr_engine() -> Any:
    """The rapidocr engine, or None when the package is absent (or YUSUAN_OCR=0)."""
    global _OCR_ENGINE, _OCR_TRIED
    if os.environ.get("YUSUAN_OCR", "1") == "0":
        return None
    if not _OCR_TRIED:
        _OCR_TRIED = True
        try:
            from rapidocr_onnxruntime import RapidOCR  # optional dependency

            _OCR_ENGINE = RapidOCR()
        except Exception as exc:  # missing package, missing native libs: fall back to flagging pages
            log.info("OCR unavailable: %s", exc)
            _OCR_ENGINE = None
    return _OCR_ENGINE


OCR_SCALE = 2.0


def _ocr_page(engine: Any, pdfium_doc: Any, page: _Page) -> list[_Line]:
    import numpy as np

    image = pdfium_doc[page.number - 1].render(scale=OCR_SCALE).to_pil().convert("RGB")
    result, _elapsed = engine(np.array(image))
    boxes = []
    for points, text, score in result or []:
        if not text or not text.strip() or float(score) < 0.5:
            continue
        xs = [p[0] / OCR_SCALE for p in points]
        ys = [p[1] / OCR_SCALE for p in points]
        boxes.append({"text": text.strip(), "x0": min(xs), "x1": max(xs), "top": min(ys), "bottom": max(ys)})
    lines = []
    for group in _group_lines(boxes):
        segments = [_Segment(b["text"], b["x0"], b["x1"]) for b in group]
        heights = [b["bottom"] - b["top"] for b in group]
        lines.append(
            _Line(
                raw="   ".join(s.text for s in segments),
                x0=min(b["x0"] for b in group),
                top=min(b["top"] for b in group),
                x1=max(b["x1"] for b in group),
                bottom=max(b["bottom"] for b in group),
                size=statistics.median(heights),
                segments=segments,
            )
        )
    return lines


def _open_error(source: str, data: bytes, exc: BaseException) -> IngestError:
    inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
    name = type(inner).__name__
    if "Password" in name or "Encryption" in name or "encrypt" in str(inner).lower():
        if "Password" in name:
            return IngestError(source, "open", "encrypted PDF (password required)")
        return IngestError(source, "open", f"encrypted PDF (unsupported encryption: {inner})")
    detail = str(inner) or name
    if b"%%EOF" not in data[-2048:]:
        return IngestError(source, "open", f"truncated or corrupt PDF: no %%EOF at the end ({name}: {detail})")
    return IngestError(source, "open", f"truncated or corrupt PDF: {name}: {detail}")


def sniff_pdf(source: str, data: bytes) -> None:
    if not data:
        raise IngestError(source, "read", "file is empty (0 bytes)")
    if b"%PDF-" not in data[:1024]:
        head = data[:16]
        raise IngestError(source, "read", f"not a PDF (starts with {head!r})")


BACKENDS = ("pdfium", "pdfminer")


def pdf_backend() -> str:
    """``YUSUAN_PDF_BACKEND=pdfminer`` reads every page with pdfplumber/pdfminer (the reference path);
    the default reads pages with PDFium and falls back to pdfminer page by page."""
    backend = os.environ.get("YUSUAN_PDF_BACKEND", "pdfium").strip().lower() or "pdfium"
    if backend not in BACKENDS:
        raise ValueError(f"YUSUAN_PDF_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
    return backend


def ingest_pdf(source: str, data: bytes, sha256: str, backend: str | None = None,
               ocr_page_limit: int | None = None) -> IngestedDocument:
    sniff_pdf(source, data)
    pdfminer_pages = _PdfminerPages(source, data)
    pdfium_doc = _open_pdfium(data)
    try:
        use_pdfium = (backend or pdf_backend()) == "pdfium" and pdfium_doc is not None and len(pdfium_doc) > 0
        if use_pdfium and _counts_differ(data, pdfium_doc, pdfminer_pages):
            log.info("every page read with pdfminer (PDFium counts %s pages, pdfminer %s)", len(pdfium_doc),
                     len(pdfminer_pages.pages()))
        elif use_pdfium:
            try:
                return _ingest_pages(source, sha256, pdfminer_pages, pdfium_doc, True, ocr_page_limit)
            except _PageCountMismatch as mismatch:
                log.info("every page read with pdfminer (%s)", mismatch)
        return _ingest_pages(source, sha256, pdfminer_pages, pdfium_doc, False, ocr_page_limit)
    finally:
        pdfminer_pages.close()
        if pdfium_doc is not None:
            pdfium_doc.close()


_PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![A-Za-z])")


def _counts_differ(data: bytes, pdfium_doc: Any, pdfminer_pages: _PdfminerPages) -> bool:
    """PDFium takes the page count from the page tree's /Count, pdfminer counts the pages. pdfminer is asked only when
    the file shows more page objects than PDFium counts (uncompressed ones: replaced and unused ones count too); a
    /Count too large is caught when the pages past the end fall back (see :meth:`_PdfminerPages.page`)."""
    page_count = len(pdfium_doc)
    return len(_PAGE_OBJECT.findall(data)) > page_count and len(pdfminer_pages.pages()) != page_count


class _PageCountMismatch(Exception):
    """PDFium and pdfminer count the pages differently: page N may not be the same page in both."""


class _PdfminerPages:
    """The document's pages as pdfplumber lists them, opened on first use: a document PDFium reads whole never pays
    for pdfminer's parse. Opening fails as it always has (damaged, encrypted, without pages)."""

    def __init__(self, source: str, data: bytes) -> None:
        self.source, self.data = source, data
        self._pdf: Any = None
        self._pages: list[Any] = []

    def pages(self) -> list[Any]:
        if self._pdf is None:
            import pdfplumber

            try:
                pdf = pdfplumber.open(io.BytesIO(self.data))
                pages = pdf.pages
            except Exception as exc:  # pdfminer raises many types for damaged files; all mean "cannot open"
                raise _open_error(self.source, self.data, exc) from exc
            if not pages:
                pdf.close()
                raise IngestError(self.source, "open", "truncated or corrupt PDF: no pages")
            self._pdf, self._pages = pdf, pages
        return self._pages

    def page(self, number: int, page_count: int) -> Any:
        """Page `number` (1-based) of a document PDFium counts `page_count` pages in."""
        pages = self.pages()
        if len(pages) != page_count:
            raise _PageCountMismatch(f"PDFium counts {page_count} pages, pdfminer {len(pages)}")
        return pages[number - 1]

    def release(self, number: int) -> None:
        """Frees what pdfplumber keeps of a page once read (nothing when pdfminer never opened the document)."""
        if number <= len(self._pages):
            self._pages[number - 1].close()

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()


def _read_either(pdfminer_pages: _PdfminerPages, number: int, page_count: int, warnings: list[str], pdfium_doc: Any,
                 use_pdfium: bool) -> _Page:
    """PDFium first; pdfminer for a page PDFium cannot render the way pdfminer would (logged with the reason)."""
    if use_pdfium:
        page_warnings: list[str] = []
        source = None
        try:
            source = _PdfiumSource(pdfium_doc, number - 1)
            result = _read_page(source, number, page_warnings, pdfium_doc)
            warnings.extend(page_warnings)
            return result
        except PdfiumFallback as reason:
            log.info("page %s: read with pdfminer (%s)", number, reason)
        except Exception as exc:  # anything PDFium trips on: the reference path reads the page
            log.info("page %s: read with pdfminer (PDFium failed: %s: %s)", number, type(exc).__name__, exc)
        finally:
            if source is not None:
                source.reader.close()
    page = pdfminer_pages.page(number, page_count)
    return _read_page(_PlumberPage(page), number, warnings, pdfium_doc)


def _ingest_pages(source: str, sha256: str, pdfminer_pages: _PdfminerPages, pdfium_doc: Any, use_pdfium: bool,
                  ocr_page_limit: int | None = None) -> IngestedDocument:
    """Every page read (PDFium first when `use_pdfium`, pdfminer for the others) and laid out as blocks. Raises
    :class:`_PageCountMismatch` when a page falls back to pdfminer and pdfminer counts the pages differently."""
    page_count = len(pdfium_doc) if use_pdfium else len(pdfminer_pages.pages())
    warnings: list[str] = []
    pages: list[_Page] = []
    failures = 0
    for number in range(1, page_count + 1):
        try:
            pages.append(_read_either(pdfminer_pages, number, page_count, warnings, pdfium_doc, use_pdfium))
        except (IngestError, _PageCountMismatch):  # the document, not the page: pdfminer cannot open it or disagrees
            raise
        except Exception as exc:  # one broken page must not sink the others
            failures += 1
            warnings.append(f"page {number}: unreadable ({type(exc).__name__}: {exc})")
            page = pdfminer_pages.pages()[number - 1]  # only pdfminer's reading of a page lets an error through
            pages.append(_Page(number=number, width=float(page.width or 0), height=float(page.height or 0)))
        finally:
            pdfminer_pages.release(number)
    if failures == len(pages):
        raise IngestError(source, "parse", f"truncated or corrupt PDF: no page could be read ({warnings[0]})")

    pages_needing_ocr: list[int] = []
    scanned = []
    for page in pages:
        if page.text_layer or page.lines or page.tables:
            continue
        if page.unreadable or page.image_share >= SCAN_IMAGE_SHARE or _ink(pdfium_doc, page) >= SCAN_INK:
            scanned.append(page)
        else:
            warnings.append(f"page {page.number}: blank page (no text layer, no images)")
    engine = ocr_engine() if scanned and pdfium_doc is not None else None
    ocr_deferred = []
    if engine is not None and ocr_page_limit is not None:
        scanned, ocr_deferred = scanned[:ocr_page_limit], [page.number for page in scanned[ocr_page_limit:]]
    for page in scanned:
        if engine is None:
            pages_needing_ocr.append(page.number)
            why = "text unreadable" if page.unreadable else "no text layer (scanned image?)"
            warnings.append(f"page {page.number}: {why}, OCR not available")
            continue
        try:
            page.lines = _number_lines(_ocr_page(engine, pdfium_doc, page), page.number)
            page.ocr = True
        except Exception as exc:  # OCR failure on one page: flag it, keep going
            pages_needing_ocr.append(page.number)
            warnings.append(f"page {page.number}: no text layer, OCR failed ({type(exc).__name__}: {exc})")
            continue
        if page.lines:
            warnings.append(f"page {page.number}: no text layer, text read by OCR ({len(page.lines)} lines)")
        else:
            warnings.append(f"page {page.number}: no text layer, OCR found no text")

    _drop_headers_footers(pages)
    for previous, page in itertools.pairwise(pages):
        _spilled_rows(previous, page)
    for page in pages:
        if not page.tables and page.lines:
            found = _unruled_tables(page.lines, page.number)
            for table, run in found:
                page.tables.append(table)
                consumed = {id(line) for line in run}
                page.lines = [line for line in page.lines if id(line) not in consumed]
        _adopt_orphan_rows(page)
        _attach_notes(page)
        _attach_titles(page)

    for previous, page in itertools.pairwise(pages):
        _title_from_previous_page(previous, page)

    sizes = [line.size for page in pages for line in page.lines for _ in range(max(1, len(line.text)))]
    body_size = statistics.median(sizes) if sizes else 10.0
    blocks: list[Block] = []
    previous_open = False
    for page in pages:
        built = _page_blocks(page, body_size)
        page_blocks = built.blocks
        if (
            previous_open
            and built.opens_with_continuation
            and blocks
            and page_blocks
            and blocks[-1].kind == page_blocks[0].kind == "paragraph"
        ):
            # a paragraph running over the page break stays one paragraph
            blocks[-1].lines.extend(page_blocks[0].lines)
            page_blocks = page_blocks[1:]
        blocks.extend(page_blocks)
        previous_open = built.ends_open and bool(page_blocks)
    warnings.sort(key=_warning_page)
    return IngestedDocument(
        source=source,
        sha256=sha256,
        layout="pdf",
        pages=len(pages),
        blocks=blocks,
        warnings=warnings,
        pages_needing_ocr=pages_needing_ocr,
        ocr_deferred=ocr_deferred,
    )


def _warning_page(warning: str) -> int:
    match = re.match(r"page (\d+):", warning)
    return int(match.group(1)) if match else 0


def _open_pdfium(data: bytes) -> Any:
    try:
        import pypdfium2

        return pypdfium2.PdfDocument(data)
    except Exception:  # PDFium is only a helper (re-reading cid pages, rendering for OCR)
        log.debug("PDFium could not open the document", exc_info=True)
        return None
