"""Self-consistency checks. Each check is attached to every record that took part, pass or fail; a discrepancy is
reported, never fixed."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

from yusuan.model import Check, Record, ValueSource
from yusuan.vocab import normalize, thesaurus

from .numbers import UNIT_FACTORS
from .recognizers.base import title_key
from .recognizers.labels import FIELD_OF_CONCEPT as SANGONG_FIELD_OF_CONCEPT

_DECIMALS = re.compile(r"\.(\d+)")


def _half_last_digit(source: ValueSource) -> float:
    """Half the last printed digit, in 万元: '2,484,078' 元 → 0.00005, '22.50' 万元 → 0.005, '17192万元' → 0.5."""
    return _half_last_printed_digit(source.raw, source.unit_original)


@lru_cache(maxsize=4096)  # a record's figures are read again by every check it takes part in
def _half_last_printed_digit(raw: str, unit: str | None) -> float:
    decimals = _DECIMALS.search(raw)
    return 0.5 * 10 ** -(len(decimals.group(1)) if decimals else 0) * UNIT_FACTORS.get(unit or "万元", 1.0)


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
        # a table without a 基本支出 subtotal column (人员支出 | 公用经费 | 项目支出, Zhejiang) sums its two parts instead
        basic_parts = [basic] if basic is not None else _present([personnel, public])
        if total is not None and (basic_parts or project is not None) and record.kind == "function_line":
            others = [value for header, value in record.other.items() if value is not None and _is_spending_use(header)]
            basic_label = "基本支出" if basic is not None else "人员经费 + 公用经费"
            _attach([record], "columns_sum:basic+project", total, sum(basic_parts) + (project or 0) + sum(others),
                    f"total vs {basic_label} + 项目支出" + "".join(f" + {h}" for h, v in record.other.items()
                                                               if v is not None and _is_spending_use(h)),
                    len(basic_parts) + 1 + len(others))
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
    for group in by_table.values():
        funds = {key for record in group for key in record.funding if "小计" not in key and "合计" not in key}
        projects_sum = sum(_present(r.amount for r in group))
        totals = [next((line for line in function_lines if line.table_kind == kind and line.code is None and line.project is not None),
                       None) for kind in _covering_spending_tables(funds)]
        table_total = min((line for line in totals if line is not None), key=lambda line: abs(line.project - projects_sum), default=None)
        if table_total is None:
            continue
        _attach(group, "projects_sum_vs_function_table", table_total.project, projects_sum,
                f"sum of projects vs 项目支出 of the {table_total.table_kind} 合计 line", len(group))


def _covering_spending_tables(funds: set[str]) -> tuple[str, ...]:
    """The 支出表 whose 项目支出 covers the same money as a project table whose funding columns name these funds: the
    一般公共预算 table for 一般公共预算 money only, the 支出总表 when other funds (政府性基金, 单位资金…) are listed too;
    a table that names no funds is compared with whichever of the two is nearer its sum."""
    if not funds:
        return ("一般公共预算支出表", "支出总表")
    if all("一般公共预算" in fund for fund in funds):
        return ("一般公共预算支出表",)
    return ("支出总表",)


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


# Where a narrative figure is printed in the tables, by the thesaurus concept its subject names.
_TABLE_FIELD_OF_CONCEPT = {
    **{concept: ("sangong", field) for concept, field in SANGONG_FIELD_OF_CONCEPT.items()},
    "basic": ("function_line", "basic"),
    "project": ("function_line", "project"),
    "personnel": ("econ_line", "personnel"),
    "public": ("econ_line", "public"),
    "grand_total": ("budget_total", "收入总计"),
    "income_total": ("budget_total", "收入总计"),
    "spending_total": ("budget_total", "支出总计"),
}
_FUNDING_PREFIXES = ("fiscal_grant", "general_budget_grant")  # 财政拨款三公经费 is the 三公经费


@lru_cache(maxsize=4096)  # asked twice per fact, and the thesaurus walk is costly
def narrative_target(subject: str) -> tuple[str, str] | None:
    """The (record kind, field) a narrative subject names: '“三公”经费预算' → ('sangong', 'total')."""
    vocab = thesaurus()
    prefixes = sorted((normalize(term) for key in _FUNDING_PREFIXES for term in vocab.get(key).terms), key=len, reverse=True)
    text = normalize(subject)
    while True:
        concept = vocab.label_concept(text)
        if concept is not None and concept.key in _TABLE_FIELD_OF_CONCEPT:
            return _TABLE_FIELD_OF_CONCEPT[concept.key]
        prefix = next((p for p in prefixes if text.startswith(p) and len(text) > len(p)), None)
        if prefix is None:
            return None
        text = text[len(prefix) :]


def _states_final(fact: Record) -> bool:
    return "决算" in fact.sentence or "执行数" in fact.subject


def _sangong_total_record(candidates: list[Record], measure: str) -> Record | None:
    totals = [r for r in candidates if r.unit_name in ("合计", "总计")] or (candidates if len(candidates) == 1 else [])
    return next((r for r in totals if r.measure == measure), None)


def fill_blanks_from_text(facts: list[Record], sangong: list[Record]) -> None:
    """A 三公 figure the table leaves blank but the narrative states: the 合计 record carries the text's value, with the
    sentence as its source and a check saying so. A blank beside printed figures is how a table prints zero, so a text
    stating 0 there only confirms the blank (checked, not filled); a table that prints no figure at all for the
    record takes every stated figure, 0 included. Figures stated twice with different values fill nothing; a blank
    the text does not state stays blank."""
    stated: dict[str, list[Record]] = defaultdict(list)
    for fact in facts:
        target = narrative_target(fact.subject) if fact.metric == "amount" and fact.value is not None else None
        if target is not None and target[0] == "sangong" and not _states_final(fact):
            stated[target[1]].append(fact)
    record = _sangong_total_record(sangong, "预算数")
    if record is None:
        return
    table_is_blank = not record.values
    for field, found in stated.items():
        if getattr(record, field) is not None or field in record.values or len({f.value for f in found}) != 1:
            continue
        fact = found[0]
        if fact.value == 0 and not table_is_blank:
            check = Check(name=f"blank_cell_text_states:{field}", status="pass", expected=0.0, actual=0.0,
                          detail=f"the table leaves {field} blank; the text (page {fact.provenance.page}) states 0")
        else:
            setattr(record, field, fact.value)
            if (source := fact.values.get("value")) is not None:
                record.values[field] = source
            check = Check(name=f"blank_cell_from_text:{field}", status="pass", expected=None, actual=fact.value,
                          detail=f"the table leaves {field} blank; the text (page {fact.provenance.page}) states "
                                 f"{fact.value:g} 万元: {fact.sentence[:80]}")
        record.add_check(check)
        fact.add_check(check)


def _filled_from_text(record: Record, field: str) -> bool:
    return any(check.name == f"blank_cell_from_text:{field}" for check in record.checks)


def check_narrative(facts: list[Record], records_by_kind: dict[str, list[Record]]) -> None:
    for fact in facts:
        if fact.value is None or fact.metric != "amount":
            continue
        target = narrative_target(fact.subject)
        if target is None:
            continue
        kind, field = target
        candidates = records_by_kind.get(kind, [])
        table_record, table_value = None, None
        if kind == "budget_total":
            table_record = next((r for r in candidates if r.name == field and r.amount is not None), None)
            table_value = table_record.amount if table_record else None
        elif kind == "sangong":
            table_record = _sangong_total_record(candidates, "决算数" if _states_final(fact) else "预算数")
            table_value = getattr(table_record, field) if table_record else None
            if table_record is not None and _filled_from_text(table_record, field):
                continue
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
    fill_blanks_from_text(by_kind["fact"], by_kind["sangong"])
    check_hierarchy(by_kind["function_line"], ("total", "basic", "personnel", "public", "project"))
    check_hierarchy(by_kind["econ_line"], ("total", "personnel", "public"))
    check_row_columns(by_kind["function_line"] + by_kind["econ_line"])
    check_sangong(by_kind["sangong"])
    check_projects(by_kind["project"], by_kind["function_line"])
    check_budget_totals(by_kind["budget_total"])
    check_narrative(by_kind["fact"], by_kind)
