"""From a raw grid to a table with named columns: meta rows, multi-row headers, column-number rows, ragged rows."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace

from yusuan.model import Block, Cell, Grid

from .numbers import is_number_cell, stated_unit

_META_CELL = re.compile(r"^(单位|金额单位|预算年度|截止时间|填报单位|编制单位|部门[:：]|单位名称[:：])|^\d{3,}(?![\d年])[\u4e00-\u9fff]")
_YEAR_CELL = re.compile(r"^(?:19|20)\d{2}\s*年?度?$")
_YEAR_LINE = re.compile(r"^[\s“”\"]*((?:19|20)\d{2})[\s“”\"]*$")  # '2026   “”': the year and quotes of a title
_COLUMN_NUMBER_LABELS = {"", "栏次", "**", "*", "序号", "行次", "栏"}
_TITLE_END = re.compile(r"表(?:[(（][一二三四五六七八九十\d]+[)）])?$")


@dataclass
class Column:
    index: int
    path: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.path[-1] if self.path else ""

    @property
    def label(self) -> str:
        return "/".join(self.path)

    def has(self, *keywords: str) -> bool:
        return any(keyword in part for part in self.path for keyword in keywords)

    def leaf_has(self, *keywords: str) -> bool:
        return any(keyword in self.name for keyword in keywords)


@dataclass
class Table:
    grid: Grid
    title: str
    unit: str | None
    columns: list[Column]
    header_rows: list[list[Cell]]
    rows: list[list[Cell]]
    meta: list[str] = field(default_factory=list)
    continued_from: list[Grid] = field(default_factory=list)
    folded: bool = False  # printed in two halves side by side, stacked into one column set

    def continue_with(self, grid: Grid, rows: list[list[Cell]]) -> None:
        """Rows of a continuation piece on a later page (folded like the first piece)."""
        self.rows.extend(_fold_rows(rows, self.width) if self.folded else rows)
        self.continued_from.append(grid)

    @property
    def width(self) -> int:
        return len(self.columns)

    @property
    def printed_width(self) -> int:
        return self.width * 2 if self.folded else self.width

    @property
    def header_text(self) -> str:
        return " ".join(column.label for column in self.columns)

    @property
    def context_text(self) -> str:
        return " ".join([self.title, *self.meta, *(note.text for note in self.grid.note)])

    def find(self, *keywords: str, leaf: bool = False, exclude: tuple[str, ...] = ()) -> Column | None:
        for column in self.columns:
            matched = column.leaf_has(*keywords) if leaf else column.has(*keywords)
            if matched and not column.has(*exclude):
                return column
        return None

    def cell(self, row: list[Cell], column: Column | None) -> Cell | None:
        if column is None or column.index >= len(row):
            return None
        return row[column.index]

    def text(self, row: list[Cell], column: Column | None) -> str:
        cell = self.cell(row, column)
        return cell.text if cell else ""


def is_column_number_row(row: list[Cell]) -> bool:
    """'栏次 1 2 3 …' or '** ** 1 2 …' rows that number the columns."""
    texts = [cell.text for cell in row]
    if not any(texts):
        return False
    numbers = []
    for text in texts:
        if text in _COLUMN_NUMBER_LABELS:
            continue
        if not text.isdigit():
            return False
        numbers.append(int(text))
    return bool(numbers) and numbers == list(range(numbers[0], numbers[0] + len(numbers))) and numbers[0] <= 1


_CODE_PARTS = ("类", "款", "项")


def _has_code_part_labels(row: list[Cell]) -> bool:
    """Some 决算 forms print the 类 | 款 | 项 header cells in the 合计 row: 类 | 款 | 项 | 合计 | 2,940.05 …"""
    return [cell.text for cell in row[:2]] == list(_CODE_PARTS[:2])


def _code_part_labels(row: list[Cell]) -> list[Cell]:
    return [cell if cell.text in _CODE_PARTS else Cell(text="", raw="", line=cell.line, page=cell.page) for cell in row]


def _is_meta_row(row: list[Cell]) -> bool:
    """'单位名称：… | 单位：万元' rows above the header; a year printed beside them ('2026') belongs to them."""
    texts = [cell.text for cell in row if cell.text]
    meta = [text for text in texts if _META_CELL.search(text)]
    return bool(meta) and all(text in meta or _YEAR_CELL.match(text) for text in texts)


def table_grids(blocks: list[Block]) -> list[Grid]:
    """The table grids of a document in order. A grid ingest left untitled takes the title-like line printed above
    it since the previous table ('年部门收支总体情况表' above '2026' and a unit line), with a year printed apart."""
    grids: list[Grid] = []
    since_table: list[Block] = []
    for block in blocks:
        if block.kind != "table" or block.grid is None:
            since_table.append(block)
            continue
        grid = block.grid
        if not grid.title:
            grid = _titled(grid, since_table)
        grids.append(grid)
        since_table = []
    return grids


def _titled(grid: Grid, above: list[Block]) -> Grid:
    lines = [line for block in above[-6:] for line in block.lines if line.page == grid.page and line.text.strip()]
    title_index = next((i for i in range(len(lines) - 1, -1, -1) if _TITLE_END.search(lines[i].text.replace(" ", ""))), None)
    if title_index is None or len(lines[title_index].text) > 60:
        return grid
    title_line = lines[title_index]
    title = title_line.text.replace(" ", "")
    printed = [line.text for line in lines + grid.context] + [cell.text for cell in (grid.rows[0] if grid.rows else [])]
    year = next((match.group(1) for text in printed if (match := _YEAR_LINE.match(text))), None)
    if year and title.startswith("年"):
        title = year + title
    return replace(grid, title=title, title_line=title_line)


def _is_data_row(row: list[Cell]) -> bool:
    return any(is_number_cell(cell.text) for cell in row) and not is_column_number_row(row)


def prepare(grid: Grid, max_header_rows: int = 4) -> Table:
    rows = [row for row in grid.rows if any(cell.text for cell in row)]
    meta: list[str] = [line.text for line in grid.context]
    while rows and _is_meta_row(rows[0]):
        meta.extend(cell.text for cell in rows[0] if cell.text)
        rows = rows[1:]

    header: list[list[Cell]] = []
    body_start = 0
    for index, row in enumerate(rows):
        if _is_data_row(row) or index >= max_header_rows:
            body_start = index
            break
        if not is_column_number_row(row):
            header.append(row)
        body_start = index + 1
    body = [row for row in rows[body_start:] if not is_column_number_row(row)]
    if body and _has_code_part_labels(body[0]):
        header.append(_code_part_labels(body[0]))
        body[0] = [Cell(text="", raw="", line=c.line, page=c.page, row=c.row, col=c.col) if c.text in _CODE_PARTS else c
                   for c in body[0]]

    width = max([len(row) for row in body + header] or [0])
    body = _merge_ragged_rows(body, width, grid.source_layout)
    columns = compose_columns(header, width)
    body = [_pad(row, width) for row in body]
    folded = _is_side_by_side(columns)
    if folded:
        columns, body = columns[: width // 2], _fold_rows(body, width // 2)
    unit = None
    for text in [grid.title, *meta, *(cell.text for row in header for cell in row)]:
        unit = unit or stated_unit(text)
    return Table(
        grid=grid, title=grid.title, unit=unit, columns=columns, header_rows=header, rows=body, meta=meta, folded=folded
    )


def _is_side_by_side(columns: list[Column]) -> bool:
    """经济分类 tables printed in two halves (301/303 left, 302/310 right) under the same coded header twice."""
    half = len(columns) // 2
    if half < 2 or len(columns) != 2 * half:
        return False
    left, right = columns[:half], columns[half:]
    return [c.path for c in left] == [c.path for c in right] and any(c.has("编码", "代码") for c in left)


def _fold_rows(rows: list[list[Cell]], half: int) -> list[list[Cell]]:
    return [row[:half] for row in rows] + [row[half:] for row in rows if any(cell.text for cell in row[half:])]


def _pad(row: list[Cell], width: int) -> list[Cell]:
    if len(row) >= width:
        return row
    template = row[-1] if row else Cell(text="", raw="")
    filler = [
        Cell(text="", raw="", line=template.line, page=template.page, row=template.row, col=len(row) + i)
        for i in range(width - len(row))
    ]
    return row + filler


def _merge_ragged_rows(rows: list[list[Cell]], width: int, layout: str) -> list[list[Cell]]:
    """Cell-per-line conversions sometimes break one row in two (a blank line inside a cell)."""
    if layout != "cell-per-line" or not rows:
        return rows
    common = Counter(len(row) for row in rows).most_common(1)[0][0]
    merged: list[list[Cell]] = []
    index = 0
    while index < len(rows):
        row = rows[index]
        if len(row) < common and index + 1 < len(rows) and len(row) + len(rows[index + 1]) == common:
            merged.append(row + rows[index + 1])
            index += 2
            continue
        merged.append(row)
        index += 1
    return merged


def compose_columns(header: list[list[Cell]], width: int) -> list[Column]:
    """Column paths from stacked header rows.

    A header row as wide as the table is positional: an empty cell beside a label continues that label's span while
    a lower header row names the column ('2025年预算数' over 合计 | 因公出国(境)费 | …); a column named by no lower row
    is one whose own label sits higher up, so the span ends there. A narrower row (cell-per-line conversions drop
    the empty span cells) is assigned in order: each empty leaf takes one label, each run of non-empty leaves shares
    one label.
    """
    paths: list[list[str]] = [[] for _ in range(width)]
    if not header:
        return [Column(i, ()) for i in range(width)]
    leaf = [cell.text for cell in header[-1]] + [""] * max(0, width - len(header[-1]))
    leaf = leaf[:width] if width else leaf
    span_starts: set[int] = set()  # a label spans right only inside the span of the label above it
    for depth, row in enumerate(header[:-1]):
        labels = [cell.text for cell in row]
        if len(row) >= width:
            below = [[cell.text for cell in lower] + [""] * max(0, width - len(lower)) for lower in header[depth + 1 :]]
            current = ""
            for i in range(width):
                text = labels[i]
                if text:
                    current = text
                elif i in span_starts or not any(lower[i] for lower in below):
                    current = ""
                if current:
                    paths[i].append(current)
            span_starts.update(i for i in range(width) if labels[i])
            continue
        units = _leaf_units(leaf)
        if len(units) == len(labels):
            for unit, label in zip(units, labels, strict=True):
                for i in unit:
                    if label:
                        paths[i].append(label)
    columns = []
    for i in range(width):
        path = paths[i] + ([leaf[i]] if leaf[i] else [])
        deduped: list[str] = []
        for part in path:
            if not deduped or deduped[-1] != part:
                deduped.append(part)
        columns.append(Column(i, tuple(deduped)))
    return columns


def _leaf_units(leaf: list[str]) -> list[list[int]]:
    units: list[list[int]] = []
    run: list[int] = []
    for i, text in enumerate(leaf):
        if text:
            run.append(i)
            continue
        if run:
            units.append(run)
            run = []
        units.append([i])
    if run:
        units.append(run)
    return units
