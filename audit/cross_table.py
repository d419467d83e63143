"""Arithmetic across tables: the same quantity printed in two tables must agree (收支总表 ↔ 收入/支出总表,
财政拨款收支总表 ↔ 一般公共预算支出表, 基本支出 ↔ 经济分类表), and a 一般公共预算 line cannot exceed the same line
over all funds."""

from __future__ import annotations

from collections.abc import Iterator

from yusuan.model import Record

from .context import AuditContext
from .model import Issue
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
      "基本支出＝经济分类表合计")
def totals(ctx: AuditContext) -> Iterator[Issue]:
    income = _summary(ctx, "收支总表", "收入", "本年收入合计", "收入总计")
    income_table = _total_line(ctx, "收入总表")
    carried = [r for r in ctx.table_records("budget_total", "收支总表") if "结转" in r.name and (r.amount or 0) > 0]
    if income and income_table and (income.name == "本年收入合计" or not carried):
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
    basic = _total_line(ctx, "一般公共预算支出表", "basic")
    econ = [r for r in ctx.table_records("econ_line", "基本支出表") if r.code is None and r.total is not None]
    econ_total = next((r for r in econ if r.name in ("合计", "总计")), None)
    if basic and econ_total:
        issue = _compare(ctx, "XT03", "一般公共预算基本支出", basic, "basic", basic.basic, econ_total, "total", econ_total.total)
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


@rule("XT05", "cross_table", "全部支出均为一般公共预算拨款时（两表合计相等），支出总表与一般公共预算支出表逐行逐列一致")
def all_general_budget_lines(ctx: AuditContext) -> Iterator[Issue]:
    """Each 一般公共预算 line is at most its all-funds line (XT04), so when the two tables' totals agree every line must
    agree too: a 款 or 项 that differs is a copying error in one of the tables."""
    for measure in {r.measure for r in ctx.table_records("function_line", "一般公共预算支出表")}:
        general_total = _total_line(ctx, "一般公共预算支出表", measure=measure)
        all_total = _total_line(ctx, "支出总表", measure=measure)
        if general_total is None or all_total is None or _compare(ctx, "XT05", "", general_total, "total", general_total.total,
                                                                   all_total, "total", all_total.total):
            continue
        all_funds = {r.code: r for r in ctx.table_records("function_line", "支出总表", measure) if r.code}
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
