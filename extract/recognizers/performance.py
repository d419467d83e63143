"""绩效目标表 / 绩效指标表 in all their shapes.

* wide tables with one indicator per row and a project column, possibly two indicator groups side by side
  (总体 and 年度, 000);
* project rows with funding columns followed by their indicator rows (001);
* key–value forms (项目名称 / 预算金额 / 实施期 …) with 资金 blocks and an indicator tree whose blank 一级/二级
  cells inherit from the row above (002 project forms, 003, 004).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from yusuan.model import Cell, Indicator, Project, Provenance, Record

from ..indicator_values import parse_indicator_value
from ..numbers import is_number_cell
from ..table import Table
from .base import BuildContext, Recognizer, register, strip_numbering, title_key, title_kind

_PROJECT_KEYS = ("项目名称", "项目支出名称")
_UNIT_KEYS = ("单位名称", "实施单位", "预算部门")
_AMOUNT_KEYS = ("预算金额", "年度本级预算金额", "年度本级")
_PERIOD_KEYS = ("实施期",)
_PERIOD_KEY = re.compile("|".join(map(re.escape, _PERIOD_KEYS)))
_ANY_KEY = re.compile("|".join(map(re.escape, _PROJECT_KEYS + _UNIT_KEYS + _PERIOD_KEYS + _AMOUNT_KEYS)))
_BLOCK_END = ("中长期目标", "年度目标", "实施期绩效目标", "本年度绩效目标", "总体目标", "一级指标")


def _is_header_cell(text: str) -> bool:
    return text.endswith(("一级指标", "一级指标名称"))


def _has_header_cell(texts: list[str]) -> bool:
    return "一级指标" in "\n".join(texts) and any(map(_is_header_cell, texts))  # one search over the row first


@dataclass
class _Group:
    period: str | None
    level1: int
    level2: int | None = None
    focus: int | None = None
    level3: int | None = None
    operator: int | None = None
    values: list[tuple[int, str | None]] = field(default_factory=list)
    unit: int | None = None
    weight: int | None = None
    description: int | None = None
    alternatives: bool = False  # 明细指标 / 明细指标(个性): the same indicator in one of two column sets


@dataclass
class _Layout:
    groups: list[_Group]
    project_col: int | None
    unit_col: int | None
    width: int


def _period_of(text: str) -> str | None:
    for word, period in (("半年", "半年"), ("全年", "全年"), ("总体", "总体"), ("年度", "年度")):
        if word in text:
            return period
    return None


def _layout_from_header(cells: list[str]) -> _Layout:
    level1_cols = [i for i, text in enumerate(cells) if _is_header_cell(text)]
    groups: list[_Group] = []
    for position, start in enumerate(level1_cols):
        end = level1_cols[position + 1] if position + 1 < len(level1_cols) else len(cells)
        prefix = cells[start].replace("一级指标名称", "").replace("一级指标", "")
        group = _Group(period=_period_of(prefix), level1=start)
        for i in range(start + 1, end):
            text = cells[i]
            if not text:
                continue
            if "二级指标" in text:
                group.level2 = i
            elif "重点工作" in text:
                group.focus = i
            elif ("三级指标" in text or "明细指标" in text or text.endswith("指标名称")) and group.level3 is None:
                group.level3 = i
            elif "明细指标" in text:
                group.alternatives = True
            elif "符号" in text:
                group.operator = i
            elif "指标值" in text and "依据" not in text:
                group.values.append((i, _period_of(text) if len(level1_cols) == 1 else group.period))
            elif "指标单位" in text or text.endswith("单位"):
                group.unit = i
            elif "权重" in text:
                group.weight = i
            elif "描述" in text or "备注" in text or "绩效标准" in text:
                group.description = group.description if group.description is not None else i
        if group.alternatives:
            group.values = group.values[:1]
        groups.append(group)
    project_col = next((i for i, text in enumerate(cells) if text == "项目名称"), None)
    unit_col = next((i for i, text in enumerate(cells) if text in ("单位", "单位名称")), None)
    return _Layout(groups=groups, project_col=project_col, unit_col=unit_col, width=len(cells))


@dataclass
class _State:
    project: str | None = None
    unit_name: str | None = None
    period: str | None = None
    inherited: dict[tuple[int, str], str] = field(default_factory=dict)
    seen: set[tuple] = field(default_factory=set)


@register
class PerformanceRecognizer(Recognizer):
    table_kind = "绩效目标表"

    def score(self, table: Table) -> float:
        if title_kind(table.title) in ("绩效目标表", "整体绩效目标表"):
            return 2.0
        if any(_has_header_cell([cell.text for cell in row]) for row in table.header_rows + table.rows[:40]):
            return 1.5
        return 0.0

    def build(self, table: Table, ctx: BuildContext) -> list[Record]:
        kind = "整体绩效目标表" if title_kind(table.title) == "整体绩效目标表" else "绩效目标表"
        rows = table.header_rows + table.rows
        state = _State(project=self._project_from_title(table.title))
        records: list[Record] = []
        layout: _Layout | None = None
        funding_rows: list[list[Cell]] = []
        in_funding = False
        project_record: Project | None = None
        for row in rows:
            texts = [cell.text for cell in row]
            nonempty = [text for text in texts if text]
            if not nonempty:
                continue
            if _has_header_cell(texts):
                layout = _layout_from_header(texts)
                state.inherited.clear()
                in_funding = False
                continue
            first = nonempty[0].replace(" ", "")
            if "资金" in first and ("万元" in first or "(" in first) and layout is None:
                in_funding = True
                funding_rows = [row]
                continue
            if in_funding:
                if first.startswith(_BLOCK_END):
                    in_funding = False
                    records.extend(self._funding_records(funding_rows, state, table, ctx, kind))
                else:
                    funding_rows.append(row)
                    continue
            if self._kv_row(row, state, table, ctx):
                project_record = self._kv_project(row, state, table, ctx, project_record, records)
                continue
            if layout is None:
                continue
            if self._project_row(row, layout, state, table, ctx, records):
                continue
            records.extend(self._indicators(row, layout, state, table))
        if in_funding:
            records.extend(self._funding_records(funding_rows, state, table, ctx, kind))
        for record in records:
            self.stamp(record, table)
            if record.kind == "project" and not record.table_kind:
                record.table_kind = kind
            record.table_kind = record.table_kind or kind
        return records

    @staticmethod
    def _project_from_title(title: str) -> str | None:
        name = strip_numbering(title_key(title))
        if "整体" in name and "绩效" in name:
            return "部门整体"
        for suffix in ("项目绩效目标表", "绩效目标表", "绩效目标申报表"):
            if name.endswith(suffix) and len(name) > len(suffix):
                candidate = name[: -len(suffix)]
                rest = re.sub(r"^\d{4}年度?", "", candidate)  # '2022年度干部考核经费' is a name, '2022年' is not
                if rest and rest not in ("项目", "部门", "单位", "项目支出") and not re.search(r"部门预算|市级|省级|县级|区级", rest):
                    return candidate
        return None

    # ---------------------------------------------------------------- key–value rows

    def _kv_row(self, row: list[Cell], state: _State, table: Table, ctx: BuildContext) -> bool:
        texts = [cell.text.replace(" ", "") for cell in row]
        if not _ANY_KEY.search("\n".join(texts)):  # each branch below needs one of the keys in a cell
            return False
        labelled = False
        for i, text in enumerate(texts):
            if not text:
                continue
            period = _PERIOD_KEY.search(text) is not None and "目标" not in text
            if not (text in _PROJECT_KEYS or text in _UNIT_KEYS or period):
                labelled = labelled or text.startswith(_AMOUNT_KEYS)
                continue
            value = next((t for t in texts[i + 1 :] if t), "")  # only for a key: the scan is quadratic in the row
            if text in _PROJECT_KEYS and value:
                state.project = value
                state.inherited.clear()
                labelled = True
            elif text in _UNIT_KEYS and value:
                state.unit_name = value
                labelled = True
            elif period and value:
                state.period = "全年" if "全年" in value else state.period
                labelled = True
            elif text.startswith(_AMOUNT_KEYS):
                labelled = True
        return labelled

    def _kv_project(
        self, row: list[Cell], state: _State, table: Table, ctx: BuildContext, current: Project | None,
        records: list[Record],
    ) -> Project | None:
        texts = [cell.text.replace(" ", "") for cell in row]
        for i, text in enumerate(texts):
            if not text.startswith(_AMOUNT_KEYS):
                continue
            value_cell = next((cell for cell in row[i + 1 :] if cell.text), None)
            amount, source = ctx.money(table, value_cell)
            if amount is None or state.project is None:
                continue
            record = Project(name=state.project, unit_name=state.unit_name, amount=amount,
                             provenance=ctx.provenance(row, value_cell))
            record.values["amount"] = source
            records.append(record)
            return record
        return current

    # ---------------------------------------------------------------- 资金 blocks (004)

    def _funding_records(
        self, rows: list[list[Cell]], state: _State, table: Table, ctx: BuildContext, kind: str
    ) -> list[Record]:
        periods: list[str] = ["全年"]
        side = "收入"
        label: str | None = None
        lines: list[tuple[str, str, dict[str, tuple[float, Cell]], list[Cell]]] = []
        for row in rows:
            texts = [cell.text.replace(" ", "") for cell in row]
            header = [_period_of(text) for text in texts if ("执行数" in text or "预算数" in text) and _period_of(text)]
            if header:
                periods = header
            if "收入" in texts:
                side = "收入"
            if "支出" in texts:
                side = "支出"
            numbers = [cell for cell in row if is_number_cell(cell.text)]
            names = [t for t in texts if t and not is_number_cell(t) and t not in ("收入",) and not _period_of(t)
                     and "资金(" not in t and "资金（" not in t]
            if names:
                label = names[0]
            if not numbers or label is None:
                continue
            assigned = dict(zip(periods if len(numbers) == len(periods) else (["半年", "全年"] if len(numbers) == 2
                                                                               else periods[-1:]), numbers, strict=False))
            values = {period: (ctx.money(table, cell)[0], cell) for period, cell in assigned.items()}
            existing = next((line for line in lines if line[0] == side and line[1] == label), None)
            if existing:
                existing[2].update(values)
            else:
                lines.append((side, label, values, row))
        records: list[Record] = []
        project = state.project or "部门整体"
        income = [line for line in lines if line[0] == "收入"]
        spending = [line for line in lines if line[0] == "支出"]
        total = next((line for line in income if "总额" in line[1] or line[1] in ("合计", "总计")), None)
        main = Project(name=project, unit_name=state.unit_name, provenance=Provenance(source=ctx.source))
        if total and "全年" in total[2]:
            main.amount, cell = total[2]["全年"]
            main.values["amount"] = _source(ctx, table, cell)
            main.provenance = ctx.provenance(total[3], cell)
        for _, name, values, _row in income:
            if total is not None and name == total[1]:
                continue
            if "全年" in values:
                main.funding[name] = values["全年"][0]
                main.values[name] = _source(ctx, table, values["全年"][1])
        project_total = next((line for line in spending if line[1] == "支出"), None)
        if project_total and "半年" in project_total[2]:
            main.half_year_plan = project_total[2]["半年"][0]
            main.values["half_year_plan"] = _source(ctx, table, project_total[2]["半年"][1])
        if main.amount is not None or main.funding:
            main.table_kind = kind
            records.append(main)
        for _, name, values, row in spending:
            if name == "支出":
                continue
            sub = Project(name=name, unit_name=state.unit_name, provenance=ctx.provenance(row),
                          category=None if project == "部门整体" else project)
            sub.table_kind = kind
            if "全年" in values:
                sub.amount = values["全年"][0]
                sub.values["amount"] = _source(ctx, table, values["全年"][1])
            if "半年" in values:
                sub.half_year_plan = values["半年"][0]
                sub.values["half_year_plan"] = _source(ctx, table, values["半年"][1])
            records.append(sub)
        return records

    # ---------------------------------------------------------------- project rows (001)

    def _project_row(
        self, row: list[Cell], layout: _Layout, state: _State, table: Table, ctx: BuildContext,
        records: list[Record],
    ) -> bool:
        if layout.project_col is not None or not layout.groups:
            return False
        first_level = layout.groups[0].level1
        head = row[:first_level]
        if any(cell.text for cell in row[first_level:]):
            return False
        numbers = [cell for cell in head if is_number_cell(cell.text)]
        names = [cell for cell in head if cell.text and not is_number_cell(cell.text)]
        if not names:
            return False
        if not numbers or (len(numbers) == 1 and numbers[0].col == 0):
            state.unit_name = names[-1].text
            return True
        state.project = names[-1].text
        state.inherited.clear()
        amount_cell = next((cell for cell in head if is_number_cell(cell.text) and cell.col != 0), None)
        amount, source = ctx.money(table, amount_cell)
        record = Project(name=state.project, unit_name=state.unit_name, amount=amount,
                         provenance=ctx.provenance(row, names[-1]))
        if source:
            record.values["amount"] = source
        for cell in head:
            if cell is amount_cell or not is_number_cell(cell.text) or cell.col is None:
                continue
            column = table.columns[cell.col] if cell.col < len(table.columns) else None
            label = column.name if column is not None and column.name else f"col{cell.col}"
            value, extra = ctx.money(table, cell)
            record.funding[label] = value
            if extra:
                record.values[label] = extra
        records.append(record)
        return True

    # ---------------------------------------------------------------- indicator rows

    def _indicators(self, row: list[Cell], layout: _Layout, state: _State, table: Table) -> list[Record]:
        texts = [cell.text for cell in row] + [""] * max(0, layout.width - len(row))
        project = texts[layout.project_col] if layout.project_col is not None and texts[layout.project_col] else state.project
        unit_name = texts[layout.unit_col] if layout.unit_col is not None and texts[layout.unit_col] else state.unit_name
        records: list[Record] = []
        row_raw = "\t".join([cell.raw for cell in row]).strip()
        for group_index, declared in enumerate(layout.groups):
            group = _aligned(declared, texts) if len(layout.groups) > 1 else declared
            for parsed in self._parse_group(texts, group, len(layout.groups) == 1):
                level1, level2, focus, level3, value_text, period, desc, weight, unit, operator = parsed
                levels = {}
                for name, value in (("level1", level1), ("level2", level2), ("focus", focus)):
                    key = (group_index, name)
                    if value:
                        state.inherited[key] = value
                        if name == "level1":
                            state.inherited.pop((group_index, "level2"), None)
                            state.inherited.pop((group_index, "focus"), None)
                        if name == "level2":
                            state.inherited.pop((group_index, "focus"), None)
                    levels[name] = state.inherited.get(key)
                if not level3:
                    continue
                period = period or state.period
                key = (project, period, level3, value_text)
                if key in state.seen:
                    continue
                state.seen.add(key)
                split = parse_indicator_value(value_text, level3)
                value_unit = unit or split.unit
                # A separate 指标符号 column (000) states the operator; the value cell then holds the bare number.
                split_operator = operator if operator and split.operator != "定性" else split.operator or operator or None
                description = desc
                if levels.get("focus"):
                    description = levels["focus"] if not desc else f"{levels['focus']}：{desc}"
                level3_cell = row[texts.index(level3)] if level3 in texts else row[0]  # the padding is blank, level3 is not
                record = Indicator(
                    project=project, unit_name=unit_name, level1=levels.get("level1"), level2=levels.get("level2"),
                    level3=level3, operator=split_operator, value=split.value, value_num=split.value_num,
                    value_unit=value_unit, weight=_float(weight), period=period, description=description or None,
                    raw_value=value_text or None,
                    provenance=Provenance(source="", page=level3_cell.page, line=level3_cell.line,
                                          row=level3_cell.row, bbox=level3_cell.bbox,
                                          raw=row_raw),
                )
                records.append(record)
        return records

    @staticmethod
    def _parse_group(texts: list[str], group: _Group, single: bool):
        def at(index: int | None) -> str:
            return texts[index] if index is not None and index < len(texts) else ""

        if group.alternatives:
            tail = [t for t in texts[group.level1 + 1 :] if t]
            name, value, desc = [*tail, "", "", ""][:3]
            yield at(group.level1), "", "", name, value, group.period, desc, "", "", ""
            return
        value_cols = group.values or []
        positional_ok = bool(at(group.level3)) and all(at(i) for i, _ in value_cols)
        if positional_ok or not single or not value_cols:
            for index, period in value_cols or [(None, group.period)]:
                yield (at(group.level1), at(group.level2), at(group.focus), at(group.level3), at(index),
                       period or group.period, at(group.description), at(group.weight), at(group.unit),
                       at(group.operator))
            return
        # Shifted or ragged row: values are the last cells, labels fill 三级 → 重点工作 → 二级 → 一级 from the right.
        end = max(i for i, _ in value_cols) + 1
        nonempty = [t for t in texts[: end + 1] if t]
        if len(nonempty) <= len(value_cols):
            return
        values = nonempty[-len(value_cols) :]
        labels = nonempty[: -len(value_cols)]
        slots = ["level3", "focus", "level2", "level1"] if group.focus is not None else ["level3", "level2", "level1"]
        assigned = dict(zip(slots, reversed(labels), strict=False))
        for (_, period), value in zip(value_cols, values, strict=True):
            yield (assigned.get("level1", ""), assigned.get("level2", ""), assigned.get("focus", ""),
                   assigned.get("level3", ""), value, period or group.period, "", "", "", "")


_LEVEL1 = re.compile(r"(指标|^产出|^效益|^满意度|^决策|^过程|^履职|^成本)$")


def _aligned(group: _Group, texts: list[str]) -> _Group:
    """Ragged rows drop an empty cell (e.g. 备注) before a group: find the group's 一级指标 cell nearby and shift."""
    for offset in (0, -1, -2, 1):
        index = group.level1 + offset
        if 0 <= index < len(texts) and _LEVEL1.search(texts[index]):
            if offset == 0:
                return group

            def shift(i: int | None, offset: int = offset) -> int | None:
                return None if i is None else i + offset

            return _Group(
                period=group.period, level1=index, level2=shift(group.level2), focus=shift(group.focus),
                level3=shift(group.level3), operator=shift(group.operator),
                values=[(i + offset, p) for i, p in group.values], unit=shift(group.unit), weight=shift(group.weight),
                description=shift(group.description), alternatives=group.alternatives,
            )
    return group


def _float(text: str) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _source(ctx: BuildContext, table: Table, cell: Cell):
    return ctx.money(table, cell)[1]
