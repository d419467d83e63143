"""Two-sided summary tables (收支总表, 财政拨款收支总表): 收入 items on the left, 支出 items on the right."""

from __future__ import annotations

from yusuan.model import BudgetTotal, Cell, Provenance, Record

from ..numbers import is_number_cell
from ..table import Column, Table
from .base import BuildContext, Recognizer, register, strip_numbering, table_measure, title_kind
from .coded_lines import MEASURES

# 政府收支分类 支出功能分类 类 names: right-side lines with these names are category totals.
FUNCTION_CLASSES = (
    "一般公共服务支出", "外交支出", "国防支出", "公共安全支出", "教育支出", "科学技术支出", "文化旅游体育与传媒支出",
    "文化体育与传媒支出", "社会保障和就业支出", "社会保险基金支出", "卫生健康支出", "医疗卫生与计划生育支出",
    "节能环保支出", "城乡社区支出", "农林水支出", "交通运输支出", "资源勘探工业信息等支出", "资源勘探信息等支出",
    "商业服务业等支出", "金融支出", "援助其他地区支出", "自然资源海洋气象等支出", "国土海洋气象等支出", "住房保障支出",
    "粮油物资储备支出", "国有资本经营预算支出", "灾害防治及应急管理支出", "预备费", "其他支出", "转移性支出",
    "债务还本支出", "债务付息支出", "债务发行费用支出", "抗疫特别国债安排的支出",
)
USAGE_LINES = ("基本支出", "项目支出", "人员经费", "公用经费", "事业单位经营支出", "上缴上级支出", "对附属单位补助支出",
               "单位预留机动经费", "经营支出")


def canonical_total_name(name: str, side: str = "") -> str:
    """收入合计 / 收入总计 / 当年收入小计 / a bare 总计 on one side … → 收入总计 or 本年收入合计 (same for 支出)."""
    compact = name.replace(" ", "")
    if side and compact in ("合计", "总计"):
        return f"{side}总计"
    for side_word in ("收入", "支出"):
        if side_word in compact and any(word in compact for word in ("合计", "总计", "小计")) and len(compact) <= 8:
            if any(word in compact for word in ("本年", "当年", "小计")):
                return f"本年{side_word}合计"
            return f"{side_word}总计"
    return compact


@register
class SummaryRecognizer(Recognizer):
    table_kind = "收支总表"

    def score(self, table: Table) -> float:
        kind = title_kind(table.title)
        if kind in ("收支总表", "财政拨款收支总表"):
            return 2.0
        labels = table.header_text
        if kind is None and "收入" in labels and "支出" in labels and table.find("项目", "项 目") is not None:
            return 1.0
        return 0.0

    def build(self, table: Table, ctx: BuildContext) -> list[Record]:
        kind = title_kind(table.title) or "收支总表"
        records: list[Record] = []
        sides = self._sides(table)
        for position, (side, name_col, money_cols) in enumerate(sides):
            for row in table.rows:
                raw_name = table.text(row, name_col)
                if not raw_name or is_number_cell(raw_name):
                    continue
                unnumbered = strip_numbering(raw_name)
                name = canonical_total_name(unnumbered, side)
                numbered = unnumbered != raw_name
                is_total = name != unnumbered.replace(" ", "") or any(
                    word in name for word in ("结转", "结余", "合计", "总计")
                )
                amount_cell = table.cell(row, money_cols[0]) if money_cols else None
                if is_total and not (amount_cell and amount_cell.text):
                    amount_cell = _total_further_right(table, row, sides[position + 1 :]) or amount_cell
                amount, source = ctx.money(table, amount_cell)
                if side == "支出" and not is_total:
                    is_category = numbered or name in FUNCTION_CLASSES or name in USAGE_LINES
                    if not is_category or amount is None:
                        continue
                record = BudgetTotal(side=side, name=name, amount=amount, provenance=Provenance(source=""))
                record.measure = next((m for m in MEASURES if money_cols and money_cols[0].has(m)), table_measure(table))
                if source:
                    record.values["amount"] = source
                for column in money_cols[1:]:
                    value, extra_source = ctx.money(table, table.cell(row, column))
                    record.breakdown[column.name or column.label] = value
                    if extra_source:
                        record.values[column.name or column.label] = extra_source
                record.provenance = ctx.provenance(row, table.cell(row, name_col))
                record.table_kind = kind
                records.append(self.stamp(record, table))
        return records

    def _sides(self, table: Table) -> list[tuple[str, Column, list[Column]]]:
        """Pair each item column with the money columns to its right, up to the next item column. Jiangsu prints
        two 支出 item columns (功能分类 and 支出用途) beside the 收入 one."""
        item_cols = [c for c in table.columns if self._is_item_column(table, c)]
        sides: list[tuple[str, Column, list[Column]]] = []
        for position, item in enumerate(item_cols):
            end = item_cols[position + 1].index if position + 1 < len(item_cols) else table.width
            money = [c for c in table.columns[item.index + 1 : end] if self._is_money_column(table, c)]
            side = "支出" if item.has("支出") else "收入" if item.has("收入") else ("收入" if position == 0 else "支出")
            sides.append((side, item, money))
        return sides[:3]

    @staticmethod
    def _is_item_column(table: Table, column: Column) -> bool:
        texts = [table.text(row, column) for row in table.rows]
        names = [text for text in texts if text and not is_number_cell(text)]
        return len(names) >= max(2, len([t for t in texts if t]) // 2)

    @staticmethod
    def _is_money_column(table: Table, column: Column) -> bool:
        texts = [text for row in table.rows if (text := table.text(row, column))]
        return bool(column.name) or (bool(texts) and all(is_number_cell(text) for text in texts))




def _total_further_right(table: Table, row, later_sides) -> Cell | None:
    """A 支出 total printed under the last item column's money (当年支出小计 | blank | blank | 18,330.37)."""
    for _, item_col, money_cols in later_sides:
        if table.text(row, item_col):
            return None
        for column in money_cols:
            cell = table.cell(row, column)
            if cell is not None and cell.text:
                return cell
    return None
