"""What a printed header part or row label means, read through the shared thesaurus: a 三公 item, a measure (预算数 /
决算数 / 上年数), a year, a change (增减), a sum (合计 / 小计), or other words (another expense, a funding source)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from yusuan.vocab import thesaurus

from .base import strip_numbering

FIELD_OF_CONCEPT = {
    "sangong_total": "total",
    "sangong_overseas": "overseas",
    "sangong_vehicle_total": "vehicle_total",
    "sangong_vehicle_purchase": "vehicle_purchase",
    "sangong_vehicle_operation": "vehicle_operation",
    "sangong_reception": "reception",
}
_MEASURE_OF_CONCEPT = {"measure_budget": "预算数", "measure_adjusted": "调整预算数", "measure_final": "决算数"}
_SUM_WORDS = ("合计", "小计", "总计", "金额")
YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_INNER_NOTE = re.compile(r"^(?:其中|含)\s*[:：]?")
_EMPTY_BRACKETS = re.compile(r"\(\)|（）")


@dataclass(frozen=True)
class Part:
    """What one header part or row label says."""

    text: str
    item: str | None = None  # a 三公 field
    measure: str | None = None
    prior: bool = False  # 上年数 / 上年预算数
    year: int | None = None
    change: bool = False  # 增减 / 增长率
    sums: bool = False  # 合计 / 小计
    other: bool = False  # words that are none of these: another expense (会议费) or a funding source (其他资金)


def clean_label(text: str) -> str:
    text = _INNER_NOTE.sub("", text.replace(" ", "").replace("\u3000", ""))
    return _EMPTY_BRACKETS.sub("", strip_numbering(text))


@lru_cache(maxsize=8192)  # the same header and row labels come back table after table, document after document
def read_part(text: str) -> Part:
    """Read one label; measure and year words removed, whatever is left that is no item or sum is 'other'."""
    label = clean_label(text)
    if not label:
        return Part("")
    vocab = thesaurus()
    items = [concept.key for concept, _ in vocab.mentions(label, "sangong", colloquial=False)
             if not any(word in label for word in concept.excludes)]
    measures = vocab.mentions(label, "measure", colloquial=False)
    keys = [concept.key for concept, _ in measures]
    year = YEAR.search(label) or re.fullmatch(r"((?:19|20)\d{2})", label)
    rest = YEAR.sub("", label) if year else label
    for _, word in measures:
        rest = rest.replace(word, "")
    sums = label in _SUM_WORDS
    return Part(
        text=label,
        item=FIELD_OF_CONCEPT.get(items[0]) if items else None,
        measure=next((_MEASURE_OF_CONCEPT[key] for key in keys if key in _MEASURE_OF_CONCEPT), None),
        prior="measure_prior" in keys,
        year=int(year.group(1)) if year else None,
        change="measure_change" in keys,
        sums=sums,
        other=bool(rest.strip("()")) and not items and not sums,
    )


def latest_year(texts: list[str]) -> int | None:
    years = [int(year) for text in texts for year in YEAR.findall(text.replace(" ", ""))]
    return max(years) if years else None


def is_prior(parts: list[Part], latest: int | None) -> bool:
    """A header naming the prior year's figures (上年预算数, or a year before the table's latest)."""
    return any(part.prior or (part.year is not None and latest is not None and part.year < latest) for part in parts)
