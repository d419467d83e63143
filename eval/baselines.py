"""Baseline extractors that researchers would compare yusuan against. None reuses yusuan's ingest or extract code;
only the record schema (docs/schema.md) is shared.

* ``pdfplumber-keywords``: tables from ``pdfplumber`` (PDF) or tab-separated lines (text; one-cell-per-line files
  are regrouped into rows at blank lines), table kind from title keywords, columns mapped to schema fields by
  header keywords, unit from the ``单位：元/万元`` line.
* ``camelot-keywords``: the same header-keyword mapping over ``camelot`` lattice tables (PDF only; text files go
  through the same tab reader as pdfplumber-keywords). Needs the optional ``camelot-py`` package.
* ``regex-text``: regular expressions over plain text lines (``pdfplumber`` ``extract_text`` for PDFs, the raw
  lines with tabs as spaces for text): 科目编码 + name + numbers, two-sided 收支总表 lines, 三公 rows, narrative
  sentences (``…X万元，比上年增加Y万元，增长Z%``) as facts, unit lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .extractors import BaseExtractor
from .normalize import key_text

BASELINE_VERSION = "1.0"

# --------------------------------------------------------------------------------------------- cells and numbers

_MONEY = re.compile(r"^[-+]?\d[\d,]*(?:\.\d+)?$")
_CODE = re.compile(r"^\d{3}(?:\s?\d{2}){0,2}$")
_UNIT = re.compile(r"(?<!编制)(?<!填报)单位\s*[:：]\s*(万元|元|亿元)")
_BARE_UNIT = re.compile(r"[（(]\s*(万元|元)\s*[)）]")


def clean(cell: Any) -> str:
    if cell is None:
        return ""
    return re.sub(r"\s+", "", str(cell)).replace("\u3000", "")


def parse_number(cell: Any) -> float | None:
    text = clean(cell).replace("，", ",")
    if not text or text in ("-", "—", "--", "/"):
        return None
    if _MONEY.match(text):
        return float(text.replace(",", ""))
    return None


def unit_factor(unit: str | None) -> float:
    return {"元": 1e-4, "万元": 1.0, "亿元": 1e4}.get(unit or "万元", 1.0)


def find_unit(text: str) -> str | None:
    match = _UNIT.search(text) or _BARE_UNIT.search(text)
    return match.group(1) if match else None


def classify_title(title: str) -> str | None:
    """Table kind from the words of a table's title."""
    t = key_text(title)
    if not t or len(t) > 80 or "表" not in t:
        return None
    if "三公" in t:
        return "三公经费表"
    if "绩效" in t and ("目标" in t or "指标" in t):
        return "整体绩效目标表" if "整体" in t else "绩效目标表"
    if "重点项目" in t:
        return "重点项目表"
    if "项目支出" in t and ("表" in t):
        return "项目支出表"
    if "基本支出" in t:
        if "财政拨款" in t and "一般公共预算" not in t:
            return None  # the 财政拨款 copy of the 一般公共预算基本支出表
        return "基本支出表"
    if "政府性基金" in t or "政府基金" in t:
        return "政府性基金支出表"
    if "国有资本" in t:
        return "国有资本经营支出表"
    if ("收支" in t or ("收入" in t and "支出" in t)) and "总表" in t:
        return "财政拨款收支总表" if "财政拨款" in t else "收支总表"
    if "收入" in t and ("总表" in t or "决算表" in t):
        return "收入总表"
    if "一般公共预算" in t and "支出" in t:
        return "一般公共预算支出表"
    if "支出" in t and ("总表" in t or "决算表" in t):
        return "支出总表"
    return None


KIND_OF_TABLE = {
    "收支总表": "budget_total",
    "财政拨款收支总表": "budget_total",
    "收入总表": "function_line",
    "支出总表": "function_line",
    "一般公共预算支出表": "function_line",
    "政府性基金支出表": "function_line",
    "国有资本经营支出表": "function_line",
    "基本支出表": "econ_line",
    "三公经费表": "sangong",
    "项目支出表": "project",
    "重点项目表": "project",
    "绩效目标表": "indicator",
    "整体绩效目标表": "indicator",
}


# --------------------------------------------------------------------------------------------- tables


@dataclass
class Table:
    rows: list[list[str | None]]
    title: str = ""
    context: str = ""  # text between title and table (unit line …)
    page: int | None = None
    lines: list[int | None] = field(default_factory=list)  # text line of each row
    source: str = ""
    cell_lines: list[list[int]] = field(default_factory=list)  # one-cell-per-line files: each cell's line

    def location(self, index: int, column: int | None = None) -> dict[str, Any]:
        loc: dict[str, Any] = {"source": self.source}
        if self.page is not None:
            loc["page"] = self.page
        if index < len(self.lines) and self.lines[index] is not None:
            loc["line"] = self.lines[index]
        if column is not None and index < len(self.cell_lines) and column < len(self.cell_lines[index]):
            loc["line"] = self.cell_lines[index][column]
        return loc


def read_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def text_tables(path: Path) -> list[Table]:
    """Tables of a text file: runs of tab-separated lines; one-cell-per-line runs regrouped at blank lines."""
    lines = read_text(path).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    tab_lines = [line for line in lines if "\t" in line]
    single = sum(1 for line in tab_lines if line.startswith("\t") and line.count("\t") == 1)
    cell_per_line = bool(tab_lines) and single / len(tab_lines) > 0.6
    tables: list[Table] = []
    prose: list[str] = []  # non-table lines since the last table
    index = 0
    while index < len(lines):
        line = lines[index]
        if "\t" not in line:
            if line.strip():
                prose.append(line.strip())
            index += 1
            continue
        rows: list[list[str | None]] = []
        row_lines: list[int | None] = []
        cell_lines: list[list[int]] = []
        if cell_per_line:
            current: list[str | None] = []
            current_cells: list[int] = []
            while index < len(lines):
                line = lines[index]
                if line.startswith("\t"):
                    current.append(line[1:])
                    current_cells.append(index + 1)
                elif not line.strip():
                    if current:
                        rows.append(current)
                        row_lines.append(current_cells[0])
                        cell_lines.append(current_cells)
                    current, current_cells = [], []
                    # a table ends where a line without a tab follows a blank line
                    if index + 1 < len(lines) and lines[index + 1].strip() and "\t" not in lines[index + 1]:
                        break
                elif current:
                    current[-1] = (current[-1] or "") + line.strip()  # a wrapped cell
                else:
                    break
                index += 1
            if current:
                rows.append(current)
                row_lines.append(current_cells[0])
                cell_lines.append(current_cells)
        else:
            while index < len(lines) and "\t" in lines[index]:
                rows.append(lines[index].split("\t"))
                row_lines.append(index + 1)
                index += 1
        if tables and not prose:  # only blank lines since the previous table: the same table goes on
            tables[-1].rows += rows
            tables[-1].lines += row_lines
            tables[-1].cell_lines += cell_lines
            continue
        title, context = _title_from_prose(prose)
        tables.append(
            Table(rows=rows, title=title, context=context, lines=row_lines, source=str(path), cell_lines=cell_lines)
        )
        prose = []
    return tables


def _title_from_prose(prose: list[str]) -> tuple[str, str]:
    """The last line naming a table (…表) before the table, and what follows it."""
    recent = prose[-6:]
    for offset in range(len(recent) - 1, -1, -1):
        line = re.sub(r"^#+\s*", "", recent[offset])
        if classify_title(line) or (line.endswith("表") and len(line) < 60):
            return line, " ".join(recent[offset + 1 :])
    return "", " ".join(recent)


def pdfplumber_tables(path: Path) -> list[Table]:
    import pdfplumber

    tables: list[Table] = []
    with pdfplumber.open(str(path)) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            found = page.find_tables()
            page_text = page.extract_text() or ""
            for table in found:
                top = max(0.0, float(table.bbox[1]))
                above = ""
                if top > 1:
                    try:
                        above = page.crop((0, 0, page.width, top)).extract_text() or ""
                    except ValueError:
                        above = ""
                title, context = _title_from_prose([ln.strip() for ln in above.split("\n") if ln.strip()])
                if not above and not tables:
                    title, context = _title_from_prose([ln for ln in page_text.split("\n")[:3] if ln.strip()])
                rows = table.extract()
                tables.append(Table(rows=rows, title=title, context=context, page=number, source=str(path)))
    return tables


def pdf_page_titles(path: Path) -> dict[int, list[str]]:
    import pdfplumber

    titles: dict[int, list[str]] = {}
    with pdfplumber.open(str(path)) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            text = page.extract_text() or ""
            titles[number] = [line.strip() for line in text.split("\n") if line.strip()]
    return titles


# --------------------------------------------------------------------------------------------- header mapping


def _is_data_row(row: list[str | None]) -> bool:
    cells = [clean(c) for c in row]
    numbers = [c for c in cells if parse_number(c) is not None]
    if not numbers:
        return False
    # a row of column numbers (栏次 1 2 3 …) is header
    small = [c for c in numbers if re.fullmatch(r"\d{1,2}", c)]
    if len(small) == len(numbers) and len(numbers) >= 2:
        return False
    return not any(c in ("栏次", "**") for c in cells)


def _is_title_row(row: list[str | None]) -> bool:
    cells = [clean(c) for c in row if clean(c)]
    if not cells:
        return True
    if len(cells) == 1 and (classify_title(cells[0]) or "单位" in cells[0] or cells[0].endswith("表")):
        return True
    return any(find_unit(c) for c in cells) and len(cells) <= 3


def header_labels(rows: list[list[str | None]]) -> tuple[list[list[str]], int]:
    """Column header parts for each column, and the index of the first data row."""
    first = next((i for i, row in enumerate(rows) if _is_data_row(row)), len(rows))
    header_rows = [row for row in rows[:first] if not _is_title_row(row)][-4:]
    width = max((len(row) for row in rows), default=0)
    grid = [[row[j] if j < len(row) else None for j in range(width)] for row in header_rows]
    filled: list[list[str]] = []
    for r, row in enumerate(grid):
        out = []
        for j, cell in enumerate(row):
            text = clean(cell)
            if not text and j > 0:
                inherit = False
                if cell is None:  # pdfplumber: merged; horizontally when the column has no text above
                    inherit = not any(clean(grid[k][j]) for k in range(r))
                else:  # text: a blank group header over sub-headers
                    inherit = any(clean(grid[k][j]) for k in range(r + 1, len(grid)))
                if inherit:
                    text = out[j - 1]
            out.append(text)
        filled.append(out)
    labels = []
    for j in range(width):
        parts: list[str] = []
        for row in filled:
            if row[j] and (not parts or parts[-1] != row[j]):
                parts.append(row[j])
        labels.append(parts)
    return labels, first


def _label(parts: list[str]) -> str:
    return "".join(parts)


def _measure_from(title: str) -> str:
    return "决算数" if "决算" in title else "预算数"


@dataclass
class Roles:
    kind: str
    table_kind: str
    columns: dict[str, int] = field(default_factory=dict)  # role → column
    code_columns: list[int] = field(default_factory=list)
    other: dict[int, str] = field(default_factory=dict)  # numeric column → header for other/funding/breakdown
    width: int = 0
    unit: str | None = None
    measure: str = "预算数"
    title: str = ""
    page: int | None = None
    labels: list[list[str]] = field(default_factory=list)
    halves: list[tuple[int, int, Roles]] = field(default_factory=list)  # side-by-side tables: (start, end, roles)


def line_roles(kind: str, table_kind: str, labels: list[list[str]]) -> Roles:
    roles = Roles(kind=kind, table_kind=table_kind, width=len(labels))
    for j, parts in enumerate(labels):
        label = _label(parts)
        last = parts[-1] if parts else ""
        if not label:
            continue
        if "编码" in label or "代码" in label or last in ("类", "款", "项"):
            roles.code_columns.append(j)
        elif "名称" in label and "name" not in roles.columns:
            roles.columns["name"] = j
        elif "人员" in label and "personnel" not in roles.columns:
            roles.columns["personnel"] = j
        elif "公用" in label and "public" not in roles.columns:
            roles.columns["public"] = j
        elif "项目支出" in label and "project" not in roles.columns and kind == "function_line":
            roles.columns["project"] = j
        elif "基本支出" in label and "basic" not in roles.columns and kind == "function_line" and (
            "total" in roles.columns or last in ("基本支出", "小计")
        ):
            roles.columns["basic"] = j
        elif any(k in label for k in ("合计", "总计", "金额", "决算数", "预算数", "小计", "基本支出")) and (
            "total" not in roles.columns
        ):
            roles.columns["total"] = j
        elif label not in ("序号", "栏次", "项目"):
            roles.other[j] = last
    if "name" not in roles.columns:  # a 科目 column without 名称 in its header
        for j, parts in enumerate(labels):
            if j not in roles.code_columns and j not in roles.columns.values() and "科目" in _label(parts):
                roles.columns["name"] = j
                roles.other.pop(j, None)
                break
    return roles


def sangong_roles(labels: list[list[str]]) -> Roles:
    roles = Roles(kind="sangong", table_kind="三公经费表", width=len(labels))
    has_meeting = any("会议" in _label(p) or "培训" in _label(p) for p in labels)
    for j, parts in enumerate(labels):
        label = _label(parts)
        last = parts[-1] if parts else ""
        measure = ""
        if last in ("预算数", "决算数"):
            measure = last
            parts = parts[:-1]
            label = _label(parts)
            last = parts[-1] if parts else ""
        role = None
        if "接待" in label:
            role = "reception"
        elif "出国" in label or "国(境)" in label or "国（境）" in label:
            role = "overseas"
        elif "公务用车" in label or "购置" in label or "运行" in label:
            if last.endswith("小计") or last == label or "及" in last:
                role = "vehicle_total"
            elif "购置" in last:
                role = "vehicle_purchase"
            elif "运行" in last or "运维" in last:
                role = "vehicle_operation"
            else:
                role = "vehicle_total"
        elif "会议" in label or "培训" in label or "机关运行" in label:
            role = None
        elif "单位" in label and ("名称" in label or label.startswith("单位")):
            role = "unit_name"
        elif has_meeting:
            if "三公" in label and ("小计" in last or "合计" in last or last == label):
                role = "total"
        elif "合计" in label or "三公" in label or "小计" in label:
            role = "total"
        if role:
            key = f"{role}|{measure}" if measure else role
            roles.columns.setdefault(key, j)
    return roles


def project_roles(table_kind: str, labels: list[list[str]]) -> Roles:
    roles = Roles(kind="project", table_kind=table_kind, width=len(labels))
    has_project_name = any("项目名称" in _label(p) and "一级" not in _label(p) for p in labels)
    for j, parts in enumerate(labels):
        label = _label(parts)
        last = parts[-1] if parts else ""
        if not label or "编码" in label or "代码" in label or "序号" in label:
            continue
        if "单位" in label and "名称" in label:
            roles.columns.setdefault("unit_name", j)
        elif "一级项目" in label and has_project_name:
            roles.columns.setdefault("category", j)
        elif "项目" in label and ("名称" in label or label == "项目"):
            roles.columns.setdefault("name", j)
        elif any(k in label for k in ("总计", "合计", "金额")) and "amount" not in roles.columns:
            roles.columns["amount"] = j
        elif "绩效" in label or "目标" in label:
            continue
        else:
            roles.other[j] = last
    return roles


def _code_and_name(row: list[str], roles: Roles) -> tuple[str, str]:
    code = "".join(re.sub(r"\D", "", row[j]) for j in roles.code_columns if j < len(row))
    name = row[roles.columns["name"]] if "name" in roles.columns and roles.columns["name"] < len(row) else ""
    if not code:
        for j, cell in enumerate(row):  # a code in the name cell, or in an unlabelled first column
            match = re.match(r"^(\d{3}(?:\d{2}){0,2})(\D.*)?$", cell)
            if match and (j == roles.columns.get("name") or j < 2):
                code = match.group(1)
                if match.group(2) and (not name or j == roles.columns.get("name")):
                    name = match.group(2)
                break
    if not name:  # first non-numeric text cell
        name = next((c for c in row if c and parse_number(c) is None and not _CODE.match(c)), "")
    return code, name


def _row_values(row: list[str], roles: Roles, wanted: tuple[str, ...]) -> tuple[dict[str, float | None], dict]:
    factor = unit_factor(roles.unit)
    values: dict[str, float | None] = {}
    for role in wanted:
        j = roles.columns.get(role)
        number = parse_number(row[j]) if j is not None and j < len(row) else None
        values[role] = None if number is None else round(number * factor, 6)
    used = set(roles.columns.values()) | set(roles.code_columns)
    other = {}
    for j, header in roles.other.items():
        if j < len(row):
            number = parse_number(row[j])
            other[header] = None if number is None else round(number * factor, 6)
    # numbers sitting in columns no role claims (ragged PDF rows): fill the empty roles left to right
    strays = [
        parse_number(cell) for j, cell in enumerate(row) if j not in used and j not in roles.other and parse_number(cell) is not None
    ]
    empty = [role for role in wanted if role in roles.columns and values[role] is None]
    if strays and len(strays) <= len(empty):
        for role, number in zip(empty, strays, strict=False):
            values[role] = round(number * factor, 6)
    return values, other


# --------------------------------------------------------------------------------------------- table → records


class KeywordTableMapper:
    """Header-keyword mapping of table grids to schema records (shared by the pdfplumber and camelot baselines)."""

    def __init__(self) -> None:
        self.previous: Roles | None = None
        self.document_unit: str | None = None
        self.indicator_state: dict[str, Any] = {}
        self.indicator_kind: str | None = None

    def records(self, tables: list[Table]) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for table in tables:
            try:
                records += self.table_records(table)
            except (IndexError, KeyError, ValueError):  # a malformed grid costs its records, not the document
                continue
        return records

    def table_records(self, table: Table) -> list[dict[str, Any]]:
        rows = [[clean(c) if c is not None else None for c in row] for row in table.rows]
        if not rows:
            return []
        title = table.title
        if not classify_title(title):  # title inside the grid's first rows (Jiangsu PDFs)
            for row in rows[:3]:
                for cell in row:
                    if cell and "表" in cell and classify_title(cell):
                        title = cell
                        break
        unit = find_unit(" ".join([table.title, table.context] + [c or "" for row in rows[:4] for c in row]))
        table_kind = classify_title(title)
        labels, first = header_labels(rows)
        has_header = any(any(parts) for parts in labels)
        if table_kind is None and self.indicator_kind and "groups" in self.indicator_state:
            if not any(c and ("三级指标" in c or "明细指标" in c) for row in rows for c in row) and has_header:
                self.indicator_kind = None
            else:
                return indicator_records(table, rows, self.indicator_kind, unit, self.indicator_state)
        if table_kind is None:
            roles = self.previous
            if roles is None:
                return []
            width = max(len(r) for r in rows)
            next_page = table.page is not None and roles.page is not None and table.page == roles.page + 1
            if roles.kind == "budget_total":  # a 收支总表 running onto the next page
                self.previous = None
                if next_page and width == roles.width:
                    return budget_records(table, rows, 0, roles.labels, roles)
                return []
            if has_header and not (next_page and width == roles.width):
                self.previous = None
                return []
            roles.page = table.page
            first = first if has_header else 0
            table_title = roles.title
        else:
            kind = KIND_OF_TABLE[table_kind]
            if kind == "indicator":
                self.previous = None
                if self.indicator_kind != table_kind:
                    self.indicator_state = {}
                self.indicator_kind = table_kind
                return indicator_records(table, rows, table_kind, unit, self.indicator_state)
            self.indicator_kind = None
            roles = self._roles(kind, table_kind, labels)
            roles.unit = unit or (self.document_unit if kind != "sangong" else None) or "万元"
            roles.measure = _measure_from(title)
            roles.title, roles.page, roles.labels = title, table.page, labels
            for _, _, half in roles.halves:
                half.unit, half.measure, half.title = roles.unit, roles.measure, title
            if unit and kind != "sangong":
                self.document_unit = unit
            table_title = title
        self.previous = roles
        if roles.kind == "budget_total":
            return budget_records(table, rows, first, labels, roles, table_title)
        if roles.kind == "sangong":
            return sangong_records(table, rows[first:], first, roles, table_title)
        if roles.kind == "project":
            return project_records(table, rows[first:], first, roles, table_title)
        if roles.halves:
            records = []
            for start, end, half in roles.halves:
                part = [row[start:end] for row in rows[first:]]
                for record in line_records(table, part, first, half, table_title, column_offset=start):
                    records.append(record)
            return records
        return line_records(table, rows[first:], first, roles, table_title)

    @staticmethod
    def _roles(kind: str, table_kind: str, labels: list[list[str]]) -> Roles:
        if kind == "budget_total":
            return Roles(kind=kind, table_kind=table_kind, width=len(labels))
        if kind == "sangong":
            return sangong_roles(labels)
        if kind == "project":
            return project_roles(table_kind, labels)
        roles = line_roles(kind, table_kind, labels)
        # two tables side by side (基本支出决算表: 301/303 left, 302/310 right): split at the second code block
        names = [j for j, parts in enumerate(labels) if "名称" in _label(parts)]
        if len(names) >= 2 and roles.code_columns:
            second = [j for j in roles.code_columns if names[0] < j]
            if second:
                split = second[0]
                left = line_roles(kind, table_kind, labels[:split])
                right = line_roles(kind, table_kind, labels[split:])
                roles.halves = [(0, split, left), (split, len(labels), right)]
        return roles


def _base(
    kind: str, roles: Roles, table: Table, index: int, column: int | None = None, title: str = ""
) -> dict[str, Any]:
    loc = table.location(index, column)
    return {
        "kind": kind,
        "table_kind": roles.table_kind,
        "table_title": title or table.title,
        "measure": roles.measure,
        "provenance": {**loc, "raw": ""},
    }


def line_records(
    table: Table,
    rows: list[list[str | None]],
    offset: int,
    roles: Roles,
    title: str = "",
    column_offset: int = 0,
) -> list[dict[str, Any]]:
    records = []
    fields = ("total", "basic", "personnel", "public", "project") if roles.kind == "function_line" else (
        "total",
        "personnel",
        "public",
    )
    for i, raw in enumerate(rows):
        row = [c or "" for c in raw]
        code, name = _code_and_name(row, roles)
        is_total = not code and re.sub(r"\s", "", name) in ("合计", "总计", "本年支出合计")
        if not code and not is_total:
            continue
        if code and not re.fullmatch(r"\d{3}(\d{2}){0,2}", code):
            continue
        values, other = _row_values(row, roles, fields)
        if all(v is None for v in values.values()) and not name:
            continue
        column = roles.code_columns[0] if code and roles.code_columns else roles.columns.get("name")
        record = _base(roles.kind, roles, table, offset + i, None if column is None else column + column_offset, title)
        record.update(
            {
                "code": code or None,
                "name": "合计" if is_total else name,
                "level": "合计" if is_total else {3: "类", 5: "款", 7: "项"}[len(code)],
                "parent_code": code[:-2] if len(code) > 3 else None,
                **{k: v for k, v in values.items() if k in roles.columns},
            }
        )
        if other:
            record["other"] = other
        records.append(record)
    return records


def sangong_records(
    table: Table, rows: list[list[str | None]], offset: int, roles: Roles, title: str = ""
) -> list[dict[str, Any]]:
    records = []
    factor = unit_factor(roles.unit)
    measures = sorted({key.split("|")[1] for key in roles.columns if "|" in key}) or [""]
    for i, raw in enumerate(rows):
        row = [c or "" for c in raw]
        if not any(parse_number(c) is not None for c in row):
            continue
        unit_name = "合计"
        if "unit_name" in roles.columns and roles.columns["unit_name"] < len(row):
            unit_name = row[roles.columns["unit_name"]] or "合计"
        for measure in measures:
            record = _base("sangong", roles, table, offset + i, None, title)
            record["unit_name"] = unit_name
            if measure:
                record["measure"] = measure
            for role in ("total", "overseas", "vehicle_total", "vehicle_purchase", "vehicle_operation", "reception"):
                j = roles.columns.get(f"{role}|{measure}" if measure else role)
                number = parse_number(row[j]) if j is not None and j < len(row) else None
                record[role] = None if number is None else round(number * factor, 6)
            records.append(record)
    return records


def project_records(
    table: Table, rows: list[list[str | None]], offset: int, roles: Roles, title: str = ""
) -> list[dict[str, Any]]:
    records = []
    factor = unit_factor(roles.unit)
    for i, raw in enumerate(rows):
        row = [c or "" for c in raw]
        name = row[roles.columns["name"]] if "name" in roles.columns and roles.columns["name"] < len(row) else ""
        if not name or name in ("合计", "总计") or parse_number(name) is not None:
            continue
        record = _base("project", roles, table, offset + i, roles.columns.get("name"), title)
        record["name"] = name
        for role in ("unit_name", "category"):
            j = roles.columns.get(role)
            if j is not None and j < len(row) and row[j]:
                record[role] = row[j]
        j = roles.columns.get("amount")
        number = parse_number(row[j]) if j is not None and j < len(row) else None
        record["amount"] = None if number is None else round(number * factor, 6)
        funding = {}
        for j, header in roles.other.items():
            if j < len(row):
                value = parse_number(row[j])
                funding[header] = None if value is None else round(value * factor, 6)
        if funding:
            record["funding"] = funding
        records.append(record)
    return records


def budget_records(
    table: Table,
    rows: list[list[str | None]],
    first: int,
    labels: list[list[str]],
    roles: Roles,
    title: str = "",
) -> list[dict[str, Any]]:
    """Two-sided 收支总表: each name column and the numeric columns after it form a group (收入 / 支出)."""
    factor = unit_factor(roles.unit)
    data = rows[first:]
    width = max((len(r) for r in rows), default=0)

    def numeric_share(j: int) -> float:
        cells = [clean(r[j]) for r in data if j < len(r) and clean(r[j])]
        return sum(parse_number(c) is not None for c in cells) / len(cells) if cells else -1.0

    shares = [numeric_share(j) for j in range(width)]
    groups: list[tuple[int, list[int]]] = []
    for j in range(width):
        label = _label(labels[j]) if j < len(labels) else ""
        if "序号" in label or "栏次" in label:
            continue
        if 0 <= shares[j] < 0.5:
            groups.append((j, []))
        elif shares[j] >= 0.5 and groups:
            groups[-1][1].append(j)
    groups = [(name, numbers) for name, numbers in groups if numbers]
    records = []
    for g, (name_col, number_cols) in enumerate(groups):
        label = _label(labels[name_col]) if name_col < len(labels) else ""
        side = "支出" if "支出" in label else ("收入" if "收入" in label else ("收入" if g == 0 else "支出"))
        for i, raw in enumerate(data):
            row = [c or "" for c in raw]
            name = row[name_col] if name_col < len(row) else ""
            if not name or parse_number(name) is not None or name in ("项目", "收入", "支出"):
                continue
            amounts = [parse_number(row[j]) if j < len(row) else None for j in number_cols]
            record = _base("budget_total", roles, table, first + i, name_col, title or roles.title)
            record.update(
                {
                    "side": side,
                    "name": name,
                    "amount": None if amounts[0] is None else round(amounts[0] * factor, 6),
                }
            )
            breakdown = {}
            for j, value in zip(number_cols[1:], amounts[1:], strict=False):
                header = labels[j][-1] if j < len(labels) and labels[j] else str(j)
                breakdown[header] = None if value is None else round(value * factor, 6)
            if breakdown:
                record["breakdown"] = breakdown
            records.append(record)
    return records


# --------------------------------------------------------------------------------------------- indicators

_OPERATOR = re.compile(r"^(≥|≤|>=|<=|＞|＜|>|<|=|＝)?\s*([-+]?\d+(?:\.\d+)?)\s*(.*)$")
_PERIOD_WORDS = (("总体", "总体"), ("年度", "年度"), ("半年", "半年"), ("全年", "全年"))


def parse_indicator_value(text: str) -> tuple[str | None, str | None, float | None, str | None]:
    """`≥90%` → (≥, 90, 90.0, %); `健全` → (定性, 健全, None, None)."""
    text = clean(text)
    if not text:
        return None, None, None, None
    match = _OPERATOR.match(text)
    if match:
        operator = {">=": "≥", "<=": "≤", "＞": ">", "＜": "<", "＝": "="}.get(match.group(1) or "=", match.group(1) or "=")
        unit = match.group(3) or None
        return operator, match.group(2), float(match.group(2)), unit
    return "定性", text, None, None


def indicator_records(
    table: Table,
    rows: list[list[str | None]],
    table_kind: str,
    unit: str | None,
    state: dict[str, Any] | None = None,
) -> list[dict]:
    """Indicator rows (and the project funding rows of 项目绩效目标表). `state` carries the current project and
    unit across a table repeated under page headings."""
    state = state if state is not None else {}
    records: list[dict[str, Any]] = []
    header_index = next(
        (i for i, row in enumerate(rows) if any(c and ("三级指标" in c or "明细指标" in c) for c in row)), None
    )
    if header_index is None:
        if "groups" not in state:
            return records
        header_index, header = -1, []  # a continuation: the previous header applies
    else:
        header = [clean(c) for c in rows[header_index]]
    shared: dict[str, int] = {}
    groups: dict[str, dict[str, int]] = {}
    for j, label in enumerate(header):
        if not label:
            continue
        group = next((period for word, period in _PERIOD_WORDS if word in label), "")
        if "个性" in label:
            group = "个性"
        role = None
        if "一级指标" in label:
            role = "level1"
        elif "二级指标" in label:
            role = "level2"
        elif "三级指标" in label or "明细指标" in label:
            role = "level3"
        elif "符号" in label:
            role = "operator"
        elif "指标值" in label:
            role = "value"
        elif "指标单位" in label or "计量单位" in label:
            role = "value_unit"
        elif "权重" in label or "分值" in label:
            role = "weight"
        elif "描述" in label or "备注" in label:
            role = "description"
        elif "项目名称" in label:
            role = "project"
        elif label.startswith("单位") and "编码" not in label:
            role = "unit_name"
        if role is None:
            continue
        target = groups.setdefault(group, {}) if group else shared
        target.setdefault(role, j)
    if header_index < 0:
        shared, groups = state["shared"], state["groups"]
    elif "level3" in shared or not groups:
        groups = {"": {}, **groups}
    project = state.get("project") or ("部门整体" if table_kind == "整体绩效目标表" else None)
    unit_name = state.get("unit_name")
    for row in rows[:header_index]:
        cells = [clean(c) for c in row]
        if "项目名称" in cells:
            k = cells.index("项目名称")
            project = next((c for c in cells[k + 1 :] if c), project)
    # money columns of a project block (资金安排: 总计 / 一般公共预算 …) named by the row under the header
    funding_labels: dict[int, str] = state.get("funding_labels", {}) if header_index < 0 else {}
    below = [clean(c) for c in rows[header_index + 1]] if 0 <= header_index < len(rows) - 1 else []
    if below and not any(parse_number(c) is not None for c in below):
        funding_labels = {j: c for j, c in enumerate(below) if c}
    state.update({"shared": shared, "groups": groups, "funding_labels": funding_labels})
    factor = unit_factor(unit)
    inherited: dict[str, dict[str, str | None]] = {}
    level3_columns = {roles.get("level3", shared.get("level3")) for roles in groups.values()}
    for i, raw in enumerate(rows[header_index + 1 :], start=header_index + 1):
        row = [clean(c) for c in raw]
        if "三级指标" in "".join(row) or "明细指标" in "".join(row):
            continue
        if "项目名称" in row:
            k = row.index("项目名称")
            project = next((c for c in row[k + 1 :] if c), project)
            continue
        has_level3 = any(j is not None and j < len(row) and row[j] for j in level3_columns)
        codes = [j for j, c in enumerate(row[:2]) if re.fullmatch(r"\d{3,}", c)]
        numbers = [(j, parse_number(c)) for j, c in enumerate(row) if j not in codes and parse_number(c) is not None]
        texts = [c for c in row if c and parse_number(c) is None]
        if not has_level3 and codes and texts and not numbers:
            unit_name = texts[0]
            continue
        if not has_level3 and texts and numbers and funding_labels:
            project = texts[0]
            record = {
                "kind": "project",
                "table_kind": table_kind,
                "table_title": table.title,
                "unit_name": unit_name,
                "name": project,
                "amount": round(numbers[0][1] * factor, 6),
                "funding": {
                    funding_labels[j]: round(v * factor, 6)
                    for j, v in numbers[1:]
                    if j in funding_labels
                },
                "provenance": {**table.location(i), "raw": ""},
            }
            records.append(record)
            inherited = {}
            continue

        def cell(role: str, roles: dict[str, int], row=row) -> str:
            j = roles.get(role, shared.get(role))
            return row[j] if j is not None and j < len(row) else ""

        for group, roles in groups.items():
            level3 = cell("level3", roles)
            raw_value = cell("value", roles)
            if not level3 or not (raw_value or cell("weight", roles)):
                continue
            above = inherited.setdefault(group, {})
            level1 = cell("level1", roles) or above.get("level1")
            level2 = cell("level2", roles) or above.get("level2")
            above.update({"level1": level1, "level2": level2})
            operator, value, value_num, value_unit = parse_indicator_value(raw_value)
            symbol = cell("operator", roles)
            if symbol:
                operator = {">=": "≥", "<=": "≤"}.get(symbol, symbol)
                value, value_num = raw_value or None, parse_number(raw_value)
                if value_num is None:
                    operator = "定性" if symbol == "定性" else operator
            unit_cell = cell("value_unit", roles)
            record = {
                "kind": "indicator",
                "table_kind": table_kind,
                "table_title": table.title,
                "project": cell("project", roles) or project,
                "unit_name": cell("unit_name", roles) or unit_name,
                "period": group if group in ("总体", "年度", "半年", "全年") else None,
                "level1": level1,
                "level2": level2,
                "level3": level3,
                "operator": operator,
                "value": value,
                "value_num": value_num,
                "value_unit": unit_cell or value_unit,
                "weight": parse_number(cell("weight", roles)),
                "description": cell("description", roles) or None,
                "raw_value": raw_value or None,
                "provenance": {**table.location(i), "raw": raw_value},
            }
            records.append(record)
    state.update({"project": project, "unit_name": unit_name})
    return records


# --------------------------------------------------------------------------------------------- extractors


class PdfplumberKeywordsExtractor(BaseExtractor):
    name = "pdfplumber-keywords"
    version = BASELINE_VERSION
    description = "pdfplumber tables / tab-split text + header keyword mapping"

    def tables(self, path: Path) -> list[Table]:
        if path.suffix.lower() == ".pdf":
            return pdfplumber_tables(path)
        return text_tables(path)

    def extract(self, path: Path) -> list[dict[str, Any]]:
        path = Path(path)
        return KeywordTableMapper().records(self.tables(path))


class CamelotKeywordsExtractor(PdfplumberKeywordsExtractor):
    name = "camelot-keywords"
    version = BASELINE_VERSION
    description = "camelot lattice tables + header keyword mapping (text files: tab-split)"

    def available(self) -> str | None:
        try:
            import camelot  # noqa: F401
        except ImportError as exc:
            return f"camelot-py is not installed ({exc}); pip install camelot-py"
        return None

    def tables(self, path: Path) -> list[Table]:
        if path.suffix.lower() != ".pdf":
            return text_tables(path)
        import camelot

        page_lines = pdf_page_titles(path)
        found = camelot.read_pdf(str(path), pages="all", flavor="lattice")
        tables = []
        seen_pages: dict[int, int] = {}
        for table in found:
            page = int(table.page)
            rows = [[str(c) for c in row] for row in table.df.values.tolist()]
            count = seen_pages.get(page, 0)
            seen_pages[page] = count + 1
            lines = page_lines.get(page, [])
            title, context = ("", "")
            if count == 0:
                head = []
                first_cells = {clean(c) for c in rows[0] if clean(c)} if rows else set()
                for line in lines[:8]:
                    if any(clean(line).startswith(c) for c in first_cells if len(c) > 1):
                        break
                    head.append(line)
                title, context = _title_from_prose(head)
            tables.append(Table(rows=rows, title=title, context=context, page=page, source=str(path)))
        return tables


# ------------------------------------------------------------------------------------------------- regex-text

_CN = r"\u4e00-\u9fff"
_NUM = r"-?\d[\d,]*(?:\.\d+)?"
_CODE_LINE = re.compile(rf"^(\d{{3}}(?:\s?\d{{2}}){{0,2}})\s*([{_CN}（）()、“”\"A-Za-z\-—]+[{_CN})）]?)\s*((?:{_NUM}\s*)*)$")
_TOTAL_LINE = re.compile(rf"^(合\s*计|总\s*计)\s*((?:{_NUM}\s*)+)$")
_PAIR = re.compile(rf"([{_CN}（）()、“”\"\d.．]*[{_CN}）)])\s*({_NUM})?")
_FACT = re.compile(
    rf"(?P<subject>[{_CN}“”\"（）()]{{2,40}}?)(?:为|是|共计|合计|总计|安排|达)?\s*(?P<value>{_NUM})\s*万元"
    rf"(?:[，,（(]?(?:比|较)(?:上年|20\d\d年)[^，,。；;]*?(?P<dir>增加|减少|增长|下降)\s*(?P<change>{_NUM})\s*(?P<cu>万元|%))?"
    rf"(?:[，,]\s*(?:增长|下降|减少|增加)\s*(?P<pct>{_NUM})\s*%)?"
)
_SUBJECT_TRIM = re.compile(rf"^(?:.*?[，,。；;：:、]|.*?其中)?(?:20\d\d年(?:度)?)?(?:[{_CN}]*?(?:部|厅|局|委|院|办|会)(?=[{_CN}]))?")


class RegexTextExtractor(BaseExtractor):
    name = "regex-text"
    version = BASELINE_VERSION
    description = "regular expressions over plain text lines"

    def lines(self, path: Path) -> list[tuple[str, int | None, int | None]]:
        """(text, page, line) for every line of the document."""
        if path.suffix.lower() == ".pdf":
            out = []
            for page, lines in pdf_page_titles(path).items():
                out += [(line, page, None) for line in lines]
            return out
        text = read_text(path).replace("\r\n", "\n").replace("\r", "\n")
        return [(re.sub(r"\t+", " ", line).strip(), None, n) for n, line in enumerate(text.split("\n"), start=1)]

    def extract(self, path: Path) -> list[dict[str, Any]]:
        path = Path(path)
        records: list[dict[str, Any]] = []
        unit = "万元"
        table_kind: str | None = None
        title = ""
        header_words: list[str] = []
        measure = "预算数"
        for text, page, line in self.lines(path):
            if not text:
                continue
            loc = {"source": str(path), "page": page, "line": line, "raw": text[:200]}
            compact = re.sub(r"\s+", "", text)
            found_unit = find_unit(text)
            if found_unit:
                unit = found_unit
            kind_of_line = classify_title(compact) if len(compact) <= 60 and not re.search(r"\d{3,}\s", text) else None
            if kind_of_line:
                table_kind, title, header_words = kind_of_line, compact, []
                measure = "决算数" if "决算" in compact else "预算数"
                unit = find_unit(text) or unit
                continue
            if table_kind and not re.search(r"\d", compact):
                header_words.append(compact)
            records += self._line(text, compact, table_kind, title, unit, measure, header_words, loc)
            records += self._facts(text, loc)
        return records

    def _line(self, text, compact, table_kind, title, unit, measure, header_words, loc) -> list[dict[str, Any]]:
        if not table_kind:
            return []
        kind = KIND_OF_TABLE.get(table_kind)
        factor = unit_factor(unit)
        base = {"table_kind": table_kind, "table_title": title, "measure": measure, "provenance": loc}
        header = "".join(header_words[-6:])
        if kind in ("function_line", "econ_line"):
            match = _CODE_LINE.match(text)
            total = _TOTAL_LINE.match(compact)
            if not match and not total:
                return []
            if match:
                code = re.sub(r"\s", "", match.group(1))
                name, numbers = match.group(2), re.findall(_NUM, match.group(3))
            else:
                code, name, numbers = "", "合计", re.findall(_NUM, total.group(2))
            if kind == "econ_line" and not code.startswith("3") and code:
                return []
            if kind == "function_line" and code and not code.startswith("2"):
                return []
            values = [float(n.replace(",", "")) * factor for n in numbers]
            order = ["total"]
            if kind == "function_line":
                positions = {w: header.find(w) for w in ("人员", "公用", "基本支出", "项目支出")}
                order += [
                    {"人员": "personnel", "公用": "public", "基本支出": "basic", "项目支出": "project"}[w]
                    for w, _ in sorted(((w, p) for w, p in positions.items() if p >= 0), key=lambda x: x[1])
                ]
                if "personnel" in order and "basic" in order:
                    order.remove("basic")
            else:
                order += [f for w, f in (("人员", "personnel"), ("公用", "public")) if w in header]
            record = {
                "kind": kind,
                **base,
                "code": code or None,
                "name": name,
                "level": {3: "类", 5: "款", 7: "项"}.get(len(code), "合计"),
                "parent_code": code[:-2] if len(code) > 3 else None,
            }
            for field_name, value in zip(order, values, strict=False):
                record[field_name] = round(value, 6)
            return [record]
        if kind == "budget_total":
            pairs = [(n, v) for n, v in _PAIR.findall(compact) if n and not re.fullmatch(r"[\d.．]+", n)]
            if not pairs or not any(v for _, v in pairs):
                return []
            out = []
            for index, (name, value) in enumerate(pairs[:2]):
                out.append(
                    {
                        "kind": "budget_total",
                        **base,
                        "side": "收入" if (index == 0 and len(pairs) > 1) or "收入" in name else "支出",
                        "name": name,
                        "amount": round(float(value.replace(",", "")) * factor, 6) if value else None,
                    }
                )
            return out
        if kind == "sangong":
            match = re.match(rf"^([^\d\s]*)\s*((?:{_NUM}\s*)+)$", text)
            if not match or (match.group(1) and len(match.group(1)) > 40):
                return []
            numbers = re.findall(_NUM, match.group(2))
            if len(numbers) < 2:
                return []
            values = [float(n.replace(",", "")) * unit_factor(find_unit(title) or unit) for n in numbers]
            aligned = self._align_sangong(self._sangong_order(header), values)
            record = {"kind": "sangong", **base, "unit_name": match.group(1) or "合计"}
            for field_name in ("total", "overseas", "vehicle_total", "vehicle_purchase", "vehicle_operation",
                               "reception"):
                value = aligned.get(field_name)
                record[field_name] = None if value is None else round(value, 6)
            return [record]
        if kind == "project":
            parts = compact and text.split(" ")
            numbers = [p for p in parts if parse_number(p) is not None]
            names = [p for p in parts if p and parse_number(p) is None]
            if not numbers or not names or names[-1] in ("合计", "总计"):
                return []
            return [
                {
                    "kind": "project",
                    **base,
                    "unit_name": names[0] if len(names) > 1 else None,
                    "name": names[-1],
                    "amount": round(float(numbers[0].replace(",", "")) * factor, 6),
                }
            ]
        return []

    @staticmethod
    def _sangong_order(header: str) -> list[str | None]:
        """Column order from where the header words occur; 会议费/培训费/机关运行经费 columns are ignored."""
        words = [
            (r"会议", None),
            (r"培训", None),
            (r"机关运行", None),
            (r"出国", "overseas"),
            (r"接待", "reception"),
            (r"购置费", "vehicle_purchase"),
            (r"(?<!机关)运行(?:维护)?费", "vehicle_operation"),
        ]
        positions = []
        for pattern, field_name in words:
            match = re.search(pattern, header)
            if match:
                positions.append((match.start(), field_name))
        order: list[str | None] = []
        if "会议" in header or "培训" in header:
            order.append(None)  # a 合计 that includes 会议费/培训费
        order.append("total")
        for _, field_name in sorted(positions, key=lambda item: item[0]):
            if field_name is None:
                continue
            if field_name == "vehicle_purchase":
                order.append("vehicle_total")
            order.append(field_name)
        return order

    @staticmethod
    def _align_sangong(order: list[str | None], values: list[float]) -> dict[str, float]:
        """Blank cells vanish from plain text: choose which columns were blank so that the parts add up."""
        from itertools import combinations

        values = values[: len(order)]
        skip_count = len(order) - len(values)
        best: tuple[int, dict[str, float]] | None = None
        for skip in combinations(range(len(order)), skip_count):
            slots = [name for i, name in enumerate(order) if i not in skip]
            record = {name: value for name, value in zip(slots, values, strict=False) if name}
            score = 0
            vehicle = record.get("vehicle_total")
            parts = [record.get("vehicle_purchase"), record.get("vehicle_operation")]
            if vehicle is not None and any(p is not None for p in parts):
                score += 1 if abs(vehicle - sum(p for p in parts if p is not None)) < 0.011 else -1
            if vehicle is None and any(p is not None for p in parts):
                vehicle = sum(p for p in parts if p is not None)
            items = [record.get("overseas"), vehicle, record.get("reception")]
            if record.get("total") is not None and any(i is not None for i in items):
                score += 2 if abs(record["total"] - sum(i for i in items if i is not None)) < 0.011 else -2
            if best is None or score > best[0]:
                best = (score, record)
        return best[1] if best else {}

    @staticmethod
    def _facts(text: str, loc: dict[str, Any]) -> list[dict[str, Any]]:
        if len(text) < 12 or "\t" in text:
            return []
        records = []
        for sentence in re.split(r"(?<=[。；;])", text):
            for match in _FACT.finditer(sentence):
                subject = _SUBJECT_TRIM.sub("", match.group("subject"))
                subject = re.sub(r"^(?:其中|包括|主要是|用于|年度|年)", "", subject)
                subject = re.sub(r"(?:预算数|执行数|预算安排|安排)$", "", subject)
                if len(subject) < 2:
                    continue
                record: dict[str, Any] = {
                    "kind": "fact",
                    "table_kind": "narrative",
                    "subject": subject,
                    "metric": "amount",
                    "value": float(match.group("value").replace(",", "")),
                    "sentence": sentence.strip(),
                    "provenance": loc,
                }
                if match.group("change"):
                    change = float(match.group("change").replace(",", ""))
                    negative = match.group("dir") in ("减少", "下降")
                    if match.group("cu") == "%":
                        record["change_pct"] = -change if negative else change
                    else:
                        record["change"] = -change if negative else change
                if match.group("pct"):
                    pct = float(match.group("pct").replace(",", ""))
                    record["change_pct"] = -pct if "下降" in sentence[match.start("pct") - 4 : match.start("pct")] else pct
                records.append(record)
        return records
