"""Tables of 科目 lines keyed by a code: 功能分类 (支出总表, 一般公共预算支出表, 收入总表, 基金/国资) and
经济分类 (基本支出表)."""

from __future__ import annotations

import re
from functools import lru_cache

from yusuan.model import Cell, EconLine, FunctionLine, Provenance, Record
from yusuan.vocab import thesaurus

from ..numbers import is_number_cell
from ..table import Column, Table
from .base import BuildContext, Recognizer, register, table_measure, title_kind
from .labels import is_prior, latest_year, read_part

_CODE = re.compile(r"^\d{3}(?:\d{2}){0,2}$")
_TOTAL_NAMES = ("合计", "总计")
_CODE_IN_NAME = re.compile(r"^\s*[\[【]?(?P<code>\d{3}(?:\d{2}){0,2})(?:[\]】]|\s+)\s*(?P<name>\D.*)$")
MEASURES = ("决算数", "调整预算数", "年初预算数", "预算数")


_SPLIT_CODE_PARTS = ("款", "项")


def code_text(table: Table, row: list[Cell], code_cols: list[Column]) -> str:
    """The printed code of a row, joined from split 类/款/项 cells; a part that repeats its prefix is kept whole."""
    joined = ""
    for column in code_cols:
        part = table.text(row, column).replace(" ", "")
        if not part:
            break
        if joined and len(part) == 1 and part.isdigit():
            part = part.zfill(2)  # a spreadsheet dropped the leading zero of 款 02
        joined = part if joined and part.startswith(joined) and len(part) > len(joined) else joined + part
    return joined


def code_of(text: str) -> str | None:
    digits = text.replace(" ", "")
    return digits if _CODE.match(digits) else None


def level_of(code: str | None, econ: bool = False) -> str:
    if code is None:
        return "合计"
    return {3: "类", 5: "款", 7: "项"}.get(len(code), "项") if not econ else {3: "类", 5: "款"}.get(len(code), "款")


def measure_groups(table: Table, columns: list[Column]) -> dict[str, list[Column]]:
    """决算 tables print 预算数 and 决算数 side by side: group money columns by the measure in their header.
    Columns that name no measure belong to every group, or to the table's own measure when there is one group."""
    groups: dict[str, list[Column]] = {}
    for column in columns:
        measure = next((m for m in MEASURES if column.has(m)), "")
        groups.setdefault(measure, []).append(column)
    if len(groups) > 1 and "" in groups:
        shared = groups.pop("")
        for measure in groups:
            groups[measure] = shared + groups[measure]
    if "" in groups:
        groups[table_measure(table)] = groups.pop("")
    return groups


class _CodedLineRecognizer(Recognizer):
    kinds: tuple[str, ...] = ()
    econ = False

    def score(self, table: Table) -> float:
        kind = title_kind(table.title)
        if kind in self.kinds:
            return 2.0
        if kind is None and self._has_code_rows(table) and self._header_fits(table):
            return 1.0
        return 0.0

    def _header_fits(self, table: Table) -> bool:
        return False

    def _has_code_rows(self, table: Table) -> bool:
        code_cols = self._code_columns(table)
        return bool(code_cols) and any(code_of(code_text(table, row, code_cols)) for row in table.rows)

    def _code_columns(self, table: Table) -> list[Column]:
        """The code column, or the 类 | 款 | 项 columns a code is printed across ("204" | "06" | "01")."""
        first = table.find("编码", "代码", leaf=True) or table.find("编码", "代码")
        if first is None:
            return []
        columns = [first]
        if first.name == "类":
            for column in table.columns[first.index + 1 :]:
                if column.name not in _SPLIT_CODE_PARTS:
                    break
                columns.append(column)
        return columns

    def _name_column(self, table: Table, code_cols: list[Column]) -> Column | None:
        name = table.find("名称", leaf=True)
        if name is not None and name not in code_cols:
            return name
        if code_cols and code_cols[-1].index + 1 < table.width:
            return table.columns[code_cols[-1].index + 1]
        return None

    def _money_columns(self, table: Table, after: int) -> list[Column]:
        return [
            column for column in table.columns[after + 1 :]
            if any(table.text(row, column) for row in table.rows) or column.name
        ]

    def build(self, table: Table, ctx: BuildContext) -> list[Record]:
        code_cols = self._code_columns(table)
        name_col = self._name_column(table, code_cols)
        if name_col is None and code_cols:
            return []
        # With neither code nor name column the table prints only its totals (合计 | 基本支出 | 项目支出 …).
        first_money = max([-1 if name_col is None else name_col.index, *(column.index for column in code_cols)])
        money_cols = self._money_columns(table, first_money)
        kind = title_kind(table.title)
        kind = kind if kind in self.kinds else self.table_kind
        records: list[Record] = []
        for measure, columns in measure_groups(table, money_cols).items():
            fields = self.field_map(columns)
            for row in table.rows:
                if name_col is None and not any(is_number_cell(cell.text) for cell in row):
                    continue
                printed_code = code_text(table, row, code_cols)
                name = table.text(row, name_col) if name_col else "合计"
                code = code_of(printed_code)
                if code is None and not printed_code and (coded := _CODE_IN_NAME.match(name)):
                    code, name = coded.group("code"), coded.group("name")  # "[201]一般公共服务支出": no code column
                if code is None and printed_code and not printed_code.isdigit():
                    name = name or printed_code
                if code is None and not any(total in name.replace(" ", "") for total in _TOTAL_NAMES):
                    continue
                key_cell = table.cell(row, code_cols[0]) if code and code_cols else table.cell(row, name_col)
                record = self.new_record(code, name.replace(" ", "") if code is None else name)
                record.measure = measure
                self.fill(record, table, row, fields, columns, ctx)
                record.provenance = ctx.provenance(row, key_cell)
                record.table_kind = kind
                records.append(self.stamp(record, table))
        return records

    def new_record(self, code: str | None, name: str) -> Record:
        raise NotImplementedError

    def field_map(self, columns: list[Column]) -> dict[str, Column]:
        raise NotImplementedError

    def fill(
        self, record: Record, table: Table, row: list[Cell], fields: dict[str, Column], columns: list[Column],
        ctx: BuildContext,
    ) -> None:
        used = set()
        for field_name, column in fields.items():
            value, source = ctx.money(table, table.cell(row, column))
            setattr(record, field_name, value)
            used.add(column.index)
            if source:
                record.values[field_name] = source
        for column in columns:
            if column.index in used or not column.label:
                continue
            value, source = ctx.money(table, table.cell(row, column))
            record.other[column.label] = value
            if source:
                record.values[column.label] = source


def _first(columns: list[Column], predicate) -> Column | None:
    return next((column for column in columns if predicate(column)), None)


def function_fields(columns: list[Column]) -> dict[str, Column]:
    """合计 / 基本支出 (人员经费, 公用经费) / 项目支出 columns by header meaning; a prior year's column ('2025年预算数'
    beside '2026年预算数/总计') is none of them and stays in `other`."""
    latest = latest_year([column.label for column in columns])
    columns = [column for column in columns if not is_prior([read_part(part) for part in column.path], latest)]
    fields: dict[str, Column] = {}
    total = _first(
        columns,
        lambda c: c.leaf_has("合计", "总计", "金额", "预算数", "决算数")
        and not {"basic", "project"} & set(spending_concepts(c)) and not c.has("本年收入"),
    )
    if total is None and columns:
        total = columns[0]
    if total is not None:
        fields["total"] = total
    basic = _first(columns, lambda c: _names(c, "basic"))
    if basic is not None and basic is not total:
        fields["basic"] = basic
    fields.update(_personnel_public(columns))
    project = _first(columns, lambda c: _names(c, "project"))
    if project is not None:
        fields["project"] = project
    return fields


@register
class FunctionLineRecognizer(_CodedLineRecognizer):
    table_kind = "支出总表"
    kinds = ("支出总表", "一般公共预算支出表", "财政拨款支出表", "政府性基金支出表", "国有资本经营支出表", "收入总表")

    def _header_fits(self, table: Table) -> bool:
        uses = {concept for column in table.columns for concept in spending_concepts(column)}
        return bool({"basic", "project"} & uses) and table.find("人员经费", "工资福利") is None

    def new_record(self, code: str | None, name: str) -> Record:
        return FunctionLine(code=code, name=name, level=level_of(code), parent_code=_parent(code), provenance=_EMPTY)

    def field_map(self, columns: list[Column]) -> dict[str, Column]:
        return function_fields(columns)


@register
class EconLineRecognizer(_CodedLineRecognizer):
    table_kind = "基本支出表"
    kinds = ("基本支出表", "财政拨款基本支出表", "机关运行经费表")
    econ = True

    def _header_fits(self, table: Table) -> bool:
        code_cols = self._code_columns(table)
        return any((code_of(code_text(table, row, code_cols)) or "").startswith("30") for row in table.rows)

    def new_record(self, code: str | None, name: str) -> Record:
        return EconLine(code=code, name=name, level=level_of(code, econ=True), parent_code=_parent(code), provenance=_EMPTY)

    def field_map(self, columns: list[Column]) -> dict[str, Column]:
        fields: dict[str, Column] = {}
        total = _first(columns, lambda c: c.leaf_has("合计", "总计", "金额", "预算数", "决算数", "小计"))
        total = total or (columns[0] if columns else None)
        if total is not None:
            fields["total"] = total
        fields.update(_personnel_public(columns))
        return fields


def spending_concepts(column: Column) -> list[str | None]:
    """The thesaurus spending concept each header part names (人员经费和公用经费支出 is 基本支出, 专项业务经费 项目支出)."""
    return [_spending_concept(part) for part in column.path]


@lru_cache(maxsize=4096)  # each column is asked several times, and tables repeat their headers
def _spending_concept(part: str) -> str | None:
    return next((concept.key for concept, _ in thesaurus().mentions(part, "spending", colloquial=False)), None)


def _names(column: Column, concept: str) -> bool:
    """The column holds that concept: its own header names it, or it is the 小计 / 合计 under a header that does."""
    concepts = spending_concepts(column)
    return bool(concepts) and (concepts[-1] == concept or (concept in concepts and read_part(column.name).sums))


def _personnel_public(columns: list[Column]) -> dict[str, Column]:
    """人员经费 / 公用经费 columns (基本支出 split), by their leaf header."""
    found = {"personnel": _first(columns, lambda c: c.leaf_has("人员")), "public": _first(columns, lambda c: c.leaf_has("公用"))}
    return {name: column for name, column in found.items() if column is not None}


def _parent(code: str | None) -> str | None:
    return code[:-2] if code and len(code) > 3 else None


_EMPTY = Provenance(source="")  # placeholder, replaced by the row's provenance in build()
