"""Self-consistency checks. Each check is attached to every record that took part, pass or fail; a discrepancy is
reported, never fixed."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from yusuan.model import Check, Record, ValueSource

from .numbers import UNIT_FACTORS
from .recognizers.base import title_key

_DECIMALS = re.compile(r"\.(\d+)")


def _half_last_digit(source: ValueSource) -> float:
    """Half the last printed digit, in 万元: '2,484,078' 元 → 0.00005, '22.50' 万元 → 0.005, '17192万元' → 0.5."""
    decimals = _DECIMALS.search(source.raw)
    return 0.5 * 10 ** -(len(decimals.group(1)) if decimals else 0) * UNIT_FACTORS.get(source.unit_original or "万元", 1.0)


def _tolerance(count: int, records: Iterable[Record]) -> float:
    """Each printed figure is off by up to half its last printed digit, so a sum of `count` printed figures against
    a printed total may honestly differ by (count + 1) such halves; anything more is reported. `count` 0 compares
    one figure printed twice (text vs table)."""
    halves = [_half_last_digit(source) for record in records for source in record.values.values() if source.raw]
    return max(halves, default=0.005) * (count + 1) + 1e-9


def _attach(records: Iterable[Record], name: str, expected: float, actual: float, detail: str, count: int) -> None:
    records = list(records)
    tolerance = _tolerance(count, records)
    ok = abs(expected - actual) <= tolerance
    if ok and abs(expected - actual) > 1e-9:
        detail += f" (differ by {abs(expected - actual):.4f} 万元, within the rounding of {count + 1} printed figures)"
    check = Check(name=name, status="pass" if ok else "fail", expected=round(expected, 6), actual=round(actual, 6),
                  detail=detail)
    for record in records:
        record.add_check(check)


def _present(values: Iterable[float | None]) -> list[float]:
    return [value for value in values if value is not None]


def check_hierarchy(records: list[Record], fields: tuple[str, ...]) -> None:
    """项 → 款 → 类 → 合计, per table and measure, for every money field."""
    groups: dict[tuple, list[Record]] = defaultdict(list)
    for record in records:
        groups[(record.table_kind, record.table_title, record.measure, record.unit_name)].append(record)
    for group in groups.values():
        by_code = {record.code: record for record in group if record.code}
        children: dict[str | None, list[Record]] = defaultdict(list)
        for record in group:
            if record.code:
                parent = record.parent_code if record.parent_code in by_code else None
                if parent is None and len(record.code) != 3:
                    continue
                children[parent].append(record)
        totals = [record for record in group if record.code is None and title_key(record.name) in ("合计", "总计")]
        for parent_code, kids in children.items():
            parents = [by_code[parent_code]] if parent_code else totals[:1]
            for parent in parents:
                for field in fields:
                    parent_value = getattr(parent, field)
                    kid_values = _present(getattr(kid, field) for kid in kids)
                    if parent_value is None or not kid_values:
                        continue  # an unreadable or blank parent is not a discrepancy in the document
                    label = parent.code or parent.name
                    _attach([parent, *kids], f"children_sum:{field}", parent_value or 0.0, sum(kid_values),
                            f"{field} of {label} vs sum of its {len(kids)} sub-lines", len(kids))


_SPENDING_USES = ("单位预留机动经费", "上缴上级支出", "经营支出", "对附属单位补助支出")


def _is_spending_use(header: str) -> bool:
    """Columns beside 基本支出/项目支出 that are part of the same total (not 结转下年, which is outside it)."""
    return any(use in header for use in _SPENDING_USES)


def check_row_columns(records: list[Record]) -> None:
    for record in records:
        total = getattr(record, "total", None)
        basic = getattr(record, "basic", None)
        project = getattr(record, "project", None)
        personnel = getattr(record, "personnel", None)
        public = getattr(record, "public", None)
        if total is not None and (basic is not None or project is not None) and record.kind == "function_line":
            others = [value for header, value in record.other.items() if value is not None and _is_spending_use(header)]
            _attach([record], "columns_sum:basic+project", total, (basic or 0) + (project or 0) + sum(others),
                    "total vs 基本支出 + 项目支出" + "".join(f" + {h}" for h, v in record.other.items()
                                                          if v is not None and _is_spending_use(h)), 2 + len(others))
        if basic is not None and (personnel is not None or public is not None):
            _attach([record], "columns_sum:personnel+public", basic, (personnel or 0) + (public or 0),
                    "基本支出 vs 人员经费 + 公用经费", 2)
        if record.kind == "econ_line" and total is not None and (personnel is not None or public is not None):
            _attach([record], "columns_sum:personnel+public", total, (personnel or 0) + (public or 0),
                    "合计 vs 人员经费 + 公用经费", 2)


def check_sangong(records: list[Record]) -> None:
    for record in records:
        parts = _present([record.overseas, record.vehicle_total, record.reception])
        if record.total is not None and parts:
            _attach([record], "sangong_parts", record.total, sum(parts), "三公 total vs 出国 + 公务用车 + 接待", 3)
        vehicle_parts = _present([record.vehicle_purchase, record.vehicle_operation])
        if record.vehicle_total is not None and vehicle_parts:
            _attach([record], "sangong_vehicle_parts", record.vehicle_total, sum(vehicle_parts),
                    "公务用车 vs 购置 + 运行维护", 2)
    by_table: dict[tuple, list[Record]] = defaultdict(list)
    for record in records:
        by_table[(record.table_title, record.measure)].append(record)
    for group in by_table.values():
        totals = [r for r in group if r.unit_name in ("合计", "总计")]
        units = [r for r in group if r.unit_name not in ("合计", "总计")]
        if totals and units and totals[0].total is not None:
            _attach([totals[0], *units], "sangong_units_sum", totals[0].total,
                    sum(_present(r.total for r in units)), "三公 合计 vs sum of units", len(units))


def check_projects(projects: list[Record], function_lines: list[Record]) -> None:
    for record in projects:
        funding = _present(value for key, value in record.funding.items() if "小计" not in key)
        if record.amount is not None and funding and record.table_kind == "项目支出表":
            _attach([record], "funding_sum", record.amount, sum(funding), "总计 vs sum of funding columns",
                    len(funding))
    by_table: dict[str, list[Record]] = defaultdict(list)
    for record in projects:
        if record.table_kind in ("项目支出表", "重点项目表"):
            by_table[record.table_title].append(record)
    table_total = next(
        (line.project for line in function_lines
         if line.code is None and line.project is not None and line.table_kind == "一般公共预算支出表"),
        None,
    ) or next((line.project for line in function_lines if line.code is None and line.project is not None), None)
    if table_total is None:
        return
    for group in by_table.values():
        _attach(group, "projects_sum_vs_function_table", table_total, sum(_present(r.amount for r in group)),
                "sum of projects vs 项目支出 of the 支出表 合计 line", len(group))


def check_budget_totals(records: list[Record]) -> None:
    by_table: dict[str, dict[tuple[str, str], Record]] = defaultdict(dict)
    for record in records:
        by_table[record.table_title].setdefault((record.side, record.name), record)
    for items in by_table.values():
        income = items.get(("收入", "收入总计"))
        spending = items.get(("支出", "支出总计"))
        if income and spending and income.amount is not None and spending.amount is not None:
            _attach([income, spending], "income_equals_spending", income.amount, spending.amount,
                    "收入总计 vs 支出总计", 0)
        current = items.get(("收入", "本年收入合计"))
        carry = [r for (side, name), r in items.items() if side == "收入" and "结转" in name and r.amount is not None]
        if income and current and income.amount is not None and current.amount is not None:
            _attach([income, current, *carry[:1]], "income_total_parts", income.amount,
                    current.amount + sum(r.amount for r in carry[:1]), "收入总计 vs 本年收入合计 + 上年结转", 2)


_NARRATIVE_TARGETS = {
    "三公经费": ("sangong", "total"),
    "公务接待费": ("sangong", "reception"),
    "因公出国(境)费": ("sangong", "overseas"),
    "因公出国(境)费用": ("sangong", "overseas"),
    "公务用车运行维护费": ("sangong", "vehicle_operation"),
    "公务用车购置费": ("sangong", "vehicle_purchase"),
    "基本支出": ("function_line", "basic"),
    "人员经费": ("econ_line", "personnel"),
    "公用经费": ("econ_line", "public"),
    "日常公用经费": ("econ_line", "public"),
    "项目支出": ("function_line", "project"),
    "收支总预算": ("budget_total", "收入总计"),
    "收入预算": ("budget_total", "收入总计"),
    "支出预算": ("budget_total", "支出总计"),
}


def check_narrative(facts: list[Record], records_by_kind: dict[str, list[Record]]) -> None:
    for fact in facts:
        if fact.value is None or fact.metric != "amount":
            continue
        subject = title_key(fact.subject)
        target = _NARRATIVE_TARGETS.get(subject) or _NARRATIVE_TARGETS.get(
            subject.removeprefix("一般公共预算").removeprefix("财政拨款")
        )
        if target is None:
            continue
        kind, field = target
        candidates = records_by_kind.get(kind, [])
        table_record, table_value = None, None
        if kind == "budget_total":
            table_record = next((r for r in candidates if r.name == field and r.amount is not None), None)
            table_value = table_record.amount if table_record else None
        elif kind == "sangong":
            table_record = next((r for r in candidates if r.unit_name in ("合计", "总计")), None) or (
                candidates[0] if len(candidates) == 1 else None)
            table_value = getattr(table_record, field) if table_record else None
        else:
            totals = [r for r in candidates if r.code is None and getattr(r, field, None) is not None]
            table_record = totals[0] if totals else None
            table_value = getattr(table_record, field) if table_record else None
        if table_record is None or table_value is None:
            continue
        _attach([fact, table_record], f"narrative_vs_table:{fact.subject}", table_value, fact.value,
                f"text says {fact.value:g} 万元, {table_record.table_kind} says {table_value:g} 万元", 0)


def run_checks(records: list[Record]) -> None:
    by_kind: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        by_kind[record.kind].append(record)
    check_hierarchy(by_kind["function_line"], ("total", "basic", "personnel", "public", "project"))
    check_hierarchy(by_kind["econ_line"], ("total", "personnel", "public"))
    check_row_columns(by_kind["function_line"] + by_kind["econ_line"])
    check_sangong(by_kind["sangong"])
    check_projects(by_kind["project"], by_kind["function_line"])
    check_budget_totals(by_kind["budget_total"])
    check_narrative(by_kind["fact"], by_kind)
