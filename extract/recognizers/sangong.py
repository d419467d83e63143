"""“三公”经费 tables in any orientation.

The items (因公出国(境)费, 公务用车购置及运行费 and its two parts, 公务接待费, the 三公 total) are read through the shared
thesaurus wherever they are printed: across the columns (one row per unit, year or measure) or down the rows (one
column per amount, year, measure or funding source). Header parts that name no item say which block a figure belongs
to: a measure (预算数 / 决算数), a year (an earlier year than the table's latest is the prior year's figure, not the
budget year's), a change (增减: not a figure of its own) or a funding source (the item's own total is preferred over
its 财政拨款 / 其他资金 split). A 合计 that also counts other items (会议费, 培训费, 机关运行经费) is not the 三公 total.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from yusuan.model import Cell, Record, Sangong

from ..numbers import is_number_cell
from ..table import Column, Table
from .base import BuildContext, Recognizer, register, table_measure, title_kind
from .labels import Part, latest_year, read_part

_VEHICLE_PARTS = ("vehicle_purchase", "vehicle_operation")


def item_of(parts: list[Part]) -> str | None:
    """The 三公 field a header path or a row label (with the item above it) names: the deepest item, a sum under an item
    is that item, and a part named under 公务用车购置及运行费 is one of its two parts (购置费 / 运行费)."""
    found: str | None = None
    for part in parts:
        if part.item:
            found = part.item
        elif found == "vehicle_total":
            found = vehicle_part(part) or found
    return found


def vehicle_part(part: Part) -> str | None:
    """'购置费' / '运行维护费' printed under (or after) 公务用车购置及运行费: that item's part."""
    qualified = read_part("公务用车" + part.text).item if part.other else None
    return qualified if qualified in _VEHICLE_PARTS else None


@dataclass
class Block:
    """The figures of one measure (and year) in the table."""

    measure: str
    year: int | None
    columns: dict[str, tuple[tuple[int, int], Column]] = field(default_factory=dict)  # field → (preference, column)
    sum_column: tuple[int, Column] | None = None  # a 合计 column that names no item (header depth, column)
    mixed: bool = False  # other items are printed beside the 三公 items


@dataclass(frozen=True)
class BlockKey:
    measure: str | None
    year: int | None
    prior: bool

    @classmethod
    def of(cls, parts: list[Part]) -> BlockKey:
        """Measure and year from the parts that name nothing else (not '一般公共预算', a funding source)."""
        plain = [part for part in parts if not part.other]
        return cls(
            measure=next((part.measure for part in plain if part.measure), None),
            year=next((part.year for part in plain if part.year), None),
            prior=any(part.prior for part in plain),
        )


def spread(keys: list[BlockKey], default_measure: str) -> list[list[BlockKey]]:
    """The blocks each column belongs to. A column whose header names no measure (or year) takes the one the other
    columns name, or belongs to each of them when they name several ('合计' beside '预算数 | 决算数')."""
    measures = sorted({key.measure for key in keys if key.measure}) or [default_measure]
    years = sorted({key.year for key in keys if key.year}) or [None]
    return [
        [BlockKey(measure, year, key.prior) for measure in ([key.measure] if key.measure else measures)
         for year in ([key.year] if key.year else years)]
        for key in keys
    ]


def measure_name(measure: str, year: int | None, prior: bool, latest_year: int | None) -> str:
    if prior or (year is not None and latest_year is not None and year < latest_year):
        return measure if measure.startswith("上年") else "上年" + measure
    return measure


@register
class SangongRecognizer(Recognizer):
    table_kind = "三公经费表"

    def score(self, table: Table) -> float:
        if title_kind(table.title) == "三公经费表":
            return 2.0
        if len(self._column_items(table)) >= 2:
            return 1.5
        if {"overseas", "reception"} <= set(self._row_items(table)):
            return 1.2
        return 0.0

    def build(self, table: Table, ctx: BuildContext) -> list[Record]:
        across, down = len(self._column_items(table)), len(set(self._row_items(table)))
        if across >= 2 or (across and down < 2):
            return self._build_items_across(table, ctx)
        return self._build_items_down(table, ctx)

    # ------------------------------------------------------------------ reading the layout

    @staticmethod
    def _column_items(table: Table) -> set[str]:
        return {item for column in table.columns if (item := item_of([read_part(p) for p in column.path]))}

    @staticmethod
    def _row_items(table: Table) -> list[str]:
        found = []
        for row in table.rows:
            label = _row_label(row)
            if label is not None and (item := read_part(label.text).item):
                found.append(item)
        return found

    @staticmethod
    def _latest_year(table: Table) -> int | None:
        texts = [table.title, *(column.label for column in table.columns)]
        return latest_year(texts + [cell.text for row in table.rows for cell in row if not is_number_cell(cell.text)])

    def _blocks(self, table: Table, columns: list[Column]) -> list[Block]:
        """Columns grouped by measure and year; within a block each field takes its most direct column."""
        parsed = [(column, [read_part(p) for p in column.path]) for column in columns]
        parsed = [(column, parts) for column, parts in parsed if not any(part.change for part in parts)]
        keys = [BlockKey.of(parts) for _, parts in parsed]
        blocks: dict[BlockKey, Block] = {}
        for (column, parts), shared_keys in zip(parsed, spread(keys, table_measure(table)), strict=True):
            for key in shared_keys:
                block = blocks.setdefault(key, Block(measure=measure_name(key.measure, None, key.prior, None), year=key.year))
                item = item_of(parts)
                if item is None:
                    named = [part for part in parts if part.sums or part.other]  # what the column holds, then its split
                    if named and named[0].other:
                        block.mixed = True
                    elif named and (block.sum_column is None or len(named) < block.sum_column[0]):
                        block.sum_column = (len(named), column)
                    continue
                deepest = max(i for i, part in enumerate(parts) if part.item)
                is_share = item == item_of(parts[: deepest + 1]) and any(part.other for part in parts[deepest + 1 :])
                # the item's own column before a funding source's share of it, a column of this block before a shared one
                preference = (int(is_share), int(len(shared_keys) > 1))
                if item not in block.columns or preference < block.columns[item][0]:
                    block.columns[item] = (preference, column)
        return list(blocks.values())

    # ------------------------------------------------------------------ items across the columns

    def _build_items_across(self, table: Table, ctx: BuildContext) -> list[Record]:
        money = [column for column in table.columns if not _is_text_column(table, column)]
        blocks = [block for block in self._blocks(table, money) if block.columns]
        latest = self._latest_year(table)
        mapped_columns = [column for block in blocks for _, column in block.columns.values()]
        name_col = next((c for c in table.columns if _is_text_column(table, c)), None)
        records: list[Record] = []
        for row in table.rows:
            label_cell = table.cell(row, name_col)
            label = read_part(label_cell.text) if label_cell is not None else Part("")
            if label.change:
                continue
            if label.other:  # a unit's row
                row_block, unit_name = Part(""), label.text
            else:  # a row of one year or measure (上年 / 2026年预算数), the 合计 row or the one unlabelled row
                row_block, unit_name = label, "合计"
            if not label.text and not any(table.text(row, column) for column in mapped_columns):
                continue
            for block in blocks:
                cells = {item: table.cell(row, column) for item, (_, column) in block.columns.items()}
                measure = row_block.measure if row_block.measure and block.measure == table_measure(table) else block.measure
                record = Sangong(
                    unit_name=unit_name, measure=measure_name(measure, block.year or row_block.year, row_block.prior, latest),
                    provenance=ctx.provenance(row, label_cell if label.text else None),
                )
                if "total" not in cells and block.sum_column is not None and not block.mixed:
                    cells["total"] = table.cell(row, block.sum_column[1])
                self._fill(record, table, cells, ctx)
                records.append(self.stamp(record, table))
        if not table.rows and blocks:
            records.append(self._blank_record(table, ctx))
        return records

    # ------------------------------------------------------------------ items down the rows

    def _build_items_down(self, table: Table, ctx: BuildContext) -> list[Record]:
        latest = self._latest_year(table)
        label_col = next((c for c in table.columns if _is_text_column(table, c)), None)
        money = [c for c in table.columns if c is not label_col and c.index > (label_col.index if label_col else -1)]
        blocks = self._amount_blocks(table, money)
        items: list[tuple[str, list[Cell]]] = []
        sum_rows: list[list[Cell]] = []
        mixed = False
        parent: str | None = None  # 公务用车购置及运行费, whose parts follow as 购置费 / 运行费
        for row in table.rows:
            label_cell = table.cell(row, label_col) if label_col else _row_label(row)
            if label_cell is None or not label_cell.text:
                continue
            part = read_part(label_cell.text)
            item = part.item or (vehicle_part(part) if parent == "vehicle_total" else None)
            if item is None:
                if part.sums:
                    sum_rows.append(row)
                mixed = mixed or part.other
                continue
            if item == "vehicle_total":
                parent = item
            elif item not in _VEHICLE_PARTS:
                parent = None
            if item not in (name for name, _ in items):
                items.append((item, row))
        if not items:
            return []
        if "total" not in (name for name, _ in items) and sum_rows and not mixed:
            items.append(("total", sum_rows[0]))
        first_row = items[0][1]
        records: list[Record] = []
        for measure, year, column in blocks:
            record = Sangong(unit_name="合计", measure=measure_name(measure, year, False, latest),
                             provenance=ctx.provenance(first_row))
            self._fill(record, table, {item: table.cell(row, column) for item, row in items}, ctx)
            records.append(self.stamp(record, table))
        return records

    def _amount_blocks(self, table: Table, columns: list[Column]) -> list[tuple[str, int | None, Column]]:
        """One amount column per measure and year: its 合计 / 金额 column, else its first column (funding sources
        split the amount to the right of it)."""
        used = [column for column in columns if column.name or any(table.text(row, column) for row in table.rows)]
        parsed = [(column, [read_part(p) for p in column.path]) for column in used]
        parsed = [(column, parts) for column, parts in parsed if not any(part.change for part in parts)]
        keys = [BlockKey.of(parts) for _, parts in parsed]
        chosen: dict[BlockKey, tuple[tuple[int, int], Column]] = {}
        for (column, parts), shared_keys in zip(parsed, spread(keys, table_measure(table)), strict=True):
            leaf = parts[-1] if parts else Part("")
            for key in shared_keys:
                preference = (int(leaf.other), int(len(shared_keys) > 1))
                if key not in chosen or preference < chosen[key][0]:
                    chosen[key] = (preference, column)
        return [(measure_name(key.measure, None, key.prior, None), key.year, column) for key, (_, column) in chosen.items()]

    # ------------------------------------------------------------------ records

    @staticmethod
    def _fill(record: Sangong, table: Table, cells: dict[str, Cell | None], ctx: BuildContext) -> None:
        for item, cell in cells.items():
            value, source = ctx.money(table, cell)
            setattr(record, item, value)
            if source:
                record.values[item] = source

    def _blank_record(self, table: Table, ctx: BuildContext) -> Record:
        """A 三公 table printed with its header and no figures: one 合计 record with blank fields."""
        anchor = table.header_rows[0] if table.header_rows else [Cell(text="", raw="", page=table.grid.page)]
        return self.stamp(Sangong(unit_name="合计", measure=table_measure(table), provenance=ctx.provenance(anchor)), table)


def _row_label(row: list[Cell]) -> Cell | None:
    return next((cell for cell in row if cell.text and not is_number_cell(cell.text)), None)


def _is_text_column(table: Table, column: Column) -> bool:
    texts = [table.text(row, column) for row in table.rows if table.text(row, column)]
    return bool(texts) and not any(is_number_cell(text) for text in texts)
