"""Normalisation used by the evaluation: matching keys, text comparison, numbers and units.

Deliberately independent of yusuan's own ingest/extract normalisation: the yardstick must not share code with what
it measures.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

# Quotes of every kind become the ASCII double quote ("quotes unified").
_QUOTES = str.maketrans(
    {
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "〝": '"',
        "〞": '"',
        "＂": '"',
        "‘": '"',
        "’": '"',
        "'": '"',
        "「": '"',
        "」": '"',
        "『": '"',
        "』": '"',
    }
)
_BRACKETS = str.maketrans({"（": "(", "）": ")", "【": "[", "】": "]", "〔": "(", "〕": ")"})
_DASHES = str.maketrans({"—": "-", "–": "-", "－": "-", "―": "-", "‐": "-", "‑": "-"})
_WHITESPACE = re.compile(r"\s+")

_CN_NUM = "一二三四五六七八九十百零〇"
# Numbering prefixes of printed names: 一、 (一) （一） 1、 1. 1． ① …, possibly stacked ("（一）1.").
_PREFIX = re.compile(
    rf"^(?:[{_CN_NUM}]+[、.．,，]|[(（][{_CN_NUM}\d]+[)）][、.．]?|\d{{1,2}}[、．](?!\d)|\d{{1,2}}\.(?!\d)|[①-⑳]|第[{_CN_NUM}\d]+[部分项条]?[、:：]?)"
)

MONEY_UNITS = {"元": 1e-4, "万元": 1.0, "亿元": 1e4, "千元": 0.1, "百万元": 100.0}


def key_text(value: Any) -> str:
    """Key normalisation (docs/eval.md): NFKC, no whitespace, （）→(), quotes unified."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    text = text.translate(_QUOTES).translate(_BRACKETS).translate(_DASHES)
    return _WHITESPACE.sub("", text)


def strip_numbering(text: str) -> str:
    """Remove printed numbering prefixes (一、 （二） 1. ①) from a key-normalised name."""
    previous = None
    while previous != text:
        previous = text
        stripped = _PREFIX.sub("", text, count=1)
        if stripped:  # never strip a name down to nothing ("一、" alone stays)
            text = stripped
    return text


def name_key(value: Any) -> str:
    return strip_numbering(key_text(value))


def code_key(value: Any) -> str:
    """Subject codes: digits only once whitespace is removed (`201 06 01` → `2010601`)."""
    text = key_text(value)
    digits = re.sub(r"[^0-9A-Za-z]", "", text)
    return digits


def text_norm(value: Any) -> str:
    """Comparison form of a text field: key normalisation plus punctuation removed (keeps % and ‰)."""
    text = key_text(value)
    kept = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P") or ch in "%‰")
    return (kept or text).lower()


NAME_FIELDS = frozenset({"name", "subject", "project", "unit_name", "category", "level3"})
# Spans of a sentence whose boundaries are a judgement call: equal when one contains the other.
SPAN_FIELDS = frozenset({"sentence", "reason", "subject"})


def text_equal(gold: Any, pred: Any, field: str = "") -> bool:
    """Text comparison; names (``NAME_FIELDS``) also ignore numbering prefixes like 一、 or （二）."""
    if gold is None or pred is None:
        return gold is None and pred is None
    if field in SPAN_FIELDS and isinstance(gold, str) and isinstance(pred, str):
        g, p = text_norm(strip_numbering(key_text(gold))), text_norm(strip_numbering(key_text(pred)))
        return bool(g and p) and (g in p or p in g)
    if field in NAME_FIELDS and isinstance(gold, str) and isinstance(pred, str):
        return text_norm(strip_numbering(key_text(gold))) == text_norm(strip_numbering(key_text(pred)))
    if isinstance(gold, (int, float)) and not isinstance(gold, bool):
        num = to_number(pred)
        return num is not None and math.isclose(float(gold), num, abs_tol=1e-9)
    return text_norm(gold) == text_norm(pred)


_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


def to_number(value: Any) -> float | None:
    """A number from a float/int or from a printed string (`1,234.50`, `12.5%`); None if not a number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return None if math.isnan(float(value)) else float(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "").replace(" ", "")
    text = text.rstrip("%")
    if text.startswith("(") and text.endswith(")"):
        text = "-" + text[1:-1]
    if _NUMBER.match(text):
        return float(text)
    return None


def money_factor(unit: Any) -> float | None:
    """Multiplier that turns an amount in `unit` into 万元 (None when the unit is unknown)."""
    if unit is None:
        return 1.0
    return MONEY_UNITS.get(key_text(unit))


def is_unit_error(gold: float, pred: float, tolerance: float) -> bool:
    """True when pred is gold in the wrong money unit (×10 000 or ÷10 000)."""
    if gold == 0 or pred == 0:
        return False
    return any(
        abs(pred - gold * factor) <= max(tolerance * factor, tolerance, abs(gold * factor) * 1e-6)
        for factor in (1e4, 1e-4)
    )
