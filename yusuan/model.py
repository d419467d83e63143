"""The typed document model that flows between pipeline stages.

ingest produces an :class:`IngestedDocument` (blocks of positioned lines and table grids);
extract turns it into :class:`Extraction` (document metadata + records); store persists that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

BBox = tuple[float, float, float, float]


# Cells and lines are slotted: a document has thousands of each, and an object without a __dict__ is one allocation
# instead of two (faster to build, and fewer for the garbage collector to count and traverse).
@dataclass(slots=True)
class Cell:
    """One table cell: normalised text plus where it came from."""

    text: str
    raw: str
    line: int | None = None
    page: int | None = None
    row: int | None = None
    col: int | None = None
    bbox: BBox | None = None


@dataclass(slots=True)
class TextLine:
    text: str
    raw: str
    line: int | None = None
    page: int | None = None
    bbox: BBox | None = None
    heading: int = 0  # markdown heading depth, 0 for body text


@dataclass
class Grid:
    """A table as rows of cells, before any interpretation of what the table is."""

    rows: list[list[Cell]]
    title: str = ""
    title_line: TextLine | None = None
    context: list[TextLine] = field(default_factory=list)  # unit / meta lines between title and table
    note: list[TextLine] = field(default_factory=list)  # lines right after the table (e.g. 本表无数据)
    source_layout: str = ""

    @property
    def first_line(self) -> int | None:
        for row in self.rows:
            for cell in row:
                if cell.line is not None:
                    return cell.line
        return None

    @property
    def page(self) -> int | None:
        for row in self.rows:
            for cell in row:
                if cell.page is not None:
                    return cell.page
        return None


@dataclass
class Block:
    kind: Literal["heading", "paragraph", "table"]
    lines: list[TextLine] = field(default_factory=list)
    grid: Grid | None = None

    @property
    def text(self) -> str:
        return "".join(line.text for line in self.lines)


@dataclass
class IngestedDocument:
    source: str
    sha256: str
    layout: str
    pages: int
    blocks: list[Block]
    warnings: list[str] = field(default_factory=list)
    pages_needing_ocr: list[int] = field(default_factory=list)
    # scanned pages left unread because the caller asked for a preview (``ocr_page_limit``); a full read OCRs them
    ocr_deferred: list[int] = field(default_factory=list)

    @property
    def doc_id(self) -> str:
        return self.sha256[:16]

    def text_lines(self) -> list[TextLine]:
        return [line for block in self.blocks if block.kind != "table" for line in block.lines]


# ---------------------------------------------------------------- records (the public schema)


class Provenance(BaseModel):
    source: str
    page: int | None = None
    line: int | None = None
    row: int | None = None
    col: int | None = None
    bbox: BBox | None = None
    raw: str = ""


class ValueSource(BaseModel):
    raw: str
    unit_original: str | None = None
    page: int | None = None
    line: int | None = None
    row: int | None = None
    col: int | None = None
    bbox: BBox | None = None


class Check(BaseModel):
    name: str
    status: Literal["pass", "fail"]
    expected: float | None = None
    actual: float | None = None
    detail: str = ""


class Record(BaseModel):
    kind: str
    doc_id: str = ""
    record_id: str = ""
    table_kind: str = ""
    table_title: str = ""
    unit_name: str | None = None
    measure: str = "预算数"
    provenance: Provenance
    values: dict[str, ValueSource] = Field(default_factory=dict)
    checks: list[Check] = Field(default_factory=list)

    def add_check(self, check: Check) -> None:
        if all(existing.name != check.name or existing.detail != check.detail for existing in self.checks):
            self.checks.append(check)


class BudgetTotal(Record):
    kind: str = "budget_total"
    side: str | None = None
    name: str
    amount: float | None = None
    breakdown: dict[str, float | None] = Field(default_factory=dict)


class FunctionLine(Record):
    kind: str = "function_line"
    code: str | None = None
    name: str
    level: str | None = None
    parent_code: str | None = None
    total: float | None = None
    basic: float | None = None
    personnel: float | None = None
    public: float | None = None
    project: float | None = None
    other: dict[str, float | None] = Field(default_factory=dict)


class EconLine(Record):
    kind: str = "econ_line"
    code: str | None = None
    name: str
    level: str | None = None
    parent_code: str | None = None
    total: float | None = None
    personnel: float | None = None
    public: float | None = None
    other: dict[str, float | None] = Field(default_factory=dict)


class Sangong(Record):
    kind: str = "sangong"
    total: float | None = None
    overseas: float | None = None
    vehicle_total: float | None = None
    vehicle_purchase: float | None = None
    vehicle_operation: float | None = None
    reception: float | None = None


class Project(Record):
    kind: str = "project"
    name: str
    amount: float | None = None
    funding: dict[str, float | None] = Field(default_factory=dict)
    category: str | None = None
    half_year_plan: float | None = None


class Indicator(Record):
    kind: str = "indicator"
    project: str | None = None
    level1: str | None = None
    level2: str | None = None
    level3: str | None = None
    operator: str | None = None
    value: str | None = None
    value_num: float | None = None
    value_unit: str | None = None
    weight: float | None = None
    period: str | None = None
    description: str | None = None
    raw_value: str | None = None


class Fact(Record):
    kind: str = "fact"
    subject: str
    metric: str = "amount"
    value: float | None = None
    prior: float | None = None
    change: float | None = None
    change_pct: float | None = None
    reason: str | None = None
    sentence: str = ""


RECORD_TYPES: dict[str, type[Record]] = {
    "budget_total": BudgetTotal,
    "function_line": FunctionLine,
    "econ_line": EconLine,
    "sangong": Sangong,
    "project": Project,
    "indicator": Indicator,
    "fact": Fact,
}
RECORD_KINDS = tuple(RECORD_TYPES)


class Inference(BaseModel):
    value: Any = None
    how: str = ""
    evidence: str = ""


class DocumentMeta(BaseModel):
    doc_id: str
    source: str
    sha256: str
    department: str | None = None
    region: str | None = None
    level: str | None = None
    year: int | None = None
    doc_kind: str | None = None
    unit_original: str | None = None
    layout: str = ""
    pages: int = 1
    inferred: dict[str, Inference] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    extractor_version: str = ""
    # standard tables of its kind: {"standard": "预算", "found": [...], "missing": [...], "other": [...]}
    coverage: dict[str, Any] = Field(default_factory=dict)


class Extraction(BaseModel):
    document: DocumentMeta
    records: list[Record]
    # the parsed document's text blocks as the search index reads them (yusuan.index.blocks; JSON), stored beside
    # the records so `yusuan index` never parses the source again; not part of the exported schema
    blocks: str | None = Field(default=None, exclude=True)
    # the audit's issues found at extraction time (yusuan.audit.Issue dicts; JSON), stored in `audit_issues`;
    # None when the document was not audited then (the audit then runs on demand); not part of the exported schema
    audit_issues: str | None = Field(default=None, exclude=True)

    def by_kind(self, kind: str) -> list[Record]:
        return [record for record in self.records if record.kind == kind]
