"""Completeness: the standard tables of the document's kind are present and in order, an empty table carries its
note, and the 说明 has its required sections. Checked only once the document shows the standard layout (most of the
standard tables or sections present): a document that follows another template is not judged by this one."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import pairwise

from yusuan.model import Grid

from .context import AuditContext, Paragraph
from .model import ComparedValue, Issue
from .registry import rule


@dataclass(frozen=True)
class StandardTable:
    name: str
    matches: Callable[[str], bool]


def _has(*words: str, without: tuple[str, ...] = ()) -> Callable[[str], bool]:
    return lambda title: all(w in title for w in words) and not any(w in title for w in without)


BUDGET_TABLES = (
    StandardTable("财务收支预算总表", _has("收支", "总表", without=("财政拨款",))),
    StandardTable("收入预算总表", _has("收入", "总表", without=("收支", "财政拨款"))),
    StandardTable("支出预算总表", _has("支出", "总表", without=("收支", "财政拨款", "收入"))),
    StandardTable("财政拨款收支预算总表", _has("财政拨款", "收支", without=("决算",))),
    StandardTable("一般公共预算支出功能分类预算表", _has("一般公共预算", "支出", without=("基本支出", "经济分类", "三公", "收支", "总表"))),
    StandardTable("政府性基金预算支出功能分类预算表", _has("政府性基金")),
    StandardTable("国有资本经营预算支出功能分类预算表", _has("国有资本经营")),
    StandardTable("一般公共预算基本支出经济分类预算表", _has("基本支出")),
    StandardTable("“三公”经费和机关运行经费预算表", _has("三公")),
)
FINAL_TABLES = (
    StandardTable("收入支出决算总表", _has("收入支出决算总表", without=("财政拨款",))),
    StandardTable("收入决算表", _has("收入决算表")),
    StandardTable("支出决算表", lambda t: t.endswith("支出决算表") and not any(w in t for w in ("一般公共预算", "基本", "三公", "收入"))),
    StandardTable("财政拨款收入支出决算总表", _has("财政拨款收入支出决算总表")),
    StandardTable("一般公共预算财政拨款支出决算表", _has("一般公共预算财政拨款", "支出决算表", without=("基本支出",))),
    StandardTable("一般公共预算财政拨款基本支出决算表", _has("基本支出决算表")),
    StandardTable("财政拨款“三公”经费支出决算表", _has("三公")),
    StandardTable("政府性基金预算财政拨款收入支出决算表", _has("政府性基金")),
    StandardTable("国有资本经营预算财政拨款收入支出决算表", _has("国有资本经营")),
)
BUDGET_SECTIONS = ("“三公”经费", "机关运行经费", "政府采购", "绩效目标", "国有资产")
FINAL_SECTIONS = ("收入支出决算总体情况", "收入决算情况", "支出决算情况", "财政拨款收入支出决算总体情况",
                  "一般公共预算财政拨款支出决算情况", "一般公共预算财政拨款基本支出决算情况", "“三公”经费",
                  "政府性基金预算财政拨款收入支出决算情况", "国有资本经营预算财政拨款收入支出决算情况", "预算绩效管理",
                  "机关运行经费", "政府采购", "国有资产")
_EMPTY_NOTE = re.compile(r"无数据|空表|本表无|无发生[额数]|无[^，,。]{0,16}(?:安排|支出|收入|预算)")
_TITLE_LINE = re.compile(r"^(?:\d+[.、．]?\s*)?(?:20\d{2}\s*年度?)?.{0,40}表$")


def _key(text: str) -> str:
    return re.sub(r"[\s“”\"()（）]", "", text)


def _standard(ctx: AuditContext) -> tuple[StandardTable, ...]:
    return FINAL_TABLES if ctx.is_final_accounts else BUDGET_TABLES


def _table_titles(ctx: AuditContext) -> list[tuple[str, int | None, Paragraph | None]]:
    """Every printed table title in the body: grid titles and title-like lines (some tables print theirs as text)."""
    titles: list[tuple[str, int | None, Paragraph | None]] = [(_key(g.title), g.page, None) for g in ctx.grids if g.title]
    for paragraph in ctx.body_paragraphs:
        text = _key(paragraph.text)
        if _TITLE_LINE.match(text) and len(paragraph.lines) <= 2:
            titles.append((text, paragraph.page, paragraph))
    return sorted(titles, key=lambda item: item[1] or 0)


def _found(ctx: AuditContext) -> dict[str, int | None]:
    """The standard tables printed, each with the page of its title (read once per document)."""
    return ctx.derived(_find_standard_tables)


def _find_standard_tables(ctx: AuditContext) -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    for title, page, _ in _table_titles(ctx):
        for table in _standard(ctx):
            if table.name not in found and table.matches(title):
                found[table.name] = page
                break
    return found


def _listed_in_contents(ctx: AuditContext) -> set[str]:
    body = {id(p) for p in ctx.body_paragraphs}
    entries = [_key(re.sub(r"[.…·\s]+\d*$", "", p.text)) for p in ctx.paragraphs if id(p) not in body]
    return {table.name for table in _standard(ctx) for entry in entries if table.matches(entry)}


def _on_standard_layout(ctx: AuditContext, found: dict[str, int | None]) -> bool:
    """The current nine-table template (2020 onwards) with nearly all of its tables: only such a document is judged
    by the template's set, order and sections (earlier provincial templates print other tables in another order)."""
    return (ctx.meta.year or 0) >= 2020 and len(found) >= len(_standard(ctx)) - 2


@rule("CP01", "completeness", "标准公开表齐全（部门/单位预算九张表、部门决算九张表）")
def standard_tables(ctx: AuditContext) -> Iterator[Issue]:
    """A table is required when the 目录 lists it, or (2020 onwards, when nearly all nine are there) by the standard set."""
    found = _found(ctx)
    standard = _standard(ctx)
    listed = _listed_in_contents(ctx)
    whole_set = _on_standard_layout(ctx, found)
    for table in standard:
        if table.name not in found and (table.name in listed or whole_set):
            yield Issue(rule_id="CP01", family="completeness", severity="error", message=f"缺少“{table.name}”",
                        page=None, suggestion=f"补充公开“{table.name}”（无数据时公开空表并注明）",
                        values=[ComparedValue(label="应有表格", value=table.name)])


@rule("CP02", "completeness", "标准公开表按规定顺序排列")
def table_order(ctx: AuditContext) -> Iterator[Issue]:
    found = _found(ctx)
    names = [t.name for t in _standard(ctx) if t.name in found and found[t.name] is not None]
    if not _on_standard_layout(ctx, found):
        return
    for before, after in pairwise(names):
        if found[after] < found[before]:
            yield Issue(rule_id="CP02", family="completeness", severity="warning",
                        message=f"“{after}”（第{found[after]}页）排在“{before}”（第{found[before]}页）之前，顺序不符",
                        page=found[after], suggestion="按规定顺序排列公开表",
                        values=[ComparedValue(label=before, value=found[before]), ComparedValue(label=after, value=found[after])])


# a row numbering the columns ('** ** 1', '栏次 1 2 3') holds no amounts
_COLUMN_NUMBER = re.compile(r"|\*+|栏次|行次|\d{1,2}")


def _has_amount(grid: Grid) -> bool:
    from yusuan.extract.numbers import parse_amount

    for row in grid.rows:
        if all(_COLUMN_NUMBER.fullmatch(cell.text.strip()) for cell in row):
            continue
        for cell in row:
            amount = parse_amount(cell.text)
            if amount is not None and amount.value != 0 and not re.fullmatch(r"\d{2,7}", cell.text.strip()):
                return True
    return False


def _grids_by_title(ctx: AuditContext, words: tuple[str, ...]) -> list[Grid]:
    return [g for g in ctx.grids if g.title and all(w in _key(g.title) for w in words)]


_FUND_WORDS = ("政府性基金", "国有资本经营")


@rule("CP03", "completeness", "空表须注明“本表无数据”（或无此类预算安排），注释所说的资金与表一致，注明空表的表不应有数")
def empty_table_note(ctx: AuditContext) -> Iterator[Issue]:
    standard_layout = _on_standard_layout(ctx, _found(ctx))
    for fund in _FUND_WORDS:
        for grid in _grids_by_title(ctx, (fund,)):
            note = " ".join(line.text for line in grid.note) + " " + " ".join(c.text for row in grid.rows for c in row)
            states_empty = bool(_EMPTY_NOTE.search(note.replace("没有", "无")))
            title_box = grid.title_line.bbox if grid.title_line else None
            explained_in_text = not standard_layout and _text_says_none(ctx, fund)
            if not _has_amount(grid) and not states_empty and not _stated_nearby(ctx, grid) and not explained_in_text:
                yield Issue(rule_id="CP03", family="completeness", severity="warning",
                            message=f"“{grid.title}”为空表，但未注明本表无数据（无此类预算安排）",
                            page=grid.page, bbox=title_box, suggestion="在表下注明“本表无数据”及原因",
                            values=[ComparedValue(label="表格", value=grid.title, page=grid.page, bbox=title_box)])
            elif _has_amount(grid) and states_empty and grid.note:
                yield Issue(rule_id="CP03", family="completeness", severity="error",
                            message=f"“{grid.title}”注明为空表，但表中有数", page=grid.page, bbox=title_box,
                            suggestion="核对表格与注释", evidence=" ".join(line.text for line in grid.note),
                            values=[ComparedValue(label="注释", value=" ".join(line.text for line in grid.note))])
            yield from _note_of_other_fund(ctx, grid, fund)
    for grid in ctx.grids:
        if grid.title and not any(fund in _key(grid.title) for fund in _FUND_WORDS):
            yield from _filled_table_said_empty(grid)


# a note that calls the whole table empty (not one of its funds: '无政府性基金安排' under a 收支总表 is no such note)
_WHOLE_TABLE_EMPTY = re.compile(r"本表(?:为)?空表|本表无数据|(?:本表|此表)(?:为空|无数)|以空表列示")


def _filled_table_said_empty(grid: Grid) -> Iterator[Issue]:
    """Any other table ('三公'经费表…) whose note calls it empty while it prints amounts."""
    note = " ".join(line.text for line in grid.note)
    if note and _WHOLE_TABLE_EMPTY.search(note) and _has_amount(grid):
        title_box = grid.title_line.bbox if grid.title_line else None
        yield Issue(rule_id="CP03", family="completeness", severity="error", message=f"“{grid.title}”注明为空表，但表中有数",
                    page=grid.page, bbox=title_box, suggestion="核对表格与注释：有数则删去空表说明，无数则清空表格",
                    evidence=note, values=[ComparedValue(label="注释", value=note)])


def _note_of_other_fund(ctx: AuditContext, grid: Grid, fund: str) -> Iterator[Issue]:
    """An empty table's note copied from the other fund's table: '无政府性基金预算…' under the 国有资本经营 table."""
    shares_page = any(other is not grid and other.page == grid.page for other in ctx.grids)
    notes = list(grid.note) + ([] if shares_page else [line for p in ctx.body_paragraphs if p.page == grid.page for line in p.lines])
    for line in notes:
        other = next((f for f in _FUND_WORDS if f != fund and f"无{f}" in line.text.replace("没有", "无")), None)
        if other and fund not in line.text and _EMPTY_NOTE.search(line.text):
            yield Issue(rule_id="CP03", family="completeness", severity="error",
                        message=f"“{grid.title}”的注释写的是“无{other}”，与本表（{fund}）不符", page=line.page, bbox=line.bbox,
                        evidence=line.text, suggestion=f"改为“无{fund}预算…”",
                        values=[ComparedValue(label="注释", value=line.text, raw=line.raw, page=line.page, bbox=line.bbox)])
            return


def _text_says_none(ctx: AuditContext, fund: str) -> bool:
    """The 说明 says the organ has no such money (or states it as 0): the earlier provincial templates (Jiangsu 2017–2019) explain an empty
    table in its 情况说明, not in a note under it; the current template requires the note."""
    none = re.compile(rf"(?:无|没有|未安排){fund}(?:预算|收入|支出|拨款|安排)"
                      rf"|{fund}[^。；;，,\d]{{0,16}}?(?<![\d.])0(?:\.0+)?\s*万?元")  # or states it as 0 ('…政府性基金支出预算支出 0万元')
    return any(none.search(p.text) for p in ctx.body_paragraphs)


def _stated_nearby(ctx: AuditContext, grid: Grid) -> bool:
    """An empty table's note may be printed as a paragraph right after it, on the same page."""
    return any(p.page == grid.page and _EMPTY_NOTE.search(p.text.replace("没有", "无")) for p in ctx.body_paragraphs)


@rule("CP04", "completeness", "说明的必备部分齐全（三公经费、机关运行经费、政府采购、绩效、国有资产；决算各表的情况说明）")
def required_sections(ctx: AuditContext) -> Iterator[Issue]:
    if not _on_standard_layout(ctx, _found(ctx)):
        return
    sections = FINAL_SECTIONS if ctx.is_final_accounts else BUDGET_SECTIONS
    text = _key("".join(p.text for p in ctx.body_paragraphs if p.section or p.lines[0].heading))
    headings = _key("".join(p.text for p in ctx.body_paragraphs if p.lines and p.lines[0].heading))
    present = [s for s in sections if _key(s) in headings]
    if len(present) < len(sections) // 2 + 1:
        return
    for section in sections:
        if _key(section) not in headings and _key(section) + "情况" not in text:
            yield Issue(rule_id="CP04", family="completeness", severity="error", message=f"说明缺少“{section}”部分",
                        suggestion=f"补充“{section}”的情况说明", values=[ComparedValue(label="应有部分", value=section)])
