"""功能分类 items named in the text ('公共安全支出(204类)司法(06款)行政运行(01项)1672.67万元') and the table lines
they stand for."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from yusuan.model import FunctionLine

from .context import AuditContext, Figure, Paragraph, money_figures

# a name may hold a bracketed word of its own ('党委办公厅(室)及相关机构事务(款)')
_MARKER = re.compile(r"(?P<name>(?:[\u4e00-\u9fff、“”\"]|[（(][\u4e00-\u9fff]{1,4}(?<![类款项])[)）])+?)"
                     r"\s*[（(]\s*(?P<code>\d{2,3})?\s*(?P<level>类|款|项)\s*[)）]")
# what may stand between an item's path and its amount: '…(项)支出 471.06万元', '…(项)预算为 12.00万元'
_AMOUNT_LEAD = re.compile(r"[\s”\"]*(?:支出)?(?:预算)?(?:数)?(?:为|安排)?\s*[:：]?")
_ANY_MARKER = re.compile(r"[（(]\s*\d{0,3}\s*[类款项]\s*[)）]")
_LEVELS = ("类", "款", "项")
SPENDING_TABLES = ("一般公共预算支出表", "支出总表")
# every table a 说明 item may describe: the 政府性基金 and 国有资本经营 sections name their own tables' 科目
FUNCTION_TABLES = (*SPENDING_TABLES, "财政拨款支出表", "政府性基金支出表", "国有资本经营支出表")


@dataclass
class NamedLevel:
    name: str
    code: str | None
    level: str
    start: int
    end: int


@dataclass
class TextItem:
    """One item of the 说明: its 类/款/项 path as printed, the amount printed right after it, and its segment."""

    paragraph: Paragraph
    start: int  # segment start within the paragraph text
    text: str
    path: list[NamedLevel]
    amount: Figure | None

    @property
    def full_code(self) -> str | None:
        codes = [level.code for level in self.path]
        if not codes or any(code is None for code in codes):
            return None
        return "".join(codes)

    def figure_after(self, *labels: str) -> Figure | None:
        """The first amount printed after one of the labels ('年初预算为', '支出决算为')."""
        for label in labels:
            index = self.text.find(label)
            if index >= 0:
                found = money_figures(self.text[index:], self.start + index)
                if found and found[0].start - (self.start + index) <= len(label) + 3:
                    return found[0]
        return None


def text_items(ctx: AuditContext) -> list[TextItem]:
    """The 说明's 功能分类 items, read once per document."""
    return ctx.derived(_read_items)


def _read_items(ctx: AuditContext) -> list[TextItem]:
    items: list[TextItem] = []
    for paragraph in ctx.body_paragraphs:
        if not _ANY_MARKER.search(paragraph.text):
            continue
        for start, text in paragraph.segments():
            path: list[NamedLevel] = []
            position = 0
            for match in _MARKER.finditer(text):
                if match.start() - position > (12 if not path else 3):
                    break
                name = match["name"].strip("、“”\"")
                name = re.sub(r"^[\d一二三四五六七八九十]+[、.．]", "", name)
                path.append(NamedLevel(name, match["code"], match["level"], start + match.start(), start + match.end()))
                position = match.end()
            if not path or [p.level for p in path] != list(_LEVELS[_LEVELS.index(path[0].level) :][: len(path)]):
                continue
            after = money_figures(text[position:], start + position)
            lead = _AMOUNT_LEAD.match(text, position)
            amount = after[0] if after and after[0].start - (start + position) <= len(lead.group(0)) + 1 else None
            items.append(TextItem(paragraph, start, text, path, amount))
    return items


def coded_lines(ctx: AuditContext, table_kind: str) -> list[FunctionLine]:
    """A function table's coded lines, only its 决算数 when it prints them beside other measures."""
    lines = [r for r in ctx.table_records("function_line", table_kind) if r.code]
    if any(line.measure == "决算数" for line in lines):
        lines = [line for line in lines if line.measure == "决算数"]
    return lines


def spending_lines(ctx: AuditContext) -> list[FunctionLine]:
    """The 一般公共预算 支出 table's coded lines (or the 支出总表's when there is none), 决算数 first for 决算."""
    return next((lines for table_kind in SPENDING_TABLES if (lines := coded_lines(ctx, table_kind))), [])


def all_spending_lines(ctx: AuditContext) -> list[FunctionLine]:
    """One line per 科目 code over every spending table (the 一般公共预算 table's first): the 科目 names the text may use."""
    by_code: dict[str, FunctionLine] = {line.code: line for line in spending_lines(ctx)}
    for table_kind in FUNCTION_TABLES:
        for line in ctx.table_records("function_line", table_kind):
            if line.code:
                by_code.setdefault(line.code, line)
    return list(by_code.values())


def resolve(item: TextItem, lines: list[FunctionLine]) -> FunctionLine | None:
    """The table line of an item: by its printed codes, else by its printed names (项 under its 款 under its 类)."""
    code = item.full_code
    if code:
        return next((line for line in lines if line.code == code), None)
    by_code = {line.code: line for line in lines}
    names = [level.name for level in item.path]
    for line in lines:
        if _depth(line.code) != _depth_of(item) or not same_name(line.name, names[-1]):
            continue
        chain, current = [], line
        while current is not None:
            chain.insert(0, current.name)
            current = by_code.get(current.parent_code) if current.parent_code else None
        printed_chain = len(chain) >= len(names) and all(same_name(a, b) for a, b in zip(chain[-len(names) :], names, strict=True))
        if printed_chain:
            return line
    return None


def same_name(printed: str, other: str) -> bool:
    """The same 科目 name, whatever the spaces, quotes and brackets, and 其它 written for 其他."""
    return _plain_name(printed) == _plain_name(other)


_NAME_NOISE = re.compile(r"[\s“”\"()（）]")


@lru_cache(maxsize=4096)  # every text item is compared with every table line's name
def _plain_name(name: str) -> str:
    return _NAME_NOISE.sub("", name).replace("其它", "其他")


def _depth(code: str | None) -> int:
    return {3: 1, 5: 2, 7: 3}.get(len(code or ""), 0)


def _depth_of(item: TextItem) -> int:
    return _LEVELS.index(item.path[-1].level) + 1
