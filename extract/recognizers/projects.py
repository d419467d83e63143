"""项目支出表 and 重点项目表: one record per project with its funding columns."""

from __future__ import annotations

from yusuan.model import Project, Provenance, Record

from ..numbers import is_number_cell
from ..table import Table
from .base import BuildContext, Recognizer, register, title_kind


@register
class ProjectTableRecognizer(Recognizer):
    table_kind = "项目支出表"

    def score(self, table: Table) -> float:
        kind = title_kind(table.title)
        if kind in ("项目支出表", "重点项目表"):
            return 2.0
        if kind is None and table.find("项目名称") is not None and table.find("一级指标", "指标值") is None:
            return 0.8
        return 0.0

    def build(self, table: Table, ctx: BuildContext) -> list[Record]:
        kind = title_kind(table.title) or "项目支出表"
        name_col = table.find("项目名称", leaf=True) or table.find("项目名称")
        if name_col is None:
            return []
        unit_col = table.find("单位名称", leaf=True)
        category_col = table.find("一级项目", leaf=True) if name_col is not table.find("一级项目", leaf=True) else None
        money_cols = [
            c for c in table.columns
            if c.index not in {name_col.index, unit_col.index if unit_col else -1}
            and any(is_number_cell(table.text(row, c)) for row in table.rows)
            and not c.has("代码", "编码", "绩效目标")
        ]
        amount_col = next((c for c in money_cols if c.leaf_has("总计", "合计", "金额", "预算数", "小计")), None)
        amount_col = amount_col or (money_cols[0] if money_cols else None)
        records: list[Record] = []
        last_unit = None
        for row in table.rows:
            name = table.text(row, name_col)
            unit = table.text(row, unit_col) if unit_col else ""
            last_unit = unit or last_unit
            if not name or name.replace(" ", "") in ("合计", "总计") or is_number_cell(name):
                continue
            amount, source = ctx.money(table, table.cell(row, amount_col)) if amount_col else (None, None)
            record = Project(name=name, unit_name=last_unit, amount=amount, provenance=Provenance(source=""))
            if source:
                record.values["amount"] = source
            for column in money_cols:
                if column is amount_col:
                    continue
                value, extra = ctx.money(table, table.cell(row, column))
                record.funding[column.name] = value
                if extra:
                    record.values[column.name] = extra
            if category_col is not None:
                record.category = table.text(row, category_col) or None
            record.provenance = ctx.provenance(row, table.cell(row, name_col))
            record.table_kind = kind
            records.append(self.stamp(record, table))
        return records
