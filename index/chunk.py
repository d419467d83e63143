"""Narrative sections → passages for search.

A passage is a few sentences of prose (or the descriptive text cells of a table) with everything a search result
needs to point back at the document: heading path, canonical section name, page/line range, and the document's
metadata (department, region, year, doc_kind) copied from its ``documents`` row.

* Prose: the document's non-table lines grouped under their headings. Heading levels are inferred from the numbering
  style (``一、`` / ``(一)`` / ``1.`` / ``(1)`` / ``第一部分``), because markdown depth is unreliable in converted
  documents. A table of contents (``目录``) is skipped. Long sections are split on sentence boundaries (``。；;!?``)
  with a one-sentence overlap.
* Tables are not prose: their numbers are never indexed. A table contributes its title (one passage per distinct
  title) and its descriptive cells (绩效目标 / 立项必要性 / 项目实施内容 / 指标描述 … longer than ``MIN_CELL_CHARS``),
  grouped per project.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from yusuan.model import Block, Grid, IngestedDocument, TextLine

CHUNKER_VERSION = "chunk-3"
MAX_CHARS = 360  # soft cap on a passage's text; e5-small reads 512 tokens (~1 token per Chinese character)
MIN_CELL_CHARS = 15  # a table cell shorter than this is a label or a value, not a description
LONG_CELL_CHARS = 20  # any CJK cell at least this long is kept even under an unknown column header
OVERLAP_SENTENCES = 1

KIND_PROSE = "prose"
KIND_TABLE_TITLE = "table_title"
KIND_TABLE_TEXT = "table_text"


@dataclass
class Passage:
    doc_id: str
    sha256: str
    ord: int
    kind: str
    text: str
    section: str
    heading_path: list[str]
    source: str
    line: int | None = None
    line_end: int | None = None
    page: int | None = None
    page_end: int | None = None
    department: str | None = None
    region: str | None = None
    year: int | None = None
    doc_kind: str | None = None
    level: str | None = None

    @property
    def heading(self) -> str:
        return self.heading_path[-1] if self.heading_path else ""

    def embed_text(self) -> str:
        """What the embedder and BM25 see (see :func:`embed_text`)."""
        return embed_text(self.heading_path, self.text, doc_context(self.department, self.year, self.doc_kind))


def doc_context(department: str | None, year: int | None, doc_kind: str | None) -> str:
    """``江苏省人民检察院 2019年 部门预算``: who and when, which a passage's own words rarely say."""
    parts = [str(department or "").strip(), f"{year}年" if year else "", str(doc_kind or "").strip()]
    return " ".join(part for part in parts if part)


def embed_text(heading_path: list[str] | str, text: str, context: str = "") -> str:
    """The passage as indexed: document context (department/year/kind, else the document title), the nearest
    heading (a short passage's topic), then the text. Stored ``text`` stays the passage itself."""
    if isinstance(heading_path, str):
        heading_path = [part for part in heading_path.split(" > ") if part]
    heading = heading_path[-1] if heading_path else ""
    if not context and len(heading_path) > 1:
        context = heading_path[0]
    prefix = []
    if context and context != heading:
        prefix.append(context)
    if heading and heading not in text[: len(heading) + 4]:
        prefix.append(heading)
    return f"{' '.join(prefix)}：{text}" if prefix else text


# ---------------------------------------------------------------- sections


_SECTION_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("名词解释", re.compile(r"名词解释|术语解释|名词说明")),
    ("主要职能", re.compile(r"主要职[能责]|部门职[能责]|单位职[能责]|职能职责|基本职[能责]|工作职责|职责任务")),
    ("机构设置", re.compile(r"机构设置|人员构成|预算单位构成|单位构成|部门构成|人员配置")),
    ("三公经费", re.compile(r"三公")),
    ("机关运行经费", re.compile(r"机关运行")),
    ("政府采购", re.compile(r"政府采购")),
    ("国有资产", re.compile(r"国有资产|固定资产|资产占用|资产信息")),
    ("立项必要性", re.compile(r"立项必要性|立项依据")),
    ("实施可行性", re.compile(r"实施可行性")),
    ("项目实施内容", re.compile(r"实施内容|项目内容|项目概况|项目概述|项目简介|实施方案")),
    ("绩效目标", re.compile(r"绩效目标|年度目标|中长期目标|总体目标|职责目标|预算绩效|绩效管理|绩效情况|绩效信息")),
    ("绩效指标", re.compile(r"绩效指标|绩效备注|指标描述|三级指标|明细指标|指标值确定依据|绩效标准|重点工作")),
    ("其他说明", re.compile(r"其他重要事项|其他需要说明|其他事项|其他说明")),
    (
        "预算说明",
        re.compile(r"收支|收入|支出|预算安排|拨款|预算情况|决算情况|总体情况|增减|预算编制|预决算|部门预算|单位预算"),
    ),
    ("部门概况", re.compile(r"部门概况|单位概况|基本情况|概况")),
]

# A body line that starts with one of these labels names its own section ("主要职责：负责…").
_LINE_LABEL = re.compile(r"^(主要职[能责]|部门职[能责]|职责目标|绩效目标|绩效指标|绩效标准|立项必要性|项目实施内容)[:：]")

SECTIONS = (*(name for name, _ in _SECTION_RULES), "表格", "表格文字", "其他")


def canonical_section(texts: Iterable[str], default: str = "其他") -> str:
    """The first rule matching the deepest text wins (pass the heading path deepest-first)."""
    for text in texts:
        key = squash(text)
        for name, pattern in _SECTION_RULES:
            if pattern.search(key):
                return name
    return default


# ---------------------------------------------------------------- text helpers

_QUOTES = str.maketrans({"“": "", "”": "", "‘": "", "’": "", '"': "", "'": ""})
_SENTENCE = re.compile(r"[^。；;!?！？]*[。；;!?！？]+|[^。；;!?！？]+$")
_SOFT_BREAK = re.compile(r"[^,，、:：]*[,，、:：]+|[^,，、:：]+$")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_NUMERIC = re.compile(r"^[\s\d.,，%％≥≤<>=+\-—~～()（）/元万亿个人次年月日天件台套辆本篇场所期项]*$")
_TERMINAL = "。；;!?！？"


def squash(text: str) -> str:
    """NFKC, no whitespace, no quotes: for matching labels and headings."""
    text = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"\s+", "", text).translate(_QUOTES)


def split_sentences(text: str) -> list[str]:
    return [part for part in (m.group(0).strip() for m in _SENTENCE.finditer(text)) if part]


def cjk_ratio(text: str) -> float:
    text = re.sub(r"\s+", "", text)
    return len(_CJK.findall(text)) / len(text) if text else 0.0


# ---------------------------------------------------------------- headings

_HEADING_STYLES: list[tuple[str, re.Pattern[str]]] = [
    ("part", re.compile(r"^第[一二三四五六七八九十]+部分")),
    ("cn", re.compile(r"^[一二三四五六七八九十]+\s*[、.．]")),
    ("paren_cn", re.compile(r"^[(（][一二三四五六七八九十]+[)）]")),
    ("num", re.compile(r"^\d{1,2}\s*[、．]|^\d{1,2}\.(?!\d)")),
    ("paren_num", re.compile(r"^[(（]\d{1,2}[)）]")),
]
_BULLET = re.compile(r"^[-*•·]\s*")
_DEFINITION = re.compile(r"^.{1,24}?[:：]\s*\S{2,}")  # "一、财政拨款:指…" is a definition, not a heading
_TOC = re.compile(r"^目\s*录$")
_LEADER = re.compile(r"(?:\.{3,}|…{2,}|·{3,}|-{4,})\s*\d*\s*$")


def _toc_key(text: str) -> str:
    return squash(_LEADER.sub("", text))


def heading_style(text: str) -> str:
    for style, pattern in _HEADING_STYLES:
        if pattern.match(text):
            return style
    if re.search(r"[:：]$", text) and len(text) <= 12:
        return "label"
    return "plain"


def _clean_heading(text: str) -> str:
    return _BULLET.sub("", text).strip()


def is_heading(line: TextLine, block_kind: str) -> bool:
    text = _clean_heading(line.text)
    if not text:
        return False
    if block_kind == "heading" or line.heading:
        # ingest's own judgement; a long sentence wrongly marked stays body text
        return len(text) <= 60 and not any(ch in text[:-1] for ch in _TERMINAL)
    if len(text) > 32 or any(ch in text for ch in _TERMINAL) or "万元" in text or _DEFINITION.match(text):
        return False
    style = heading_style(text)
    if style in ("num", "paren_num"):
        return len(text) <= 16
    return style != "plain"


# ---------------------------------------------------------------- chunking


@dataclass
class _Unit:
    """A sentence (or a run of text without a terminator) with where it came from."""

    text: str
    line: int | None
    line_end: int | None
    page: int | None
    page_end: int | None
    newline_before: bool = False


@dataclass
class _Section:
    path: list[str]
    lines: list[TextLine] = field(default_factory=list)


def _span(values: Iterable[int | None]) -> tuple[int | None, int | None]:
    present = [value for value in values if value is not None]
    return (min(present), max(present)) if present else (None, None)


def _units_from_lines(lines: list[TextLine]) -> list[_Unit]:
    units: list[_Unit] = []
    carry: _Unit | None = None
    for line in lines:
        text = line.text.strip()
        if not text:
            continue
        starts_item = heading_style(text) not in ("plain", "label") or bool(_LINE_LABEL.match(text))
        sentences = split_sentences(text)
        for index, sentence in enumerate(sentences):
            if carry is not None and index == 0 and not starts_item:
                carry.text += sentence
                carry.line_end = line.line if line.line is not None else carry.line_end
                carry.page_end = line.page if line.page is not None else carry.page_end
                unit = carry
                carry = None
            else:
                if carry is not None:
                    units.append(carry)
                    carry = None
                unit = _Unit(sentence, line.line, line.line, line.page, line.page, newline_before=index == 0)
            if sentence[-1] in _TERMINAL:
                units.append(unit)
            else:
                carry = unit  # the sentence runs on into the next line
    if carry is not None:
        units.append(carry)
    return units


def _split_long(unit: _Unit, max_chars: int) -> list[_Unit]:
    if len(unit.text) <= max_chars:
        return [unit]
    pieces: list[str] = []
    current = ""
    for part in (m.group(0) for m in _SOFT_BREAK.finditer(unit.text)):
        while len(part) > max_chars:
            pieces.append(current + part[: max_chars - len(current)])
            part = part[max_chars - len(current) :]
            current = ""
        if current and len(current) + len(part) > max_chars:
            pieces.append(current)
            current = ""
        current += part
    if current:
        pieces.append(current)
    return [
        _Unit(piece, unit.line, unit.line_end, unit.page, unit.page_end, newline_before=i == 0 and unit.newline_before)
        for i, piece in enumerate(pieces)
    ]


def pack_units(units: list[_Unit], max_chars: int = MAX_CHARS, overlap: int = OVERLAP_SENTENCES) -> list[list[_Unit]]:
    """Greedy packing of sentences into passages of at most ``max_chars``; each new passage repeats the last
    ``overlap`` sentence(s) of the previous one when they are short enough to leave room."""
    flat = [piece for unit in units for piece in _split_long(unit, max_chars)]
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    size = 0
    fresh = 0  # units in `current` that are not overlap
    for unit in flat:
        if current and fresh and size + len(unit.text) > max_chars:
            groups.append(current)
            tail = current[-overlap:] if overlap else []
            if sum(len(u.text) for u in tail) > max_chars // 3:
                tail = []
            current = list(tail)
            size = sum(len(u.text) for u in current)
            fresh = 0
        current.append(unit)
        size += len(unit.text)
        fresh += 1
    if current and fresh:
        groups.append(current)
    return groups


def _join_units(units: list[_Unit]) -> str:
    out = ""
    for unit in units:
        if out and unit.newline_before:
            out += "\n"
        out += unit.text
    return out.strip()


class _Chunker:
    def __init__(self, doc: IngestedDocument, meta: Mapping[str, Any], max_chars: int, overlap: int) -> None:
        self.doc = doc
        self.meta = meta
        self.max_chars = max_chars
        self.overlap = overlap
        self.passages: list[Passage] = []
        self.root: str | None = None
        self.stack: list[tuple[str, str]] = []  # (style, heading text)
        self.section = _Section(path=[])
        self.toc_first: str | None = None
        self.in_toc = False
        self.toc_page: int | None = None
        self.seen_titles: set[str] = set()
        self.table_context = ""
        self.last_table_title = ""

    # ---- output

    def _emit(self, kind: str, text: str, section: str, path: list[str], units: list[_Unit]) -> None:
        text = text.strip()
        if not text:
            return
        line, line_end = _span([u.line for u in units] + [u.line_end for u in units])
        page, page_end = _span([u.page for u in units] + [u.page_end for u in units])
        meta = self.meta
        year = meta.get("year")
        self.passages.append(
            Passage(
                doc_id=str(meta.get("doc_id") or self.doc.doc_id),
                sha256=str(meta.get("sha256") or self.doc.sha256),
                ord=len(self.passages),
                kind=kind,
                text=text,
                section=section,
                heading_path=list(path),
                source=str(meta.get("source") or self.doc.source),
                line=line,
                line_end=line_end,
                page=page,
                page_end=page_end,
                department=meta.get("department"),
                region=meta.get("region"),
                year=int(year) if year is not None and str(year).strip() not in ("", "nan", "None") else None,
                doc_kind=meta.get("doc_kind"),
                level=meta.get("level"),
            )
        )

    # ---- prose

    def _path(self) -> list[str]:
        return [*([self.root] if self.root else []), *(text for _, text in self.stack)]

    def _flush(self) -> None:
        section = self.section
        self.section = _Section(path=self._path())
        units = _units_from_lines(section.lines)
        if not units:
            return
        has_root = bool(self.root) and bool(section.path) and section.path[0] == self.root
        below_root = list(reversed(section.path[1:] if has_root else section.path))
        name = canonical_section(below_root, default="")
        if not name:
            label = _LINE_LABEL.match(squash(units[0].text))
            name = canonical_section([label.group(1)]) if label else ""
        if not name:
            name = canonical_section(section.path[:1], default="其他")
        for group in pack_units(units, self.max_chars, self.overlap):
            self._emit(KIND_PROSE, _join_units(group), name, section.path, group)

    def _heading(self, text: str) -> None:
        self._flush()
        style = heading_style(text)
        prose_seen = any(p.kind == KIND_PROSE for p in self.passages)
        if self.root is None and not self.stack and style == "plain" and not prose_seen:
            self.root = text
        else:
            styles = [s for s, _ in self.stack]
            if style in styles:
                del self.stack[styles.index(style) :]
            self.stack.append((style, text))
        self.section = _Section(path=self._path())

    def line(self, line: TextLine, block_kind: str) -> None:
        text = _clean_heading(line.text)
        if not text:
            return
        if self.in_toc:
            key = _toc_key(text)
            leader = bool(_LEADER.search(text))
            if self.toc_first is None:
                self.toc_first = key
                return
            long_body = len(text) > 40 and any(ch in text for ch in _TERMINAL)
            next_page = line.page is not None and self.toc_page is not None and line.page > self.toc_page
            if not (key == self.toc_first or long_body or (next_page and not leader)):
                return
            self.in_toc = False
        if _TOC.match(squash(text)):
            self._flush()
            self.in_toc = True
            self.toc_first = None
            self.toc_page = line.page
            return
        if is_heading(line, block_kind):
            self._heading(text)
        else:
            self.section.lines.append(line)

    # ---- tables

    def table(self, block: Block) -> None:
        self._flush()
        grid = block.grid
        if grid is None:
            return
        title = (grid.title or "").strip()
        title_line = grid.title_line
        path = ([self.root] if self.root else []) + ([title] if title else [])
        if title and squash(title) not in self.seen_titles and len(squash(title)) >= 4:
            self.seen_titles.add(squash(title))
            unit = _Unit(
                title,
                title_line.line if title_line else grid.first_line,
                title_line.line if title_line else grid.first_line,
                title_line.page if title_line else grid.page,
                title_line.page if title_line else grid.page,
            )
            self._emit(KIND_TABLE_TITLE, title, canonical_section([title], default="表格"), path, [unit])
        carried = self.table_context if title and title == self.last_table_title else ""
        groups, self.table_context = table_text_groups(grid, carried)
        self.last_table_title = title
        for label, context, items in groups:
            header = f"{context}·{label}" if context else label
            units = [
                _Unit(text, line, line, page, page, newline_before=True) for text, line, page in items
            ]
            for group in (g for run in _runs(units) for g in pack_units(run, self.max_chars, overlap=0)):
                body = _join_units(group)
                self._emit(KIND_TABLE_TEXT, f"{header}：{body}", canonical_section([label], default="表格文字"),
                           [*path, header], group)

    def run(self) -> list[Passage]:
        for block in self.doc.blocks:
            if block.kind == "table":
                self.table(block)
                continue
            for line in block.lines:
                self.line(line, block.kind)
        self._flush()
        return self.passages


def _runs(units: list[_Unit], max_gap: int = 40) -> list[list[_Unit]]:
    """Split table items where they are far apart (lines or pages), so a passage stays local."""
    runs: list[list[_Unit]] = []
    for unit in units:
        if runs:
            last = runs[-1][-1]
            far_lines = unit.line is not None and last.line is not None and abs(unit.line - last.line) > max_gap
            far_pages = unit.page is not None and last.page is not None and abs(unit.page - last.page) > 1
            if not (far_lines or far_pages):
                runs[-1].append(unit)
                continue
        runs.append([unit])
    return runs


def chunk_document(
    doc: IngestedDocument,
    meta: Mapping[str, Any] | None = None,
    *,
    max_chars: int = MAX_CHARS,
    overlap: int = OVERLAP_SENTENCES,
) -> list[Passage]:
    """Passages of one ingested document; ``meta`` is its ``documents`` row (department, region, year, …)."""
    return _Chunker(doc, dict(meta or {}), max_chars, overlap).run()


# ---------------------------------------------------------------- table text

_DESC_LABEL = re.compile(
    r"^(?:项目)?(?:立项必要性|立项依据|实施可行性|项目实施内容|实施内容|项目概况|项目简介|项目内容|"
    r"中长期目标|年度目标|实施期(?:总体)?绩效目标|本年度绩效目标|年度绩效目标|总体绩效目标|整体绩效目标|绩效目标|"
    r"单位主要职能|主要职能|部门职能|机构设置及人员配置|机构设置)$"
)
_PROJECT_LABEL = re.compile(r"^(?:项目名称|项目支出名称|一级项目名称|二级项目名称|项目)$")
_DESC_HEADER = re.compile(
    r"绩效目标|立项必要性|立项依据|实施内容|项目概况|项目简介|指标描述|指标值确定依据|中长期目标|年度目标|主要职能|重点工作"
)
_NAME_HEADER = re.compile(r"单位名称|单位$|部门名称|科目名称|科目|编码|代码|项目名称|项目类型|采购")
_INDICATOR_NAME = re.compile(r"三级指标|明细指标|指标名称|二级指标|绩效指标$")
_HEADER_WORDS = re.compile(
    r"^(?:一级指标|二级指标|三级指标|明细指标|指标值|指标描述|绩效指标描述|指标值确定依据|单位名称|单位编码|项目名称|"
    r"资金安排|总计|合计|重点工作|半年指标值|全年指标值|绩效目标|总体绩效目标|年度绩效目标|指标符号|指标单位|权重|备注|"
    r".*指标名称|.*指标值|.*指标符号|.*指标权重|.*指标单位|.*备注)$"
)
_TITLE_PROJECT = re.compile(r"^(?:\d+\s*[、.．]\s*)?(?P<name>.+?)(?:项目)?(?:支出)?绩效目标(?:申报)?表$")


def _is_header_row(texts: list[str]) -> bool:
    hits = sum(1 for text in texts if text and _HEADER_WORDS.match(squash(text)))
    return hits >= 2


def _is_descriptive(text: str, min_chars: int) -> bool:
    key = squash(text)
    return len(key) >= min_chars and not _NUMERIC.match(key) and cjk_ratio(key) >= 0.5


def _canonical_label(label: str) -> str:
    key = squash(label)
    for name, pattern in _SECTION_RULES:
        if pattern.search(key):
            return name
    return key or "表格文字"


_HTML = re.compile(r"</?(?:p|br|div|span)\s*/?>", re.IGNORECASE)
_VALUE_HEADER = re.compile(r"指标值(?!确定)|指标符号|权重|分值")


def table_text_groups(
    grid: Grid, context: str = ""
) -> tuple[list[tuple[str, str, list[tuple[str, int | None, int | None]]]], str]:
    """Descriptive cells of a table as (label, project/context, [(text, line, page)]) groups, deduplicated; also
    the project context in force at the end of the table (a table split over pages continues it)."""
    headers: dict[int, str] = {}
    locked = False  # context came from a 项目名称 label: amounts rows must not override it
    title_match = _TITLE_PROJECT.match(squash(grid.title or ""))
    if title_match and not re.search(r"部门|单位|整体|市级|省级|区级|县级|项目$", title_match.group("name")):
        context = title_match.group("name")
    groups: dict[tuple[str, str], list[tuple[str, int | None, int | None]]] = {}
    seen: set[tuple[str, str]] = set()

    def add(label: str, text: str, line: int | None, page: int | None, name: str = "") -> None:
        label = _canonical_label(label)
        text = _HTML.sub(" ", text).strip()
        key = (context, squash(text))
        if key in seen or not text:
            return
        # near-duplicates: 000 prints a project's 年度绩效目标 as a truncated copy of its 总体绩效目标
        if any(key[1] in other for ctx, other in seen if ctx == context and len(key[1]) >= MIN_CELL_CHARS):
            return
        seen.add(key)
        if name and label != "绩效目标" and name not in text and name not in ("定性", "定量"):
            text = f"{name}：{text}"
        groups.setdefault((label, context), []).append((text, line, page))

    for row in grid.rows:
        texts = [cell.text.strip() for cell in row]
        if _is_header_row(texts):
            for col, text in enumerate(texts):
                if text:
                    headers[col] = squash(text)
            continue
        consumed: set[int] = set()
        # key-value layout: a label cell followed by its value
        for col, text in enumerate(texts):
            key = squash(text)
            if not key or col in consumed:
                continue
            is_project = bool(_PROJECT_LABEL.match(key))
            is_desc = bool(_DESC_LABEL.match(key))
            if not (is_project or is_desc):
                continue
            value_col = next((c for c in range(col + 1, len(texts)) if texts[c]), None)
            if value_col is None:
                continue
            consumed.update({col, value_col})
            value = texts[value_col]
            if is_project:
                context = squash(value)
                locked = True
            elif _is_descriptive(value, MIN_CELL_CHARS):
                cell = row[value_col]
                add(key, value, cell.line, cell.page)
        # column layout: descriptive cells under a known header, or any long CJK cell
        row_items = 0
        row_has_desc = any(
            text and _DESC_HEADER.search(headers.get(col, "")) and col not in consumed for col, text in enumerate(texts)
        )
        for col, cell in enumerate(row):
            text = texts[col]
            if col in consumed or not text:
                continue
            header = headers.get(col, "")
            if header and _PROJECT_LABEL.match(header) and not _NUMERIC.match(squash(text)):
                context = squash(text)
                continue
            known = bool(header and _DESC_HEADER.search(header))
            if header and not known and (_NAME_HEADER.search(header) or _VALUE_HEADER.search(header)):
                continue
            if not known and row_has_desc and _INDICATOR_NAME.search(header):
                continue  # the indicator's name prefixes its description instead
            if not _is_descriptive(text, MIN_CELL_CHARS if known else LONG_CELL_CHARS):
                continue
            label = header if known else (header or "表格文字")
            add(label, text, cell.line, cell.page, _indicator_name(texts, headers, col))
            row_items += 1
        if not row_items and not consumed and not locked and headers:
            # a project row in a layout without a 项目名称 column: name then amounts (“\t办公设备更新\t42000.00 …”)
            names = [
                (col, t) for col, t in enumerate(texts[:3]) if t and not _NUMERIC.match(squash(t)) and cjk_ratio(t) > 0.5
            ]
            has_amount = any(re.fullmatch(r"\d[\d,]*(?:\.\d+)?", squash(t)) for t in texts[1:])
            if (
                len(names) == 1
                and has_amount
                and "名称" in headers.get(names[0][0], "")
                and not re.search(r"合计|总计|小计", names[0][1])
            ):
                context = squash(names[0][1])
    return [(label, ctx, items) for (label, ctx), items in groups.items()], context


def _indicator_name(texts: list[str], headers: dict[int, str], col: int) -> str:
    for left in range(col - 1, -1, -1):
        header = headers.get(left, "")
        text = texts[left]
        if text and _INDICATOR_NAME.search(header) and len(text) <= 40 and not _DESC_HEADER.search(header):
            return text
    return ""
