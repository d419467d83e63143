"""Numbers and money units as printed in budget documents."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from yusuan.ingest.normalize import normalize_number_text

UNIT_FACTORS = {"元": 0.0001, "万元": 1.0, "亿元": 10000.0, "千元": 0.1}
_AMOUNT = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*(万元|亿元|千元|元)?\s*$")
_TWO_NUMBERS = re.compile(r"\d\s+[\d-]")
_UNIT_STATEMENT = re.compile(r"(?:金额)?单位\s*[:：]?\s*(万元|亿元|千元|元)|[(（]\s*(万元|亿元|元)\s*[)）]|资金\s*[(（]\s*(万元|元)")


@dataclass(frozen=True)
class Amount:
    value: float
    unit: str | None  # unit printed inside the cell, if any


@lru_cache(maxsize=1 << 14)  # every recognizer parses the same cells again (Amount is immutable)
def parse_amount(text: str | None) -> Amount | None:
    """'3,599.92' → 3599.92; '233万元' → 233 (万元); blank, '-' and words → None (missing, never 0).
    Two numbers in one cell ('156,211,123 156,211,123', cells merged by the PDF) are not one number: None."""
    if text is None or _TWO_NUMBERS.search(text):
        return None
    cleaned = normalize_number_text(text).replace(" ", "")
    if not cleaned:
        return None
    match = _AMOUNT.match(cleaned)
    if not match:
        return None
    return Amount(float(match.group(1)), match.group(2))


def to_wanyuan(value: float, unit: str) -> float:
    return round(value * UNIT_FACTORS[unit], 8)


def stated_unit(text: str) -> str | None:
    match = _UNIT_STATEMENT.search(text.replace(" ", ""))
    if not match:
        return None
    return next(group for group in match.groups() if group)


def is_number_cell(text: str) -> bool:
    return parse_amount(text) is not None
