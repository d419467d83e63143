"""“三公”经费 tables, column-oriented (one row per unit) or row-oriented (one row per item)."""

from __future__ import annotations

from yusuan.model import Provenance, Record, Sangong

from ..numbers import is_number_cell
from ..table import Column, Table
from .base import BuildContext, Recognizer, register, strip_numbering, title_kind
from .coded_lines import MEASURES, measure_groups

FIELDS = ("total", "overseas", "vehicle_total", "vehicle_purchase", "vehicle_operation", "reception")


def field_for(label: str, leaf: str) -> str | None:
    """Map a header (or row label) to a 三公 field; None for 机关运行经费, 会议费, 培训费 and unrelated columns."""
    if any(word in label for word in ("机关运行", "会议", "培训")) and "三公" not in leaf:
        return None
    if "出国" in leaf:
        return "overseas" if "教学科研" not in leaf and "其他因公" not in leaf else None
    if "接待" in leaf:
        return "reception"
    if "车" in label:
        if "购置" in leaf and "运行" not in leaf:
            return "vehicle_purchase"
        if "运行" in leaf and "购置" not in leaf:
            return "vehicle_operation"
        if leaf in ("小计", "合计") or ("购置" in leaf and "运行" in leaf) or "运维" in leaf:
            return "vehicle_total"
    if "三公" in leaf or ("三公" in label and leaf in ("小计", "合计")):
        return "total"
    return None


@register
class SangongRecognizer(Recognizer):
    table_kind = "三公经费表"

    def score(self, table: Table) -> float:
        if title_kind(table.title) == "三公经费表":
            return 2.0
        if table.find("因公出国") is not None and table.find("接待") is not None:
            return 1.5
        return 0.0

    def build(self, table: Table, ctx: BuildContext) -> list[Record]:
        if self._row_oriented(table):
            return self._build_row_oriented(table, ctx)
        return self._build_column_oriented(table, ctx)

    @staticmethod
    def _row_oriented(table: Table) -> bool:
        labels = [cell.text for row in table.rows for cell in row if cell.text and not is_number_cell(cell.text)]
        return any("因公出国" in text for text in labels) and any("接待" in text for text in labels)

    def _build_column_oriented(self, table: Table, ctx: BuildContext) -> list[Record]:
        # 合计 includes 会议费/培训费 (Jiangsu) or 机关运行经费 when those columns are printed beside 三公.
        total_is_mixed = table.find("会议", "培训", "机关运行") is not None
        groups = {
            measure: _fields(columns, total_is_mixed)
            for measure, columns in measure_groups(table, table.columns).items()
        }
        mapped = {column.index for fields in groups.values() for column in fields.values()}
        name_col = table.find("单位", "项目", leaf=True) or next(
            (c for c in table.columns if c.index not in mapped and _is_text_column(table, c)), None
        )
        records: list[Record] = []
        for measure, fields in groups.items():
            if not fields:
                continue
            for row in table.rows:
                unit_name = table.text(row, name_col).replace(" ", "") if name_col else ""
                if not any(table.text(row, column) for column in fields.values()) and not unit_name:
                    continue
                if not unit_name or unit_name in ("**",):
                    unit_name = "合计"
                record = Sangong(unit_name=unit_name, measure=measure, provenance=ctx.provenance(row, table.cell(row, name_col)))
                for field, column in fields.items():
                    value, source = ctx.money(table, table.cell(row, column))
                    setattr(record, field, value)
                    if source:
                        record.values[field] = source
                records.append(self.stamp(record, table))
        return records

    def _build_row_oriented(self, table: Table, ctx: BuildContext) -> list[Record]:
        amount_col = next((c for c in table.columns if c.leaf_has("合计", "金额", "预算数", "决算数")), None)
        record = Sangong(unit_name="合计", provenance=Provenance(source=ctx.source))
        first_row = None
        fallback_total = None
        for row in table.rows:
            label_cell = next((cell for cell in row if cell.text and not is_number_cell(cell.text)), None)
            if label_cell is None:
                continue
            label = strip_numbering(label_cell.text.replace("其中:", "").replace("其中：", "").strip())
            amount_cell = table.cell(row, amount_col) if amount_col else None
            if amount_col is None:
                amount_cell = next((c for c in row if c.col is not None and c.col > (label_cell.col or 0)), None)
            value, source = ctx.money(table, amount_cell)
            field = field_for(label, label)
            if field is None and label in ("合计", "总计"):
                fallback_total = (value, source, row)
                continue
            if field is None or field in record.values or getattr(record, field) is not None:
                continue
            setattr(record, field, value)
            if source:
                record.values[field] = source
            first_row = first_row or row
        if record.total is None and fallback_total is not None:
            record.total, source, row = fallback_total
            if source:
                record.values["total"] = source
            first_row = row
        if first_row is None:
            return []
        record.provenance = ctx.provenance(first_row)
        return [self.stamp(record, table)]


def _field_leaf(column: Column) -> str:
    """The header part naming what a column holds: under 预算数/决算数 leaves that is the part above."""
    if column.name in MEASURES and len(column.path) > 1:
        return column.path[-2]
    return column.name


def _fields(columns: list[Column], total_is_mixed: bool) -> dict[str, Column]:
    fields: dict[str, Column] = {}
    total_candidate: Column | None = None
    for column in columns:
        leaf = _field_leaf(column)
        field = field_for(column.label, leaf)
        if field and field not in fields:
            fields[field] = column
        if "合计" in leaf and total_candidate is None and not column.has("车"):
            total_candidate = column
    if "total" not in fields and total_candidate is not None and (not total_is_mixed or total_candidate.has("三公")):
        fields["total"] = total_candidate
    return fields


def _is_text_column(table: Table, column: Column) -> bool:
    texts = [table.text(row, column) for row in table.rows if table.text(row, column)]
    return bool(texts) and not any(is_number_cell(text) for text in texts)
