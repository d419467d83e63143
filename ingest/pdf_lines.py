"""Positioned text lines from PDF characters (part of the PDF reader, see :mod:`yusuan.ingest.pdf`).

pdfminer's ``top`` depends on the font's ascent, so characters are grouped into visual lines by vertical
overlap; far-apart runs of one line are kept as segments (the columns of an unruled table, "部门：XX    单位：元").
"""

from __future__ import annotations

import functools
import operator
import re
import statistics
from dataclasses import dataclass, field
from typing import Any

from .normalize import normalize_text

Char = dict[str, Any]


_CID = re.compile(r"\(cid:\d+\)")


TIE = 1e-3  # gaps within this of a threshold (a quarter em exactly) are ties, decided the same whatever the float
# noise of the library that read the glyphs (pdfminer in doubles, PDFium in float32)


_NUMBER = re.compile(r"^[-−]?\(?[-−]?\d[\d,]*(\.\d+)?\)?%?$|^[-−]?\.\d+%?$")


@dataclass
class _Segment:
    text: str
    x0: float
    x1: float


@dataclass
class _Line:
    """One visual line of text on a page (before it becomes a TextLine or a table row)."""

    raw: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    segments: list[_Segment]
    bold: bool = False
    cid: int = 0
    page: int = 0
    number: int = 0  # 1-based position of the line on its page, in reading order
    _normalized: tuple[str, str] | None = field(default=None, init=False, repr=False, compare=False)  # (raw, text)

    @property
    def text(self) -> str:
        """The normalised text, worked out once per raw text (titles, notes and headers look at it many times)."""
        if self._normalized is None or self._normalized[0] is not self.raw:
            self._normalized = (self.raw, normalize_text(_CID.sub("", self.raw)))
        return self._normalized[1]

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def mid(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return (round(self.x0, 2), round(self.top, 2), round(self.x1, 2), round(self.bottom, 2))


def _mid(char: Char) -> float:
    return (char["top"] + char["bottom"]) / 2


def _size(char: Char) -> float:
    size = float(char.get("size") or (char["bottom"] - char["top"]))
    return 1.0 if size < 1.0 else size  # max(size, 1.0) at a fraction of the builtin's cost (a hot path)


def _group_lines(chars: list[Char]) -> list[list[Char]]:
    """Cluster characters into visual lines by vertical overlap.

    pdfminer's ``top`` depends on the font's ascent, so Latin digits set in Times inside a FangSong sentence
    sit a few points lower than the CJK around them although they share one baseline. A character joins a
    line when its vertical middle falls inside the line's band and the line's middle inside the character's.
    """
    if len(chars) == 1:  # a table cell of one token
        return [list(chars)] if chars[0]["text"].strip() else []
    ordered = [((c["top"] + c["bottom"]) / 2, c["x0"], index, c) for index, c in enumerate(chars) if c["text"].strip()]
    ordered.sort()
    lines: list[_Band] = []
    for mid, _x0, _index, char in ordered:
        top = char["top"]
        low, high = top - 0.5, char["bottom"] + 0.5
        best: _Band | None = None
        # of the last six bands, the nearest that takes the character; bands come in the order of their middles, which
        # no later character's middle precedes, so going back the first band that takes it is the nearest (or as near)
        for line in reversed(lines[-6:]):
            if line.low <= mid <= line.high and low <= line.mid <= high:
                best = line
                break
        if best is None:
            lines.append(_Band(low=low, high=high, mid=mid, top=top, chars=[char]))
        else:
            best.chars.append(char)
            if top < best.top:
                best.top = top
    for line in lines:
        line.chars.sort(key=_x0_of)
    lines.sort(key=lambda line: (line.top, line.chars[0]["x0"]))
    return [line.chars for line in lines]


@dataclass(slots=True)
class _Band:
    """A visual line being gathered: its first character's band (grown by half a point) and middle."""

    low: float
    high: float
    mid: float
    top: float  # the highest top of its characters
    chars: list[Char]


_x0_of = operator.itemgetter("x0")


def _segments(chars: list[Char], sizes: list[float]) -> list[_Segment]:
    """One visual line cut where the horizontal gap is wider than 1.5 × the font size (the smaller of the two
    glyphs'); within a segment a gap wider than a quarter em is a space. `sizes`: each character's :func:`_size`."""
    segments: list[_Segment] = []
    out: list[str] = []
    prev: Char | None = None
    prev_size = left = right = 0.0
    for char, size in zip(chars, sizes, strict=True):
        if prev is not None:
            gap = char["x0"] - prev["x1"]
            em = size if size < prev_size else prev_size
            if gap > 1.5 * em + TIE:
                segments.append(_Segment("".join(out), left, right))
                out, prev = [], None
            elif gap > 0.25 * em + TIE:
                out.append(" ")
        x0, x1 = char["x0"], char["x1"]
        if prev is None:
            left, right = x0, x1
        else:
            left, right = x0 if x0 < left else left, x1 if x1 > right else right
        out.append(char["text"])
        prev, prev_size = char, size
    if prev is not None:
        segments.append(_Segment("".join(out), left, right))
    return segments


@functools.cache
def _bold_font(fontname: Any) -> bool:
    return "bold" in str(fontname).lower()


def _make_line(chars: list[Char]) -> _Line:
    sizes = [_size(c) for c in chars]
    segments = _segments(chars, sizes)
    bold = sum(1 for c in chars if _bold_font(c.get("fontname", ""))) > len(chars) / 2
    raw = "   ".join(segment.text for segment in segments) if len(segments) > 1 else segments[0].text
    return _Line(
        raw=raw,
        x0=min(c["x0"] for c in chars),
        top=min(c["top"] for c in chars),
        x1=max(c["x1"] for c in chars),
        bottom=max(c["bottom"] for c in chars),
        size=statistics.median(sizes),
        segments=segments,
        bold=bold,
        cid=sum(1 for c in chars if c["text"].startswith("(cid:")),
    )


def line_raw(chars: list[Char]) -> str:
    """``_make_line(chars).raw`` without the rest of the line (the text of a line inside a table cell)."""
    return "   ".join(segment.text for segment in _segments(chars, [_size(c) for c in chars]))


def build_lines(chars: list[Char]) -> list[_Line]:
    return [_make_line(group) for group in _reattach_displaced(_group_lines(chars))]


_CJK_CHAR = re.compile(r"[\u3400-\u9fff]")


def _reattach_displaced(groups: list[list[Char]]) -> list[list[Char]]:
    """Digits and punctuation set in a font with a bogus descent (some 重庆 exports) come out most of a line lower
    than the CJK text they belong to, as a line of their own. Such a line without CJK that overlaps the line above
    and whose glyphs all sit in that line's horizontal gaps is put back into it."""
    kept: list[list[Char]] = []
    for group in groups:
        above = kept[-1] if kept else None
        if above is not None and not any(_CJK_CHAR.match(c["text"]) for c in group) and _fills_gaps(group, above):
            above.extend(group)
            above.sort(key=lambda c: c["x0"])
            continue
        kept.append(group)
    return kept


def _fills_gaps(group: list[Char], above: list[Char]) -> bool:
    top, bottom = min(c["top"] for c in group), max(c["bottom"] for c in group)
    above_top, above_bottom = min(c["top"] for c in above), max(c["bottom"] for c in above)
    if not (above_top < top < above_bottom) or bottom <= above_bottom:
        return False
    if not any(abs(c["x0"] - a["x0"]) <= 2 * _size(a) for c in group for a in above):
        return False  # far from the line above: a figure beside it, not inside it
    # origins only (such fonts also lack glyph widths: every box is a full em wide), with a little kerning allowed
    return not any(a["x0"] + 0.1 * _size(a) < c["x0"] < a["x1"] - 0.1 * _size(a) for c in group for a in above)


def _join_wrapped(parts: list[str]) -> str:
    """Join the lines of a wrapped cell: no separator, except a space between two Latin words."""
    out = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if out and out[-1].isascii() and out[-1].isalpha() and part[0].isascii() and part[0].isalpha():
            out += " "
        out += part
    return out


def _is_number(text: str) -> bool:
    return bool(_NUMBER.match(text.replace(" ", "")))


def _merge_lines(upper: _Line, lower: _Line) -> _Line:
    return _Line(
        raw=upper.raw + lower.raw,
        x0=min(upper.x0, lower.x0),
        top=upper.top,
        x1=max(upper.x1, lower.x1),
        bottom=lower.bottom,
        size=upper.size,
        segments=[_Segment(upper.raw + lower.raw, min(upper.x0, lower.x0), max(upper.x1, lower.x1))],
        bold=upper.bold,
        page=upper.page,
        number=upper.number,
    )


def _number_lines(lines: list[_Line], page: int) -> list[_Line]:
    for index, line in enumerate(sorted(lines, key=lambda ln: (ln.top, ln.x0))):
        line.page, line.number = page, index + 1
    return lines


def _parts(line: _Line) -> list[_Line]:
    """Far-apart parts of one line ("编制部门：XX          单位：元") are separate statements. Parts of one
    character (a letter-spaced heading "目   录") are not; a part ending in a colon keeps its value."""
    segments = line.segments
    if len(segments) < 2 or any(len(re.sub(r"\s", "", s.text)) < 2 for s in segments):
        return [line]
    groups: list[list[_Segment]] = []
    for segment in segments:
        if groups and groups[-1][-1].text.rstrip().endswith((":", "：")):
            groups[-1].append(segment)
        else:
            groups.append([segment])
    if len(groups) < 2:
        return [line]
    return [
        _Line(
            raw=" ".join(s.text for s in group),
            x0=group[0].x0,
            top=line.top,
            x1=group[-1].x1,
            bottom=line.bottom,
            size=line.size,
            segments=group,
            bold=line.bold,
            cid=line.cid,
            page=line.page,
            number=line.number,
        )
        for group in groups
    ]
