"""Arithmetic inside tables: the consistency checks extraction attached to the records (children sum to parents,
columns sum to totals, 三公 parts, 收入总计 = 支出总计), plus the balance of each fund in the 财政拨款收支总表."""

from __future__ import annotations

from collections.abc import Iterator

from yusuan.model import Check, Record

from .context import AuditContext
from .model import Issue
from .registry import rule

_CHECK_NAMES = {
    "children_sum": "下级科目之和与上级不符",
    "columns_sum": "各列之和与合计不符",
    "sangong_parts": "三公经费合计不等于三项之和",
    "sangong_vehicle_parts": "公务用车购置及运行费不等于购置费与运行费之和",
    "sangong_units_sum": "三公经费合计不等于各单位之和",
    "funding_sum": "项目资金来源之和与项目总额不符",
    "projects_sum_vs_function_table": "项目之和与支出表项目支出不符",
    "income_equals_spending": "收入总计不等于支出总计",
    "income_total_parts": "收入总计不等于本年收入合计与上年结转之和",
}
# narrative checks are the text_table rules' job; 三公 parts are re-checked below with exact printed zeros
_CHECKED_HERE = ("narrative_vs_table", "projects_sum_vs_function_table", "sangong_parts", "sangong_vehicle_parts")
_FIELDS = {"total": "合计", "basic": "基本支出", "project": "项目支出", "personnel": "人员经费", "public": "公用经费", "amount": "金额"}


def _owner(check: Check, records: list[Record]) -> tuple[Record, str]:
    """The record whose printed figure is the check's expected value (the parent or total line)."""
    field = check.name.split(":")[1] if ":" in check.name else ""
    for record in records:
        for name in ([field] if field in _FIELDS else []) + ["total", "basic", "amount"]:
            value = getattr(record, name, None)
            if isinstance(value, float) and check.expected is not None and abs(value - check.expected) < 1e-6:
                return record, name
    return records[0], field or "total"


@rule("TA10", "table_arithmetic", "表内勾稽：下级科目之和、各列之和、三公分项之和、收支平衡")
def record_checks(ctx: AuditContext) -> Iterator[Issue]:
    failed: dict[tuple[str, str, str], list[Record]] = {}
    checks: dict[tuple[str, str, str], Check] = {}
    for record in ctx.extraction.records:
        for check in record.checks:
            if check.status != "fail" or check.name.startswith(_CHECKED_HERE):
                continue
            key = (record.table_title, check.name, check.detail)
            failed.setdefault(key, []).append(record)
            checks[key] = check
    for key, records in failed.items():
        check = checks[key]
        owner, field = _owner(check, records)
        kind = _CHECK_NAMES.get(check.name.split(":")[0], check.name)
        label = getattr(owner, "name", None) or owner.unit_name or ""
        shown = ctx.record_value(owner, field, f"{owner.table_title}：{label}{_FIELDS.get(field, '')}", check.expected)
        page, bbox = shown.page, shown.bbox
        yield Issue(
            rule_id="TA10", family="table_arithmetic", severity="error",
            message=f"{owner.table_title or owner.table_kind}“{label}”{kind}：表列{check.expected:,.2f}万元，计算得{check.actual:,.2f}万元",
            page=page, bbox=bbox, evidence=check.detail,
            values=[shown, *(ctx.record_value(r, field, f"{getattr(r, 'name', '')}") for r in records if r is not owner)][:8],
            suggestion="核对该行（列）与其组成部分",
        )


_FUNDS = ("一般公共预算", "政府性基金", "国有资本经营")


@rule("TA11", "table_arithmetic", "财政拨款收支总表分资金的收支平衡（各类资金收入＝该列支出总计）")
def fund_balance(ctx: AuditContext) -> Iterator[Issue]:
    lines = ctx.table_records("budget_total", "财政拨款收支总表")
    for measure in {r.measure for r in lines}:
        group = [r for r in lines if r.measure == measure]
        spending_total = next((r for r in group if r.side == "支出" and r.name == "支出总计"), None)
        if spending_total is None:
            continue
        for fund in _FUNDS:
            column = next((name for name in spending_total.breakdown if fund in name), None)
            income = [r for r in group if r.side == "收入" and fund in r.name and r.amount is not None]
            if column is None or not income or spending_total.breakdown[column] is None:
                continue
            spent = spending_total.breakdown[column]
            received = sum(r.amount for r in income)
            tolerance = sum(ctx.record_tolerance(r, "amount") for r in income) + ctx.record_tolerance(spending_total, "amount")
            if abs(spent - received) <= tolerance + 1e-9:
                continue
            shown = ctx.record_value(spending_total, column, f"{spending_total.table_title}：支出总计/{column}", spent)
            yield Issue(
                rule_id="TA11", family="table_arithmetic", severity="error",
                message=f"{spending_total.table_title}{fund}资金不平衡：收入{received:,.2f}万元，支出总计{spent:,.2f}万元",
                page=shown.page or spending_total.provenance.page, bbox=shown.bbox,
                values=[shown, *(ctx.record_value(r, "amount", f"收入：{r.name}") for r in income)],
                suggestion="核对该类资金的收入与支出",
            )


_SANGONG_SUMS = (
    ("total", ("overseas", "vehicle_total", "reception"), "三公经费合计不等于因公出国（境）费、公务用车购置及运行费、公务接待费之和"),
    ("vehicle_total", ("vehicle_purchase", "vehicle_operation"), "公务用车购置及运行费不等于购置费与运行费之和"),
)


def _printed_tolerance(ctx: AuditContext, record: Record, field: str) -> float:
    """A printed zero is exact; any other figure is off by up to half its last printed digit."""
    source = record.values.get(field)
    if source is not None and source.raw.strip() in ("0", "0.00", "-", ""):
        return 0.0
    return ctx.record_tolerance(record, field)


@rule("TA12", "table_arithmetic", "三公经费表：合计＝三项之和，公务用车购置及运行费＝购置费＋运行费")
def sangong_sums(ctx: AuditContext) -> Iterator[Issue]:
    for record in ctx.records.get("sangong", []):
        for total_field, part_fields, message in _SANGONG_SUMS:
            total = getattr(record, total_field)
            parts = [(f, getattr(record, f)) for f in part_fields if getattr(record, f) is not None]
            if total is None or len(parts) != len(part_fields):
                continue
            summed = sum(value for _, value in parts)
            tolerance = _printed_tolerance(ctx, record, total_field) + sum(_printed_tolerance(ctx, record, f) for f, _ in parts)
            if abs(total - summed) <= tolerance + 1e-9:
                continue
            shown = ctx.record_value(record, total_field, f"{record.table_title}：{_FIELDS.get(total_field, '合计')}")
            yield Issue(rule_id="TA12", family="table_arithmetic", severity="error",
                        message=f"{record.table_title}{message}：表列{total:,.2f}万元，分项之和{summed:,.2f}万元",
                        page=shown.page or record.provenance.page, bbox=shown.bbox,
                        values=[shown, *(ctx.record_value(record, f, f) for f, _ in parts)], suggestion="核对三公经费各项")
