"""What every rule reads: the document's typed records, its text as paragraphs and sentences with their printed
positions, its tables, and the tolerance that printed precision allows."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from typing import TypeVar

from yusuan.extract.numbers import UNIT_FACTORS
from yusuan.model import BBox, Extraction, Grid, IngestedDocument, Record, TextLine

from .model import ComparedValue, Issue

SENTENCE_END = re.compile(r"[。；;！？]")
LIST_ITEM = re.compile(r"^\s*(?:[(（][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+[、.．]|\d+[、.．](?!\d))")
AMOUNT = re.compile(r"(?<![\d.])(?P<num>\d+(?:,\d{3})*(?:\.\d+)?)\s*(?P<unit>万元|亿元|元)")
PERCENT = re.compile(r"(?<![\d.])(?P<num>\d+(?:\.\d+)?)\s*%")
_DECIMALS = re.compile(r"\.(\d+)")
Derived = TypeVar("Derived")


def half_unit(raw: str, unit: str | None = "万元") -> float:
    """Half the last printed digit, in the unit the value is compared in (万元 for money, points for %):
    '22.50' 万元 → 0.005, '2,484,078' 元 → 0.00005, '17192万元' → 0.5."""
    decimals = _DECIMALS.search(raw or "")
    return 0.5 * 10 ** -(len(decimals.group(1)) if decimals else 0) * UNIT_FACTORS.get(unit or "万元", 1.0)


def to_number(text: str) -> float:
    return float(text.replace(",", ""))


@dataclass
class Figure:
    """A number printed in the text: its value (万元, or percent points), the raw text and where it is."""

    value: float
    raw: str
    unit: str
    start: int
    end: int

    @property
    def tolerance(self) -> float:
        """Half the last printed digit; a printed zero ('0万元') is exact."""
        if self.value == 0:
            return 0.0
        return half_unit(self.raw, self.unit if self.unit != "%" else None)


@dataclass
class Paragraph:
    """The lines of one text block joined into one string, with the line each character came from."""

    text: str
    starts: list[int]
    lines: list[TextLine]
    section: str = ""  # the nearest heading above

    @classmethod
    def of(cls, lines: list[TextLine], section: str = "") -> Paragraph:
        parts, starts, offset = [], [], 0
        for line in lines:
            starts.append(offset)
            parts.append(line.text)
            offset += len(line.text)
        return cls("".join(parts), starts, lines, section)

    @property
    def page(self) -> int | None:
        return self.lines[0].page if self.lines else None

    def line_index(self, offset: int) -> int:
        return max(0, bisect.bisect_right(self.starts, offset) - 1)

    def place(self, start: int, end: int) -> tuple[int | None, BBox | None]:
        """Page and box of the characters start..end (clipped to the line where they start; a box proportional to
        the characters' share of the line, since PDF lines are set in one font size)."""
        index = self.line_index(start)
        line = self.lines[index]
        if line.bbox is None:
            return line.page, None
        x0, top, x1, bottom = line.bbox
        length = max(len(line.text), 1)
        first = start - self.starts[index]
        last = min(end - self.starts[index], length)
        width = (x1 - x0) / length
        return line.page, (x0 + width * first, top, x0 + width * max(last, first + 1), bottom)

    def segments(self) -> Iterator[tuple[int, str]]:
        """The paragraph split where a numbered list item ('1、', '（二）') begins a line."""
        cuts = [0] + [start for start, line in zip(self.starts, self.lines, strict=True) if start and LIST_ITEM.match(line.text)]
        cuts.append(len(self.text))
        for begin, end in pairwise(cuts):
            if end > begin:
                yield begin, self.text[begin:end]

    def sentences(self) -> Iterator[tuple[int, str]]:
        start = 0
        for match in SENTENCE_END.finditer(self.text):
            yield start, self.text[start : match.end()]
            start = match.end()
        if start < len(self.text):
            yield start, self.text[start:]


def money_figures(text: str, offset: int = 0) -> list[Figure]:
    """Money amounts (in 万元) printed in a piece of text, in order: :func:`figures` without the percentages."""
    return [
        Figure(to_number(m["num"]) * UNIT_FACTORS[m["unit"]], m.group(0), m["unit"], offset + m.start(), offset + m.end())
        for m in AMOUNT.finditer(text)
    ]


def figures(text: str, offset: int = 0) -> list[Figure]:
    """Money amounts (in 万元) and percentages printed in a piece of text, in order."""
    found = money_figures(text, offset)
    found += [Figure(float(m["num"]), m.group(0), "%", offset + m.start(), offset + m.end()) for m in PERCENT.finditer(text)]
    return sorted(found, key=lambda figure: figure.start)


@dataclass
class AuditContext:
    doc: IngestedDocument
    extraction: Extraction
    issues: list[Issue] = field(default_factory=list)
    _derived: dict[Callable, object] = field(default_factory=dict, repr=False)

    def derived(self, compute: Callable[[AuditContext], Derived]) -> Derived:
        """compute(self), computed once per document and shared by every rule that reads it."""
        if compute not in self._derived:
            self._derived[compute] = compute(self)
        return self._derived[compute]  # type: ignore[return-value]

    @property
    def meta(self):
        return self.extraction.document

    @cached_property
    def is_final_accounts(self) -> bool:
        return "决算" in (self.meta.doc_kind or "") or any("决算" in grid.title for grid in self.grids)

    @cached_property
    def records(self) -> dict[str, list[Record]]:
        grouped: dict[str, list[Record]] = {}
        for record in self.extraction.records:
            grouped.setdefault(record.kind, []).append(record)
        return grouped

    def table_records(self, kind: str, table_kind: str, measure: str | None = None) -> list[Record]:
        return [r for r in self.records.get(kind, []) if r.table_kind == table_kind and (measure is None or r.measure == measure)]

    @cached_property
    def grids(self) -> list[Grid]:
        return [block.grid for block in self.doc.blocks if block.kind == "table" and block.grid is not None]

    @cached_property
    def paragraphs(self) -> list[Paragraph]:
        found: list[Paragraph] = []
        section = ""
        for block in self.doc.blocks:
            if block.kind == "table" or not block.lines:
                continue
            if block.kind == "heading":
                section = block.text
            found.append(Paragraph.of(block.lines, section))
        return found

    @cached_property
    def body_paragraphs(self) -> list[Paragraph]:
        """Paragraphs after the table of contents (a 目录 heading and its dotted or page-numbered entries)."""
        return [p for p in self.paragraphs if p.section.replace(" ", "") != "目录" and "....." not in p.text]

    @cached_property
    def sections(self) -> list[Paragraph]:
        """Body paragraphs under one heading joined into one (a total and its parts are often listed item by item)."""
        joined: list[Paragraph] = []
        lines: list[TextLine] = []
        section = None
        for paragraph in self.body_paragraphs:
            if paragraph.section != section and lines:
                joined.append(Paragraph.of(lines, section or ""))
                lines = []
            section = paragraph.section
            lines.extend(paragraph.lines)
        if lines:
            joined.append(Paragraph.of(lines, section or ""))
        return joined

    def value_place(self, record: Record, field_name: str) -> tuple[int | None, BBox | None, str]:
        source = record.values.get(field_name)
        if source is None:
            return record.provenance.page, record.provenance.bbox, ""
        return source.page, source.bbox, source.raw

    def record_value(self, record: Record, field_name: str, label: str, value: float | None = None) -> ComparedValue:
        page, bbox, raw = self.value_place(record, field_name)
        if value is None:
            value = getattr(record, field_name, None)
        return ComparedValue(label=label, value=value, raw=raw, page=page, bbox=bbox)

    def record_tolerance(self, record: Record, field_name: str) -> float:
        source = record.values.get(field_name)
        if source is None or not source.raw:
            return 0.005
        return half_unit(source.raw, source.unit_original)

    def text_value(self, paragraph: Paragraph, figure: Figure, label: str) -> ComparedValue:
        page, bbox = paragraph.place(figure.start, figure.end)
        return ComparedValue(label=label, value=figure.value, raw=figure.raw, page=page, bbox=bbox)


def locate_raw(ctx: AuditContext, page: int | None, line_number: int | None, raw: str) -> tuple[Paragraph, Figure] | None:
    """The paragraph and printed figure of a value extracted from the text (by its line and raw text)."""
    for paragraph in ctx.paragraphs:
        for index, line in enumerate(paragraph.lines):
            if line.line != line_number or (page is not None and line.page != page):
                continue
            # spacing inside a printed figure ("12323.46 万元") differs between readers: compare without it
            wanted = "".join(raw.split())
            for figure in figures(paragraph.text[paragraph.starts[index] :], paragraph.starts[index]):
                printed = "".join(figure.raw.split())
                if wanted.startswith(printed) or printed in wanted or wanted.endswith(printed):
                    return paragraph, figure
    return None
