"""Recognizer registry: one small unit per table kind.

A recognizer scores how well a prepared :class:`Table` fits its table kind and turns it into records.
Third-party recognizers register through the ``yusuan.recognizers`` entry-point group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points
from typing import ClassVar

from yusuan.model import Cell, Provenance, Record, ValueSource

from ..numbers import parse_amount, to_wanyuan
from ..table import Table

_NUMBERING = re.compile(r"^\s*(?:[一二三四五六七八九十]+[、.．]|[(（][一二三四五六七八九十\d]+[)）]|\d+(?:、|[.．](?!\d)))\s*")
_QUOTES = re.compile(r"[“”\"'‘’]")


# Some PDFs print the numbering's punctuation after the words: '一、一般公共预算' reads '一一般公共预算、', '（二）教育支出'
# reads '二教育支出()'.
_DISPLACED_NUMBERING = re.compile(r"^(?:[二三四五六七八九]?十[一二三四五六七八九]?|[一二三四五六七八九])(?P<name>\S+?)(?:、|\(\)|（）)$")


def strip_numbering(text: str) -> str:
    displaced = _DISPLACED_NUMBERING.match(text.strip())
    if displaced:
        return displaced.group("name")
    return _NUMBERING.sub("", text).strip()


def title_key(title: str) -> str:
    return _QUOTES.sub("", title).replace(" ", "")


@dataclass
class BuildContext:
    source: str
    default_unit: str | None = None
    warnings: list[str] = field(default_factory=list)

    def unit_for(self, table: Table) -> str:
        return table.unit or self.default_unit or "万元"

    def money(self, table: Table, cell: Cell | None) -> tuple[float | None, ValueSource | None]:
        if cell is None:
            return None, None
        amount = parse_amount(cell.text)
        if amount is None:
            return None, None
        unit = amount.unit or self.unit_for(table)
        return to_wanyuan(amount.value, unit), value_source(cell, unit)

    def provenance(self, row: list[Cell], key: Cell | None = None) -> Provenance:
        anchor = key if key is not None and key.line is not None else next((c for c in row if c.text), row[0])
        return Provenance(
            source=self.source,
            page=anchor.page,
            line=anchor.line,
            row=anchor.row,
            bbox=anchor.bbox,
            raw="\t".join([cell.raw for cell in row]).strip(),
        )


def value_source(cell: Cell, unit: str | None) -> ValueSource:
    return ValueSource(
        raw=cell.raw.strip(), unit_original=unit, page=cell.page, line=cell.line, row=cell.row, col=cell.col,
        bbox=cell.bbox,
    )


class Recognizer:
    """Subclasses set ``table_kind`` and implement ``score`` and ``build``."""

    table_kind: ClassVar[str]

    def score(self, table: Table) -> float:
        raise NotImplementedError

    def build(self, table: Table, ctx: BuildContext) -> list[Record]:
        raise NotImplementedError

    def stamp(self, record: Record, table: Table) -> Record:
        record.table_kind = record.table_kind or self.table_kind
        record.table_title = table.title
        return record


_REGISTRY: list[Recognizer] = []
_PLUGINS_LOADED = False


def register(cls: type[Recognizer]) -> type[Recognizer]:
    _REGISTRY.append(cls())
    return cls


def recognizers() -> list[Recognizer]:
    global _PLUGINS_LOADED
    if not _PLUGINS_LOADED:
        _PLUGINS_LOADED = True
        for entry in entry_points(group="yusuan.recognizers"):
            register(entry.load())
    return list(_REGISTRY)


def classify(table: Table) -> tuple[Recognizer | None, float]:
    best, best_score = None, 0.0
    for recognizer in recognizers():
        score = recognizer.score(table)
        if score > best_score:
            best, best_score = recognizer, score
    return best, best_score


def table_measure(table: Table) -> str:
    """The measure of money columns whose header names none: a 决算 table reports 决算数."""
    return "决算数" if "决算" in table.title else "预算数"


@lru_cache(maxsize=4096)  # every recognizer's score() asks, for every table
def title_kind(title: str) -> str | None:
    """The table kind a title names; the order matters (specific before general)."""
    t = title_key(title).replace("收入支出", "收支").replace("总体情况表", "总表")
    if not t:
        return None
    rules: list[tuple[str, bool]] = [
        ("三公经费表", "三公" in t),
        ("整体绩效目标表", "绩效" in t and "整体" in t),
        ("绩效目标表", "绩效目标" in t or "绩效指标" in t),
        ("重点项目表", "重点项目" in t),
        ("财政拨款收支总表", "财政拨款收支" in t),
        ("收支总表", "收支" in t and ("总表" in t or "决算表" in t or "预算表" in t)),
        ("收入总表", "收入" in t and ("总表" in t or "决算表" in t or "预算表" in t)),
        ("机关运行经费表", "机关运行经费" in t),
        ("财政拨款基本支出表", "基本支出" in t and "财政拨款" in t and "一般公共预算" not in t),
        ("基本支出表", "基本支出" in t),
        ("政府性基金支出表", "政府性基金" in t or "政府基金" in t),
        ("国有资本经营支出表", "国有资本经营" in t),
        ("项目支出表", "项目支出" in t and "绩效" not in t),
        ("一般公共预算支出表", "一般公共预算" in t and "支出" in t),
        ("财政拨款支出表", "财政拨款" in t and "支出" in t),
        ("支出总表", "支出" in t and ("总表" in t or "决算表" in t or "预算表" in t)),
    ]
    for kind, matched in rules:
        if matched:
            return kind
    return None
