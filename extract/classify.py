"""Is a file a budget disclosure (部门/单位 预算 or 决算, 绩效目标表), and which kind? Decided from its content.

A crawl of "budget" pages brings notices, bulletins, forms and statistics saved under budget-like names; they are
told apart by what they print: the cover or first title line (a disclosure's names 部门预算 / 单位预算 / 决算 /
预算公开; a notice's ends in 通知 / 通报 / 公报 / 申请表 …), the standard budget tables found, and the density of
budget vocabulary. Project files (SOURCES.md, README …) are never documents.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePath

from yusuan.model import IngestedDocument

from .recognizers import title_kind

PROJECT_FILES = ("readme", "sources", "license", "licence", "changelog", "contributing", "authors", "notice")

# a title that announces a disclosure: 部门预算, 单位预算, 部门决算, 预算公开, 预算情况说明, 绩效目标表 …
DISCLOSURE_TITLE = re.compile(
    r"(部门|单位|机关)(整体)?(预算|决算)|(预算|决算|预决算)(公开|情况说明|编制说明)|绩效目标(表|申报)"
    r"|(市级|区级|县级|省级|本级)(部门|单位)?(预算|决算)"
)
# a title that names another genre: the document is a notice, bulletin, form, report or statistics
OTHER_GENRE = re.compile(
    r"(通知|通告|公告|公报|通报|申请表|流程图|工作报告|工作总结|工作计划|实施方案|实施意见|实施细则|办法|规划|决定|批复"
    r"|意见|纪要|的函|主要指标|统计表|统计公报|简报)[)）》」]*$"
)
# a dispatch number (泉气函〔2024〕31号) or a gazette heading marks an official document, not a disclosure
DISPATCH = re.compile(r"[\u4e00-\u9fff]{1,8}[〔\[［(（]\s*20\d{2}\s*[〕\]］)）]\s*\d{1,4}\s*号|人民政府公报")
BUDGET_TERMS = (
    "财政拨款", "一般公共预算", "基本支出", "项目支出", "三公", "机关运行经费", "政府采购", "人员经费", "公用经费",
    "政府性基金", "国有资本经营", "功能分类", "经济分类", "收支总表", "预算数", "决算数", "绩效目标", "国有资产占用",
)
TOTAL_LABELS = re.compile(r"^(本年)?(收入|支出)(总计|合计)$")
MIN_STANDARD_TABLES = 2  # two distinct standard budget tables make a disclosure whatever its title
MIN_TERMS = 5  # distinct budget terms that make a narrative a disclosure without a title saying so
TITLE_LINES = 8
MIN_SCAN_TEXT = 200  # characters a scan must yield (by OCR) before its content can say what it is


@dataclass
class Classification:
    is_disclosure: bool
    reason: str
    title: str = ""
    standard_tables: list[str] = field(default_factory=list)
    budget_terms: int = 0


def is_project_file(source: str) -> bool:
    return PurePath(source).stem.lower() in PROJECT_FILES


def title_lines(doc: IngestedDocument, limit: int = TITLE_LINES) -> list[str]:
    """The cover / first title lines: short lines before the first table (the first table's title when the
    document starts with a table)."""
    lines: list[str] = []
    for block in doc.blocks:
        if block.kind == "table":
            if not lines and block.grid and block.grid.title:
                lines.append(block.grid.title)
            break
        for line in block.lines:
            text = line.text.strip()
            if text and len(text) <= 60:
                lines.append(text)
        if len(lines) >= limit:
            break
    return lines[:limit]


def classify_document(doc: IngestedDocument, table_titles: list[str]) -> Classification:
    if is_project_file(doc.source):
        return Classification(False, f"project file ({PurePath(doc.source).name}), not a document")
    text = "\n".join(line.text for block in doc.blocks for line in block.lines)
    cells = [cell.text for block in doc.blocks if block.grid for row in block.grid.rows for cell in row if cell.text]
    scanned = doc.pages_needing_ocr or any("no text layer" in warning for warning in doc.warnings)
    if scanned and len(text) + sum(map(len, cells)) < MIN_SCAN_TEXT:
        return Classification(True, "scanned pages with too little text read to tell: kept, reported as needing OCR")
    titles = title_lines(doc)
    compact = [re.sub(r"\s+", "", title) for title in titles]
    standard = sorted({kind for title in table_titles if (kind := title_kind(title))})
    all_text = text + "\n" + "\n".join(cells)
    terms = Counter(term for term in BUDGET_TERMS if term in all_text)
    found = {"standard_tables": standard, "budget_terms": len(terms)}
    cover = next((title for title in compact if DISCLOSURE_TITLE.search(title) and not OTHER_GENRE.search(title)), "")
    genre = next((title for title in compact[:4] if OTHER_GENRE.search(title) or DISPATCH.search(title)), "")
    if genre and len(standard) < MIN_STANDARD_TABLES and not cover:
        return Classification(False, f"its title '{genre}' names another kind of document", title=genre, **found)
    if cover:
        return Classification(True, f"title '{cover}'", title=cover, **found)
    table_title = next((title for title in table_titles if DISCLOSURE_TITLE.search(title)), "")
    if table_title:
        return Classification(True, f"table title '{table_title}'", title=table_title, **found)
    if len(standard) >= MIN_STANDARD_TABLES:
        return Classification(True, f"standard budget tables: {', '.join(standard)}", **found)
    if len(terms) >= MIN_TERMS:
        return Classification(True, f"budget vocabulary: {', '.join(terms)}", **found)
    if any(TOTAL_LABELS.match(cell) for cell in cells):
        return Classification(True, "a budget table with 收入/支出 totals", **found)
    first = compact[0] if compact else ""
    return Classification(
        False, f"no budget title (first line '{first}'), {len(standard)} standard budget tables, "
        f"{len(terms)} budget terms", title=first, **found,
    )


# The standard tables of each kind of disclosure (财政部's 9 公开表 for budgets and final accounts), by table kind
# (recognizers.title_kind); a printed table counts when its title names the kind or one of its alternates.
STANDARD_TABLES: dict[str, tuple[str, ...]] = {
    "预算": ("收支总表", "收入总表", "支出总表", "财政拨款收支总表", "一般公共预算支出表", "基本支出表", "三公经费表",
             "政府性基金支出表", "国有资本经营支出表"),
    "绩效": ("绩效目标表",),
}
STANDARD_TABLES["决算"] = STANDARD_TABLES["预算"]
ALTERNATES = {"基本支出表": ("财政拨款基本支出表",), "绩效目标表": ("整体绩效目标表",)}


def table_coverage(doc_kind: str | None, table_kinds: list[str]) -> dict[str, object]:
    """Which standard tables of the document's kind were found (by table title or by the records built), which are
    missing, and the other budget tables printed (项目支出表, 绩效目标表 … where the region prints them)."""
    family = next((word for word in ("绩效", "决算", "预算") if doc_kind and word in doc_kind), "预算")
    present = set(table_kinds)
    standard = STANDARD_TABLES[family]
    found = [kind for kind in standard if present & {kind, *ALTERNATES.get(kind, ())}]
    covered = set(found) | {alternate for kind in found for alternate in ALTERNATES.get(kind, ())}
    return {
        "standard": family,
        "found": found,
        "missing": [kind for kind in standard if kind not in found],
        "other": sorted(present - covered),
    }
