"""Text normalisation that never loses the raw text (callers keep both)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}（）()“”、：:])[ \u3000\u00a0]+(?=[{_CJK}（）()“”、：:])")
_MARKDOWN_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s*")
_EMPHASIS = re.compile(r"\*\*|__")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?:\D|$))")
_BOOKMARK = re.compile(r"\[bookmark:[^\]]*\]")
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "〞": '"', "〝": '"'})


def heading_depth(raw: str) -> int:
    match = _MARKDOWN_HEADING.match(raw)
    return len(match.group(1)) if match else 0


# a document repeats most of its cells ('-', '0.00', the same labels and headers): each is normalised once
@lru_cache(maxsize=1 << 14)
def normalize_text(raw: str) -> str:
    """NFKC (full-width digits/punctuation → ASCII), strip markdown marks, join spaced-out Chinese words."""
    # each pattern is tried only when the text holds its mark (PDF cells and lines: called per cell, per line)
    text = _BOOKMARK.sub("", raw) if "[bookmark:" in raw else raw
    if "#" in text:
        text = _MARKDOWN_HEADING.sub("", text)
    if "**" in text or "__" in text:
        text = _EMPHASIS.sub("", text)
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u3000", " ")
    if " " in text:  # NFKC made no-break spaces plain
        text = _SPACE_BETWEEN_CJK.sub("", text)
    return text.strip()


def normalize_number_text(text: str) -> str:
    return _THOUSANDS.sub("", text)


def match_key(text: str | None) -> str:
    """Aggressive normalisation for comparing names: no whitespace, unified brackets and quotes."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = re.sub(r"\s+", "", text)
    return text.strip("\"'")
