"""Text vs table: every figure the 说明 states for a table quantity must be the table's figure."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from yusuan.extract.recognizers.base import title_key
from yusuan.model import Fact, Record

from .context import AuditContext, locate_raw
from .items import coded_lines, resolve, spending_lines, text_items
from .model import ComparedValue, Issue
from .registry import rule

_ORGAN_PREFIX = re.compile(r"^.*?(局|委员会|委|办公室|办公厅|办事处|中心|院|部|厅|会|所|站|馆|队)(?=.{2,})")
_YEAR_PREFIX = re.compile(r"^.*?\d{4}\s*年度?")


@dataclass(frozen=True)
class Target:
    kind: str
    table_kind: str
    field: str
    name: str | None = None  # a budget_total's line name, a function/econ total line's name


def _subject(fact: Fact) -> str:
    subject = title_key(fact.subject)
    subject = _YEAR_PREFIX.sub("", subject)
    return _ORGAN_PREFIX.sub("", subject) if not subject.startswith(("一般公共", "财政拨款", "政府性", "国有资本")) else subject


_TOTAL, _FISCAL = "收支总表", "财政拨款收支总表"
_STATED: dict[str, Target] = {
    "收入预算": Target("budget_total", _TOTAL, "amount", "收入总计"),
    "收支总预算": Target("budget_total", _TOTAL, "amount", "收入总计"),
    "收入支出总计": Target("budget_total", _TOTAL, "amount", "收入总计"),
    "收支总计": Target("budget_total", _TOTAL, "amount", "收入总计"),
    "支出预算": Target("budget_total", _TOTAL, "amount", "支出总计"),
    "收入合计": Target("budget_total", _TOTAL, "amount", "本年收入合计"),
    "本年收入合计": Target("budget_total", _TOTAL, "amount", "本年收入合计"),
    "支出合计": Target("budget_total", _TOTAL, "amount", "本年支出合计"),
    "本年支出合计": Target("budget_total", _TOTAL, "amount", "本年支出合计"),
    "事业收入": Target("budget_total", _TOTAL, "amount", "事业收入"),
    "其他收入": Target("budget_total", _TOTAL, "amount", "其他收入"),
    "财政拨款收入支出总计": Target("budget_total", _FISCAL, "amount", "收入总计"),
    "财政拨款收支总计": Target("budget_total", _FISCAL, "amount", "收入总计"),
    "财政拨款支出预算": Target("budget_total", _FISCAL, "amount", "支出总计"),
    "一般公共预算拨款支出预算": Target("function_line", "一般公共预算支出表", "total", "合计"),
    "一般公共预算财政拨款支出": Target("function_line", "一般公共预算支出表", "total", "合计"),
    "一般公共预算财政拨款基本支出": Target("function_line", "一般公共预算支出表", "basic", "合计"),
    "基本支出": Target("function_line", "支出总表", "basic", "合计"),
    "项目支出": Target("function_line", "支出总表", "project", "合计"),
    "人员经费": Target("econ_line", "基本支出表", "personnel", "人员经费"),
    "公用经费": Target("econ_line", "基本支出表", "public", "公用经费"),
    "三公经费": Target("sangong", "三公经费表", "total"),
    "“三公”经费": Target("sangong", "三公经费表", "total"),
    "因公出国(境)费": Target("sangong", "三公经费表", "overseas"),
    "公务用车购置及运行费": Target("sangong", "三公经费表", "vehicle_total"),
    "公务用车购置及运行维护费": Target("sangong", "三公经费表", "vehicle_total"),
    "公务用车购置费": Target("sangong", "三公经费表", "vehicle_purchase"),
    "公务用车运行费": Target("sangong", "三公经费表", "vehicle_operation"),
    "公务用车运行维护费": Target("sangong", "三公经费表", "vehicle_operation"),
    "公务接待费": Target("sangong", "三公经费表", "reception"),
}
# a 决算's 财政拨款收入 is the year's income; a budget's the whole 收入总计
_FISCAL_INCOME = {True: Target("budget_total", _FISCAL, "amount", "本年收入合计"),
                  False: Target("budget_total", _FISCAL, "amount", "收入总计")}


def stated_target(subject: str, final: bool) -> Target | None:
    """The table quantity a stated subject names (None: not a table quantity this rule knows)."""
    key = subject.replace("“", "").replace("”", "") if "三公" not in subject else subject
    if "财政拨款收入" in (subject, key):
        return _FISCAL_INCOME[final]
    return _STATED.get(subject) or _STATED.get(key)


def table_value(ctx: AuditContext, target: Target, measure: str) -> tuple[Record, str, float] | None:
    """The record and field a target reads, and its value; blank table cells are not compared."""
    candidates = [r for r in ctx.table_records(target.kind, target.table_kind) if r.measure == measure]
    if target.kind == "budget_total":
        record = next((r for r in candidates if r.name == target.name and r.amount is not None), None)
        return (record, "amount", record.amount) if record else None
    if target.kind == "sangong":
        totals = [r for r in candidates if r.unit_name in ("合计", "总计")] or (candidates if len(candidates) == 1 else [])
        record = totals[0] if totals else None
        value = getattr(record, target.field, None) if record else None
        return (record, target.field, value) if value is not None else None
    if target.kind == "econ_line":
        record = next((r for r in candidates if r.code is None and target.name in r.name and r.total is not None), None)
        if record is not None:
            return record, "total", record.total
        record = next((r for r in candidates if r.code is None and getattr(r, target.field, None) is not None), None)
        return (record, target.field, getattr(record, target.field)) if record else None
    record = next((r for r in candidates if r.code is None and getattr(r, target.field, None) is not None), None)
    return (record, target.field, getattr(record, target.field)) if record else None


def _mismatch(ctx: AuditContext, rule_id: str, label: str, text_value: ComparedValue, tolerance: float, record: Record,
              field: str, table_value: float, evidence: str) -> Issue | None:
    tolerance += ctx.record_tolerance(record, field)
    if abs(float(text_value.value) - table_value) <= tolerance + 1e-9:
        return None
    table = ctx.record_value(record, field, f"{record.table_title or record.table_kind}", table_value)
    return Issue(
        rule_id=rule_id, family="text_table", severity="error",
        message=f"说明中{label}为{text_value.raw}，与{table.label}所列{table_value:,.2f}万元不一致",
        page=text_value.page, bbox=text_value.bbox, values=[text_value, table], evidence=evidence,
        suggestion=f"核对{label}，使说明与{table.label}一致",
    )


def _plain(text: str) -> str:
    return re.sub(r"[\s“”\"()（）]", "", text)


def _named_before(paragraph, figure, subject: str) -> bool:
    """The figure a fact was read from is printed after its subject's words: a figure of another item on the same line
    ('附属单位上缴收入0.00万元、其他收入4200.00万元' read as 其他收入 0.00) is not the subject's."""
    return _plain(subject)[-4:] in _plain(paragraph.text[max(0, figure.start - 40) : figure.start])


@rule("TT01", "text_table", "说明中的总额（收支总计、财政拨款、本年收入/支出合计、基本/项目支出、人员/公用经费、三公及其分项）与表格一致")
def stated_totals(ctx: AuditContext) -> Iterator[Issue]:
    final = ctx.is_final_accounts
    seen: set[tuple] = set()
    for fact in ctx.records.get("fact", []):
        source = fact.values.get("value")
        if fact.value is None or fact.metric != "amount" or source is None or "%" in source.raw:
            continue
        subject = _subject(fact)
        target = stated_target(subject, final)
        if target is None:
            continue
        if final and target.kind == "sangong" and "决算" not in fact.sentence:
            continue
        measure = "决算数" if final and not subject.endswith("年初") else "预算数"
        found = table_value(ctx, target, measure)
        located = locate_raw(ctx, source.page, source.line, source.raw)
        if found is None or located is None:
            continue
        paragraph, figure = located
        if not _named_before(paragraph, figure, subject):
            continue
        key = (paragraph.page, figure.start, paragraph.text[:20])
        if key in seen:
            continue
        seen.add(key)
        record, field, value = found
        issue = _mismatch(ctx, "TT01", subject, ctx.text_value(paragraph, figure, f"说明：{subject}"), 2 * figure.tolerance,
                          record, field, value, fact.sentence)
        if issue:
            yield issue


@rule("TT02", "text_table", "说明中逐项列出的功能分类科目金额与一般公共预算支出表一致")
def item_amounts(ctx: AuditContext) -> Iterator[Issue]:
    lines = spending_lines(ctx)
    if not lines:
        return
    final = ctx.is_final_accounts
    tables = [lines] + [coded_lines(ctx, kind) for kind in _OTHER_ITEM_TABLES]
    for item in text_items(ctx):
        figure = item.figure_after("支出决算为", "决算数为", "决算为") if final else item.amount
        if figure is None:
            continue
        line = _disagreeing_line(ctx, item, figure, tables)
        if line is None:
            continue
        name = item.path[-1].name
        issue = _mismatch(ctx, "TT02", f"“{name}”{'决算数' if final else '金额'}",
                          ctx.text_value(item.paragraph, figure, f"说明：{name}"), 2 * figure.tolerance, line, "total",
                          line.total, item.text[:120])
        if issue:
            yield issue


# the 说明 may describe an item from any table that holds it: the 一般公共预算 table (first), the 财政拨款 table, a
# fund's own table, or the 支出总表 (the 支出预算 section describes all funds)
_OTHER_ITEM_TABLES = ("财政拨款支出表", "政府性基金支出表", "国有资本经营支出表", "支出总表")


def _disagreeing_line(ctx: AuditContext, item, figure, tables: list[list[Record]]) -> Record | None:
    """The line to report an item's figure against: None when the figure agrees with the item's line in any of the
    tables that hold it, else the first such line."""
    found = [line for lines in tables if (line := resolve(item, lines)) is not None and line.total is not None]
    tolerance = 2 * figure.tolerance
    if any(abs(figure.value - line.total) <= tolerance + ctx.record_tolerance(line, "total") + 1e-9 for line in found):
        return None
    return found[0] if found else None


_FUNDS = {"政府性基金": "政府性基金支出表", "国有资本经营": "国有资本经营支出表"}
_NONE_STATED = re.compile(r"无(?P<fund>政府性基金|国有资本经营)预算")


@rule("TT03", "text_table", "说明称无某类预算（政府性基金、国有资本经营），而该表列有金额")
def blank_table_contradicted(ctx: AuditContext) -> Iterator[Issue]:
    for fund, table_kind in _FUNDS.items():
        lines = ctx.table_records("function_line", table_kind)
        amounts = [(r, f) for r in lines for f in ("total", "basic", "project") if (getattr(r, f, None) or 0) > 0]
        for paragraph in ctx.body_paragraphs:
            for match in _NONE_STATED.finditer(paragraph.text):
                if match["fund"] != fund or not amounts:
                    continue
                record, field = amounts[0]
                page, bbox = paragraph.place(match.start(), match.end())
                yield Issue(
                    rule_id="TT03", family="text_table", severity="error",
                    message=f"说明称无{fund}预算，但{record.table_title or table_kind}列有金额",
                    page=page, bbox=bbox, evidence=paragraph.text[max(0, match.start() - 20) : match.end() + 20],
                    values=[ComparedValue(label="说明", value=match.group(0), raw=match.group(0), page=page, bbox=bbox),
                            ctx.record_value(record, field, record.table_title or table_kind)],
                    suggestion="核对表格与说明，二者应一致",
                )
