"""Table grids from PDF pages (part of the PDF reader, see :mod:`yusuan.ingest.pdf`).

Ruled tables are built from pdfplumber's cell rectangles (characters assigned by geometry, never by reading
order); unruled tables from aligned, gap-separated segments of text lines; rows that lost their borders at a
page break are taken back from the page text.
"""

from __future__ import annotations

import bisect
import itertools
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from yusuan.model import Cell

from .normalize import normalize_text
from .patterns import NOTE_LINE as _NOTE_LINE
from .patterns import TITLE_WORD as _TITLE_WORD
from .patterns import UNIT_LINE as _UNIT_LINE
from .pdf_lines import (
    _CID,
    TIE,
    Char,
    _group_lines,
    _is_number,
    _join_wrapped,
    _Line,
    _mid,
    _Segment,
    _size,
    line_raw,
)

_NUMBER_CHARS = set("0123456789.,-%")


_LEADER = re.compile(r"[.…·。]{4,}|…{2,}|\.{6,}")


_ENUMERATED = re.compile(
    r"^\s*([一二三四五六七八九十]+\s*[、.．]|[（(]\s*[一二三四五六七八九十\d]+\s*[)）]|\d{1,2}\s*[.．、]\D|\d{3}\b|"
    r"[A-Za-z]\s*[.．、]|其中|合计|总计|小计)"
)


_TABLE_NUMBER = re.compile(
    r"^(公开)?\s*(表\s*[\d一二三四五六七八九十]+|[\d一二三四五六七八九十]+\s*表)\s*$|^公开\s*\d+\s*表$|^附表\s*[\d一二三四五六七八九十]*$"
)


MIN_COLUMN_WIDTH = 12.0  # narrower empty columns are slivers between almost-coincident rules


@dataclass
class _Table:
    """A table found on a page, before it becomes a Grid."""

    rows: list[list[Cell]]
    bbox: tuple[float, float, float, float]
    kind: str  # "ruled" or "unruled"
    title: str = ""
    title_line: _Line | None = None
    context: list[_Line] = field(default_factory=list)
    note: list[_Line] = field(default_factory=list)
    inner_title: list[str] = field(default_factory=list)  # title/meta text lifted out of the first rows
    columns: list[tuple[float, float]] = field(default_factory=list)  # x extent of each grid column

    @property
    def top(self) -> float:
        return self.bbox[1]

    @property
    def bottom(self) -> float:
        return self.bbox[3]


@dataclass
class _Page:
    number: int
    width: float
    height: float
    lines: list[_Line] = field(default_factory=list)
    tables: list[_Table] = field(default_factory=list)
    text_layer: bool = True
    ocr: bool = False
    unreadable: bool = False  # a text layer of (cid:NN) glyphs
    image_share: float = 0.0  # share of the page covered by images


def _cluster(values: list[float], tolerance: float) -> list[float]:
    positions: list[float] = []
    for value in sorted(values):
        if positions and value - positions[-1] <= tolerance:
            continue
        positions.append(value)
    return positions


def _nearest(positions: list[float], value: float) -> int:
    """Index of the position nearest to `value` (the first of two as near); `positions` ascend."""
    right = bisect.bisect_left(positions, value)
    if right == 0:
        return 0
    if right == len(positions) or abs(positions[right - 1] - value) <= abs(positions[right] - value):
        return right - 1
    return right


_PAIRS_AT_ONCE = 1 << 20  # point-in-box tests made in one numpy pass (bounds the memory a huge table takes)


def _drop_container_cells(cells: list[tuple[float, float, float, float]]) -> list[tuple[float, float, float, float]]:
    """A filled background rectangle around the table shows up as one cell containing all the others:
    a cell that contains two or more others (within a point) goes."""
    if len(cells) < 3:
        return cells
    boxes = np.array(cells)
    x0, top, x1, bottom = boxes.T
    left, upper, right, lower = x0 - 1.0, top - 1.0, x1 + 1.0, bottom + 1.0
    holding = np.zeros(len(cells), dtype=np.int64)
    step = max(1, _PAIRS_AT_ONCE // len(cells))
    for start in range(0, len(cells), step):
        inner = boxes[start : start + step, None, :]  # one row per inner cell, one column per outer cell
        holds = (left <= inner[..., 0]) & (upper <= inner[..., 1]) & (inner[..., 2] <= right) & (inner[..., 3] <= lower)
        holding += holds.sum(axis=0)
    same = Counter(cells)  # a cell holds itself and its exact copies, which it does not contain
    return [cell for cell, count in zip(cells, holding.tolist(), strict=True) if count - same[cell] < 2]


def _smallest_holding(points: list[tuple[float, float]], boxes: list[tuple[float, float, float, float]]) -> list[int]:
    """For each point, the index of the smallest box (grown by half a point) holding it, the first of equally large
    ones; -1 where none does."""
    if not points:
        return []
    array = np.array(boxes)
    x0, top, x1, bottom = array.T
    left, upper, right, lower = x0 - 0.5, top - 0.5, x1 + 0.5, bottom + 0.5
    area = (x1 - x0) * (bottom - top)
    xy = np.array(points)
    found: list[int] = []
    step = max(1, _PAIRS_AT_ONCE // len(boxes))
    for start in range(0, len(points), step):
        x, y = xy[start : start + step, 0:1], xy[start : start + step, 1:2]
        holds = (left <= x) & (x <= right) & (upper <= y) & (y <= lower)
        best = np.where(holds, area, np.inf).argmin(axis=1)
        best[~holds.any(axis=1)] = -1
        found += best.tolist()
    return found


def _tokens(chars: list[Char]) -> list[list[Char]]:
    """Runs of number characters printed as one string stay together (a column rule may cut through them);
    every other character is its own token."""
    tokens: list[list[Char]] = []
    for line in _group_lines(chars):
        current: list[Char] = []
        for char in line:
            if (
                current
                and char["text"] in _NUMBER_CHARS
                and current[-1]["text"] in _NUMBER_CHARS
                and char["x0"] - current[-1]["x1"] <= 0.12 * _size(char) + TIE
            ):
                current.append(char)
                continue
            if current:
                tokens.append(current)
            current = [char]
        if current:
            tokens.append(current)
    return tokens


def _ruled_table(cells: list[tuple[float, float, float, float]], chars: list[Char], page: int) -> tuple[_Table, set[int]] | None:
    """Build a grid from pdfplumber's cell rectangles; returns the table and the ids of the characters used."""
    cells = [tuple(float(v) for v in c) for c in cells if c[2] - c[0] > 1 and c[3] - c[1] > 1]
    cells = _drop_container_cells(cells)
    if len(cells) < 2:
        return None
    xs = _cluster([v for c in cells for v in (c[0], c[2])], 2.0)
    ys = _cluster([v for c in cells for v in (c[1], c[3])], 2.0)
    if len(xs) < 3 or len(ys) < 2:
        return None
    placed: list[tuple[int, int, int, int, tuple[float, float, float, float]]] = []
    for cell in cells:
        c0, c1 = _nearest(xs, cell[0]), _nearest(xs, cell[2])
        r0, r1 = _nearest(ys, cell[1]), _nearest(ys, cell[3])
        if c1 > c0 and r1 > r0:
            placed.append((r0, c0, r1, c1, cell))
    if len(placed) < 2:
        return None
    x0, top = min(c[0] for c in cells), min(c[1] for c in cells)
    x1, bottom = max(c[2] for c in cells), max(c[3] for c in cells)
    inside = [c for c in chars if x0 - 1 <= (c["x0"] + c["x1"]) / 2 <= x1 + 1 and top - 1 <= (c["top"] + c["bottom"]) / 2 <= bottom + 1]

    content: dict[int, list[Char]] = {}
    used: set[int] = set()
    tokens = _tokens(inside)
    centres = [
        ((token[0]["x0"] + token[0]["x1"]) / 2, _mid(token[0]))  # most tokens: one character
        if len(token) == 1
        else ((min(c["x0"] for c in token) + max(c["x1"] for c in token)) / 2, sum(_mid(c) for c in token) / len(token))
        for token in tokens
    ]
    holding = _smallest_holding(centres, [box for *_grid, box in placed])
    for token, (cx, _cy), best in zip(tokens, centres, holding, strict=True):
        if best < 0:
            continue
        best = _overflow_home(placed, best, token, cx)
        content.setdefault(best, []).extend(token)
        used.update(id(c) for c in token)

    n_rows, n_cols = len(ys) - 1, len(xs) - 1
    grid: list[list[Cell | None]] = [[None] * n_cols for _ in range(n_rows)]
    for index, (r0, c0, _r1, _c1, box) in enumerate(placed):
        cell_chars = content.get(index)
        lines = [line_raw(line) for line in _group_lines(cell_chars)] if cell_chars else []
        raw = "\n".join(lines)
        text = normalize_text(_CID.sub("", _join_wrapped(lines)))
        bbox = (round(box[0], 2), round(box[1], 2), round(box[2], 2), round(box[3], 2))
        grid[r0][c0] = Cell(text=text, raw=raw, page=page, bbox=bbox)
    rows = [[cell or Cell(text="", raw="", page=page) for cell in row] for row in grid]
    table = _Table(rows=rows, bbox=(x0, top, x1, bottom), kind="ruled", columns=[(xs[i], xs[i + 1]) for i in range(n_cols)])
    _lift_inner_title(table)
    _compact(table)
    if len(table.rows) < 2 or (table.rows and max(len(r) for r in table.rows) < 2):
        return None
    return table, used


def _overflow_home(
    placed: list[tuple[int, int, int, int, tuple[float, float, float, float]]], best: int, token: list[Char], cx: float
) -> int:
    """A wrapped line that the generator let run below its cell's bottom rule ("采购组织形" / "式") straddles
    the rule: it belongs to the cell above, not to the row below."""
    box = placed[best][4]
    if len(token) == 1:
        top, height = token[0]["top"], token[0]["bottom"] - token[0]["top"]
    else:
        top = min(c["top"] for c in token)
        height = max(c["bottom"] for c in token) - top
    if height <= 0 or box[1] - top <= 0.15 * height:
        return best
    for index, (_r0, _c0, _r1, _c1, other) in enumerate(placed):
        if other[0] - 0.5 <= cx <= other[2] + 0.5 and abs(other[3] - box[1]) <= 1.0:
            return index
    return best


def _lift_inner_title(table: _Table) -> None:
    """Titles and unit lines drawn inside the table frame (first rows with one spanning cell) move out."""
    while table.rows:
        texts = [cell.text for cell in table.rows[0] if cell.text]
        if not texts:
            table.rows.pop(0)
            continue
        raws = [cell.raw for cell in table.rows[0] if cell.text]
        if all(_is_unit_line(text) for text in texts):
            table.inner_title.extend(normalize_text(part) for raw in raws for part in _split_wide(raw) if part.strip())
            table.rows.pop(0)
            continue
        width = len(table.rows[0])
        if len(texts) == 1 and width >= 2:
            parts = [normalize_text(part) for part in _split_wide(raws[0]) if part.strip()]
            if parts and _TITLE_WORD.search(parts[0]) and "。" not in parts[0] and len(parts[0]) <= 60:
                table.inner_title.extend(parts)
                table.rows.pop(0)
                continue
        break


def _split_wide(raw: str) -> list[str]:
    """Lines of a cell, and the far-apart parts of each ("部门：XX      单位：万元" → two parts)."""
    return [part for line in raw.split("\n") for part in re.split(r"\s{3,}", line) if part.strip()]


def _real_empty_column(table: _Table, rows: list[list[Cell]], col: int) -> bool:
    """An empty column is kept when it is a real ruled column (its own cells, a sensible width): a table piece
    on a continuation page often has a column with no numbers, and dropping it would make the piece narrower
    than the piece it continues. Slivers between near-coincident rules and span-only columns go."""
    if len(table.columns) != len(rows[0]):
        return False
    x0, x1 = table.columns[col]
    return x1 - x0 >= MIN_COLUMN_WIDTH and any(row[col].bbox is not None for row in rows)


def _compact(table: _Table) -> None:
    """Drop empty rows and spurious empty columns (see :func:`_real_empty_column`); number what is left."""
    rows = [row for row in table.rows if any(cell.text for cell in row)]
    if not rows:
        table.rows = []
        return
    width = max(len(row) for row in rows)
    rows = [row + [Cell(text="", raw="", page=row[0].page) for _ in range(width - len(row))] for row in rows]
    keep = [col for col in range(width) if any(row[col].text for row in rows) or _real_empty_column(table, rows, col)]
    table.rows = [[row[col] for col in keep] for row in rows]
    if len(table.columns) == width:
        table.columns = [table.columns[col] for col in keep]
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row):
            cell.row, cell.col = r, c


def _numeric_row(line: _Line) -> bool:
    if len(line.segments) < 2 or _LEADER.search(line.raw):
        return False
    numbers = sum(1 for s in line.segments if _is_number(s.text))
    return numbers >= 1 and not any("。" in s.text for s in line.segments)


def _unruled_tables(lines: list[_Line], page: int) -> list[tuple[_Table, list[_Line]]]:
    """Runs of lines with aligned, gap-separated segments and numbers become grids."""
    tables: list[tuple[_Table, list[_Line]]] = []
    index = 0
    while index < len(lines):
        if not _numeric_row(lines[index]):
            index += 1
            continue
        start = index
        end = index
        pitch = max(lines[index].height * 2.2, 18.0)
        probe = index + 1
        while probe < len(lines):
            line = lines[probe]
            if line.top - lines[probe - 1].bottom > pitch:
                break
            if _numeric_row(line):
                end = probe
                probe += 1
                continue
            # a wrapped label line between two numeric rows
            if (
                probe + 1 < len(lines)
                and _numeric_row(lines[probe + 1])
                and len(line.segments) <= 2
                and not any(_is_number(s.text) for s in line.segments)
                and "。" not in line.raw
            ):
                probe += 1
                continue
            break
        numeric = [line for line in lines[start : end + 1] if _numeric_row(line)]
        if len(numeric) >= 3:
            header_start = start
            while (
                header_start > 0
                and start - header_start < 3
                and len(lines[header_start - 1].segments) >= 2
                and not _LEADER.search(lines[header_start - 1].raw)
                and "。" not in lines[header_start - 1].raw
                and lines[header_start].top - lines[header_start - 1].bottom <= pitch
                and not _is_unit_line(lines[header_start - 1].text)
            ):
                header_start -= 1
            run = lines[header_start : end + 1]
            table = _align_columns(run, numeric, page)
            if table is not None:
                tables.append((table, run))
        index = end + 1
    return tables


def _align_columns(run: list[_Line], numeric: list[_Line], page: int) -> _Table | None:
    # column bands from the data rows: union of overlapping segment extents
    spans = sorted((s.x0, s.x1) for line in numeric for s in line.segments)
    bands: list[list[float]] = []
    for x0, x1 in spans:
        if bands and x0 <= bands[-1][1] + 2:
            bands[-1][1] = max(bands[-1][1], x1)
        else:
            bands.append([x0, x1])
    if len(bands) < 2:
        return None
    rows: list[list[Cell]] = []
    row_lines: list[_Line] = []
    for line in run:
        cells = [[] for _ in bands]
        boxes: list[list[float] | None] = [None] * len(bands)
        for segment in line.segments:
            center = (segment.x0 + segment.x1) / 2
            col = _band_for(bands, segment.x0, segment.x1, center)
            cells[col].append(segment.text)
            box = boxes[col]
            boxes[col] = (
                [segment.x0, line.top, segment.x1, line.bottom]
                if box is None
                else [min(box[0], segment.x0), line.top, max(box[2], segment.x1), line.bottom]
            )
        row = []
        for col, parts in enumerate(cells):
            raw = " ".join(parts)
            box = boxes[col]
            row.append(
                Cell(
                    text=normalize_text(_CID.sub("", raw)),
                    raw=raw,
                    page=page,
                    bbox=tuple(round(v, 2) for v in box) if box else None,  # type: ignore[arg-type]
                )
            )
        rows.append(row)
        row_lines.append(line)
    rows = _merge_wrapped_rows(rows, row_lines)
    x0 = min(line.x0 for line in run)
    x1 = max(line.x1 for line in run)
    table = _Table(
        rows=rows,
        bbox=(x0, run[0].top, x1, run[-1].bottom),
        kind="unruled",
        columns=[(band[0], band[1]) for band in bands],
    )
    _compact(table)
    if len(table.rows) < 2:
        return None
    return table


def _band_for(bands: list[list[float]], x0: float, x1: float, center: float) -> int:
    best, best_overlap = None, 0.0
    for index, (b0, b1) in enumerate(bands):
        overlap = min(x1, b1) - max(x0, b0)
        if overlap > best_overlap:
            best, best_overlap = index, overlap
    if best is not None:
        return best
    return min(range(len(bands)), key=lambda i: abs((bands[i][0] + bands[i][1]) / 2 - center))


def _merge_wrapped_rows(rows: list[list[Cell]], lines: list[_Line]) -> list[list[Cell]]:
    """A row without numbers whose text continues a label of a neighbouring data row is merged into it
    (pdfplumber-style row splitting of multi-line Chinese cells)."""
    numeric_cols = set()
    for row in rows:
        for col, cell in enumerate(row):
            if cell.text and _is_number(cell.text):
                numeric_cols.add(col)
    has_number = [any(cell.text and _is_number(cell.text) for cell in row) for row in rows]
    first_data = next((i for i, flag in enumerate(has_number) if flag), len(rows))
    merged_rows: list[list[Cell]] = []
    merged_lines: list[_Line] = []
    index = 0
    pitches = [b.top - a.top for a, b in itertools.pairwise(lines) if b.top > a.top]
    pitch = statistics.median(pitches) if pitches else 0.0
    while index < len(rows):
        row, line = rows[index], lines[index]
        texts = [cell.text for cell in row if cell.text]
        continuation = (
            index > first_data
            and not has_number[index]
            and texts
            and all(not row[col].text for col in numeric_cols)
            and not _ENUMERATED.match(texts[0])
        )
        if continuation and merged_rows:
            prev_line = merged_lines[-1]
            next_gap = lines[index + 1].top - line.bottom if index + 1 < len(rows) else None
            prev_gap = line.top - prev_line.bottom
            into_next = (
                next_gap is not None
                and has_number[index + 1]
                and next_gap < prev_gap - 0.5
                and not _ENUMERATED.match(rows[index + 1][0].text or "x")
            )
            tight = (min(prev_gap, next_gap) if next_gap is not None else prev_gap) < max(pitch * 0.6, line.height)
            if tight and not into_next:
                _append_cells(merged_rows[-1], row, after=True)
                index += 1
                continue
            if tight and into_next:
                _append_cells(rows[index + 1], row, after=False)
                index += 1
                continue
        merged_rows.append(row)
        merged_lines.append(line)
        index += 1
    return merged_rows


def _append_cells(target: list[Cell], extra: list[Cell], after: bool) -> None:
    for col, cell in enumerate(extra):
        if not cell.text or col >= len(target):
            continue
        dest = target[col]
        if after:
            dest.raw = f"{dest.raw}\n{cell.raw}" if dest.raw else cell.raw
            dest.text = normalize_text(_join_wrapped([dest.text, cell.text]))
        else:
            dest.raw = f"{cell.raw}\n{dest.raw}" if dest.raw else cell.raw
            dest.text = normalize_text(_join_wrapped([cell.text, dest.text]))
        if cell.bbox and dest.bbox:
            dest.bbox = (
                min(dest.bbox[0], cell.bbox[0]),
                min(dest.bbox[1], cell.bbox[1]),
                max(dest.bbox[2], cell.bbox[2]),
                max(dest.bbox[3], cell.bbox[3]),
            )
        elif cell.bbox:
            dest.bbox = cell.bbox


def _adopt_orphan_rows(page: _Page) -> None:
    """Rows that lost their border (the first row on a continuation page, the last row before a page break)
    sit right above/below a ruled table as page text: lines aligned with the table's columns and carrying a
    number in a numeric column are taken back into the grid."""
    for table in page.tables:
        if table.kind != "ruled" or not table.columns:
            continue
        numeric_cols = _numeric_columns(table)
        for below in (False, True):
            run = _orphan_run(page, table, below)
            if not run:
                continue
            rows = _orphan_rows(run, table, numeric_cols)
            if not rows:
                continue
            consumed = {id(line) for line in run}
            page.lines = [line for line in page.lines if id(line) not in consumed]
            if below:
                table.rows.extend(rows)
                table.bbox = (table.bbox[0], table.bbox[1], table.bbox[2], max(line.bottom for line in run))
            else:
                table.rows[:0] = rows
                table.bbox = (table.bbox[0], min(line.top for line in run), table.bbox[2], table.bbox[3])
            for r, row in enumerate(table.rows):
                for c, cell in enumerate(row):
                    cell.row, cell.col = r, c


def _spilled_rows(previous: _Page, page: _Page) -> None:
    """The last row(s) of a table pushed onto the next page without any border of their own: lines at the
    top of the page that line up with the columns of the table ending the previous page become a
    continuation piece with the same columns (title "")."""
    if not previous.tables or not page.lines:
        return
    last = max(previous.tables, key=lambda t: t.bottom)
    if last.kind != "ruled" or not last.columns or any(line.top > last.bottom for line in previous.lines):
        return
    first_table_top = min((t.top for t in page.tables), default=page.height)
    x0, _top, x1, _bottom = last.bbox
    run: list[_Line] = []
    for line in sorted(page.lines, key=lambda ln: ln.top):
        if line.top >= first_table_top:
            break
        text = line.text
        if (
            not text
            or "。" in text
            or line.x0 < x0 - 3
            or line.x1 > x1 + 3
            or _is_unit_line(text)
            or _TITLE_WORD.search(text)
            or _NOTE_LINE.search(text)
            or (run and line.top - run[-1].bottom > 3 * line.height)
            or len(run) >= 12
        ):
            break
        run.append(line)
    if not run:
        return
    rows = _orphan_rows(run, last, _numeric_columns(last))
    if not rows:
        return
    # every line of the run must have been placed in a row
    table = _Table(
        rows=rows,
        bbox=(x0, min(line.top for line in run), x1, max(line.bottom for line in run)),
        kind="ruled",
        columns=list(last.columns),
    )
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row):
            cell.row, cell.col, cell.page = r, c, page.number
    consumed = {id(line) for line in run}
    page.lines = [line for line in page.lines if id(line) not in consumed]
    page.tables.append(table)


def _numeric_columns(table: _Table) -> set[int]:
    """Columns where numbers are the majority of the filled cells, or that are empty on this piece."""
    width = max((len(row) for row in table.rows), default=0)
    result = set()
    for col in range(width):
        texts = [row[col].text for row in table.rows if col < len(row) and row[col].text]
        numbers = sum(1 for text in texts if _is_number(text))
        if not texts or numbers * 2 > len(texts):
            result.add(col)
    return result


def _orphan_run(page: _Page, table: _Table, below: bool) -> list[_Line]:
    x0, _top, x1, _bottom = table.bbox
    others = [t for t in page.tables if t is not table]
    candidates = [
        line
        for line in page.lines
        if line.x0 >= x0 - 3
        and line.x1 <= x1 + 3
        and (line.top >= table.bottom - 1 if below else line.bottom <= table.top + 1)
        and not any(t.top - 1 <= line.mid <= t.bottom + 1 for t in others)
    ]
    candidates.sort(key=lambda line: line.top, reverse=not below)
    run: list[_Line] = []
    edge = table.bottom if below else table.top
    for line in candidates:
        gap = (line.top - edge) if below else (edge - line.bottom)
        if gap > 1.2 * line.height or len(run) >= 4:
            break
        text = line.text
        if (
            not text
            or "。" in text
            or _is_unit_line(text)
            or _TITLE_WORD.search(text)
            or _NOTE_LINE.search(text)
            or _TABLE_NUMBER.match(text)
        ):
            break
        run.append(line)
        edge = line.bottom if below else line.top
    run.sort(key=lambda line: line.top)
    return run


def _column_for(table: _Table, segment: _Segment) -> int:
    best, best_overlap = -1, 0.0
    for col, (c0, c1) in enumerate(table.columns):
        overlap = min(segment.x1, c1) - max(segment.x0, c0)
        if overlap > best_overlap:
            best, best_overlap = col, overlap
    return best


def _orphan_rows(run: list[_Line], table: _Table, numeric_cols: set[int]) -> list[list[Cell]]:
    width = len(table.columns)
    placed: list[tuple[_Line, list[tuple[int, _Segment]]]] = []
    anchors: list[int] = []
    for index, line in enumerate(run):
        cols = [(_column_for(table, segment), segment) for segment in line.segments]
        if any(col < 0 for col, _segment in cols):
            return []
        placed.append((line, cols))
        if any(col in numeric_cols and _is_number(segment.text) for col, segment in cols):
            anchors.append(index)
    if not anchors:
        if not _wrapped_fragment(run, table, placed):
            return []
        anchors = [0]
    groups: dict[int, list[int]] = {anchor: [] for anchor in anchors}
    for index, (line, _cols) in enumerate(placed):
        nearest = min(anchors, key=lambda a: abs(run[a].mid - line.mid))
        groups[nearest].append(index)
    rows: list[list[Cell]] = []
    page = table.rows[0][0].page if table.rows and table.rows[0] else None
    for anchor in anchors:
        parts: list[list[str]] = [[] for _ in range(width)]
        boxes: list[list[float] | None] = [None] * width
        for index in groups[anchor]:
            line, cols = placed[index]
            for col, segment in cols:
                parts[col].append(segment.text)
                box = boxes[col]
                boxes[col] = (
                    [segment.x0, line.top, segment.x1, line.bottom]
                    if box is None
                    else [min(box[0], segment.x0), min(box[1], line.top), max(box[2], segment.x1), max(box[3], line.bottom)]
                )
        row = []
        for col in range(width):
            raw = "\n".join(parts[col])
            box = boxes[col]
            row.append(
                Cell(
                    text=normalize_text(_CID.sub("", _join_wrapped(parts[col]))),
                    raw=raw,
                    page=page,
                    bbox=(round(box[0], 2), round(box[1], 2), round(box[2], 2), round(box[3], 2)) if box else None,
                )
            )
        rows.append(row)
    return rows


def _wrapped_fragment(run: list[_Line], table: _Table, placed: list[tuple[_Line, list[tuple[int, _Segment]]]]) -> bool:
    """Text-only lines hugging the table whose every part fits inside one column: the tail of a cell wrapped
    across the page break ("信息网络及软件购" | "置更新"), not a title (titles span the table, with a gap)."""
    if len(run) > 2 or len(table.columns) < 2:
        return False
    nearest = min(min(abs(line.top - table.bottom), abs(table.top - line.bottom)) / max(line.height, 1.0) for line in run)
    if nearest > 0.6:
        return False
    for line, cols in placed:
        if len(line.text) > 12:
            return False
        for col, segment in cols:
            c0, c1 = table.columns[col]
            if segment.x0 < c0 - 2 or segment.x1 > c1 + 2:
                return False
    return True


def _is_unit_line(text: str) -> bool:
    return bool(_UNIT_LINE.search(text)) and len(text) < 80
