"""Arithmetic across tables: the same quantity printed in two tables must agree (收支总表 ↔ 收入/支出总表,
财政拨款收支总表 ↔ 一般公共预算支出表, 基本支出 ↔ 经济分类表), and a 一般公共预算 line cannot exceed the same line
over all funds."""

from __future__ import annotations

from collections.abc import Iterator

from yusuan.model import Record

from .context import AuditContext
from .model import ComparedValue, Issue
from .registry import rule


def _total_line(ctx: AuditContext, table_kind: str, field: str = "total", measure: str | None = None) -> Record | None:
    return next((r for r in ctx.table_records("function_line", table_kind, measure) if r.code is None
                 and getattr(r, field, None) is not None), None)


def _summary(ctx: AuditContext, table_kind: str, side: str, *names: str) -> Record | None:
    lines = ctx.table_records("budget_total", table_kind)
    for name in names:
        found = next((r for r in lines if r.side == side and r.name == name and r.amount is not None), None)
        if found:
            return found
    return None


def _compare(ctx: AuditContext, rule_id: str, what: str, left: Record, left_field: str, left_value: float,
             right: Record, right_field: str, right_value: float) -> Issue | None:
    tolerance = ctx.record_tolerance(left, left_field) + ctx.record_tolerance(right, right_field)
    if abs(left_value - right_value) <= tolerance + 1e-9:
        return None
    a = ctx.record_value(left, left_field, left.table_title or left.table_kind, left_value)
    b = ctx.record_value(right, right_field, right.table_title or right.table_kind, right_value)
    return Issue(
        rule_id=rule_id, family="cross_table", severity="error",
        message=f"{what}：{a.label}为{left_value:,.2f}万元，{b.label}为{right_value:,.2f}万元，表间不一致",
        page=a.page or left.provenance.page, bbox=a.bbox, values=[a, b], suggestion="核对两表，同一数字应一致",
    )


def _class_lines(ctx: AuditContext, table_kind: str) -> dict[str, Record]:
    lines = ctx.table_records("function_line", table_kind)
    if any(r.measure == "决算数" for r in lines):
        lines = [r for r in lines if r.measure == "决算数"]
    return {r.name: r for r in lines if r.code and len(r.code) == 3 and r.total is not None}


@rule("XT01", "cross_table", "收支总表各类支出与支出总表的类级合计一致；财政拨款收支总表与一般公共预算支出表一致")
def class_totals(ctx: AuditContext) -> Iterator[Issue]:
    pairs = (("收支总表", "支出总表", None), ("财政拨款收支总表", "一般公共预算支出表", "一般公共预算"))
    for summary_kind, detail_kind, column in pairs:
        classes = _class_lines(ctx, detail_kind)
        for record in ctx.table_records("budget_total", summary_kind):
            line = classes.get(record.name)
            if record.side != "支出" or line is None:
                continue
            if column:
                key = next((k for k in record.breakdown if column in k), None)
                value = record.breakdown.get(key) if key else None
                field = key or "amount"
            else:
                value, field = record.amount, "amount"
            if value is None:
                continue
            issue = _compare(ctx, "XT01", f"“{record.name}”", record, field, value, line, "total", line.total)
            if issue:
                yield issue


@rule("XT02", "cross_table", "收入总表与支出总表各科目合计一致（预算）")
def income_vs_spending_lines(ctx: AuditContext) -> Iterator[Issue]:
    if ctx.is_final_accounts:
        return
    spending = {r.code: r for r in ctx.table_records("function_line", "支出总表") if r.code and r.total is not None}
    for record in ctx.table_records("function_line", "收入总表"):
        line = spending.get(record.code) if record.code else None
        if line is None or record.total is None:
            continue
        issue = _compare(ctx, "XT02", f"{record.code} {record.name}", record, "total", record.total, line, "total", line.total)
        if issue:
            yield issue


@rule("XT03", "cross_table", "总额的表间一致：本年收入/支出合计＝收入/支出总表合计，财政拨款支出＝一般公共预算支出表合计，"
      "基本支出＝经济分类表合计（该表覆盖的资金）")
def totals(ctx: AuditContext) -> Iterator[Issue]:
    income_table = _total_line(ctx, "收入总表")
    # a 收入总表 with a 上年结转 column totals 收入总计, one without it 本年收入合计
    table_carries = income_table is not None and any("结转" in column for column in income_table.other)
    income = _summary(ctx, "收支总表", "收入", *(("收入总计",) if table_carries else ("本年收入合计", "收入总计")))
    carried = [r for r in ctx.table_records("budget_total", "收支总表") if "结转" in r.name and (r.amount or 0) > 0]
    if income and income_table and (income.name == "本年收入合计" or table_carries or not carried):
        issue = _compare(ctx, "XT03", "本年收入合计", income, "amount", income.amount, income_table, "total", income_table.total)
        if issue:
            yield issue
    spending = _summary(ctx, "收支总表", "支出", "本年支出合计", "支出总计")
    spending_table = _total_line(ctx, "支出总表")
    if spending and spending_table and (spending.name == "本年支出合计" or not carried):
        issue = _compare(ctx, "XT03", "本年支出合计", spending, "amount", spending.amount, spending_table, "total",
                         spending_table.total)
        if issue:
            yield issue
    fiscal = _summary(ctx, "财政拨款收支总表", "支出", "本年支出合计", "支出总计")
    general = _total_line(ctx, "一般公共预算支出表")
    if fiscal and general:
        key = next((k for k in fiscal.breakdown if "一般公共预算" in k), None)
        if key and fiscal.breakdown[key] is not None:
            issue = _compare(ctx, "XT03", "一般公共预算财政拨款支出", fiscal, key, fiscal.breakdown[key], general, "total", general.total)
            if issue:
                yield issue
    econ = [r for r in ctx.table_records("econ_line", "基本支出表") if r.code is None and r.total is not None]
    econ_totals = [r for r in econ if r.name in ("合计", "总计")]
    econ_total = next((r for r in econ_totals if "一般公共预算" in r.table_title), econ_totals[0] if econ_totals else None)
    # a 基本支出表 that names no fund ('部门预算基本支出预算表') covers all funds: the 支出总表's 基本支出
    all_funds = econ_total is not None and not any(fund in econ_total.table_title for fund in ("一般公共预算", "财政拨款"))
    basic = _total_line(ctx, "支出总表" if all_funds else "一般公共预算支出表", "basic")
    if basic and econ_total:
        what = "基本支出" if all_funds else "一般公共预算基本支出"
        issue = _compare(ctx, "XT03", what, basic, "basic", basic.basic, econ_total, "total", econ_total.total)
        if issue:
            yield issue


@rule("XT04", "cross_table", "一般公共预算支出表的科目金额不超过支出总表同一科目（全部资金）")
def general_within_all_funds(ctx: AuditContext) -> Iterator[Issue]:
    all_funds = {r.code: r for r in ctx.table_records("function_line", "支出总表") if r.code and r.total is not None}
    for record in ctx.table_records("function_line", "一般公共预算支出表"):
        line = all_funds.get(record.code) if record.code else None
        if line is None or record.total is None or record.measure != line.measure:
            continue
        tolerance = ctx.record_tolerance(record, "total") + ctx.record_tolerance(line, "total")
        if record.total > line.total + tolerance + 1e-9:
            a = ctx.record_value(record, "total", record.table_title)
            b = ctx.record_value(line, "total", line.table_title)
            yield Issue(rule_id="XT04", family="cross_table", severity="error",
                        message=f"{record.code} {record.name}：一般公共预算支出{record.total:,.2f}万元大于全部支出{line.total:,.2f}万元",
                        page=a.page, bbox=a.bbox, values=[a, b], suggestion="核对两表该科目金额")


_COLUMNS = (("total", "合计"), ("basic", "基本支出"), ("project", "项目支出"))


# tables whose every line is at least the 一般公共预算 table's line: all funds, and all 财政拨款 (一般公共预算 + 政府性基金
# + 国有资本经营)
_WIDER_TABLES = ("支出总表", "财政拨款支出表")


@rule("XT05", "cross_table", "全部支出（或财政拨款）均为一般公共预算时，支出总表、财政拨款支出表与一般公共预算支出表逐行一致")
def all_general_budget_lines(ctx: AuditContext) -> Iterator[Issue]:
    """Each 一般公共预算 line is at most its line over all funds (XT04) and over all 财政拨款, so when the two tables'
    totals agree every line must agree too: a 款 or 项 that differs is a copying error in one of the tables."""
    for wider_kind in _WIDER_TABLES:
        for measure in {r.measure for r in ctx.table_records("function_line", "一般公共预算支出表")}:
            yield from _lines_of_equal_tables(ctx, wider_kind, measure)


def _lines_of_equal_tables(ctx: AuditContext, wider_kind: str, measure: str) -> Iterator[Issue]:
    general_total = _total_line(ctx, "一般公共预算支出表", measure=measure)
    all_total = _total_line(ctx, wider_kind, measure=measure)
    if general_total is None or all_total is None or _compare(ctx, "XT05", "", general_total, "total", general_total.total,
                                                               all_total, "total", all_total.total):
        return
    all_funds = {r.code: r for r in ctx.table_records("function_line", wider_kind, measure) if r.code}
    for record in ctx.table_records("function_line", "一般公共预算支出表", measure):
        line = all_funds.get(record.code) if record.code else None
        if line is None:
            continue
        for field, label in _COLUMNS:
            left, right = getattr(record, field, None), getattr(line, field, None)
            if left is None or right is None:
                continue
            issue = _compare(ctx, "XT05", f"{record.code} {record.name}{label}", record, field, left, line, field, right)
            if issue:
                yield issue
                break


@rule("XT06", "cross_table", "项目支出表各项目之和与覆盖同一资金的支出表（支出总表或一般公共预算支出表）的项目支出合计一致")
def project_table_total(ctx: AuditContext) -> Iterator[Issue]:
    """Extraction compares each project table with the 支出表 that covers the same funds (its funding columns); a
    project table lists every project of the budget, a 重点项目 table only some, so only it may fall short."""
    reported: set[str] = set()
    for record in ctx.records.get("project", []):
        check = next((c for c in record.checks if c.name == "projects_sum_vs_function_table" and c.status == "fail"), None)
        if check is None or record.table_title in reported:
            continue
        if check.actual < check.expected and record.table_kind != "项目支出表":
            continue
        reported.add(record.table_title)
        covering = check.detail.split(" of the ")[-1].removesuffix(" 合计 line")
        total_line = _total_line(ctx, covering, "project", record.measure)
        values = [ComparedValue(label=f"{record.table_title}各项目之和", value=check.actual, page=record.provenance.page)]
        if total_line is not None:
            values.append(ctx.record_value(total_line, "project", f"{total_line.table_title}项目支出"))
        yield Issue(rule_id="XT06", family="cross_table", severity="error",
                    message=f"{record.table_title}各项目之和{check.actual:,.2f}万元，{covering}项目支出{check.expected:,.2f}万元，表间不一致",
                    page=record.provenance.page, bbox=record.provenance.bbox, values=values,
                    suggestion="核对项目支出表与支出表的项目支出合计")
