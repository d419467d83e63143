"""The issue record: one problem found in a disclosure, where it is and the values that disagree."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from yusuan.model import BBox

Family = Literal["completeness", "table_arithmetic", "cross_table", "text_table", "text_arithmetic", "text_lint"]
Severity = Literal["error", "warning", "info"]

FAMILIES: tuple[str, ...] = ("completeness", "table_arithmetic", "cross_table", "text_table", "text_arithmetic", "text_lint")
FAMILY_NAMES = {
    "completeness": "完整性",
    "table_arithmetic": "表内勾稽",
    "cross_table": "表间勾稽",
    "text_table": "文表一致",
    "text_arithmetic": "文字计算",
    "text_lint": "文字规范",
}


class ComparedValue(BaseModel):
    """One side of a comparison: what it is, the number (万元 or %) or text, and where it is printed."""

    label: str
    value: float | str | None = None
    raw: str = ""
    page: int | None = None
    bbox: BBox | None = None


class Issue(BaseModel):
    rule_id: str
    family: Family
    severity: Severity
    message: str  # 中文
    page: int | None = None
    bbox: BBox | None = None
    values: list[ComparedValue] = Field(default_factory=list)
    suggestion: str = ""
    evidence: str = ""  # the sentence, cell or title the issue is about

    @property
    def locations(self) -> list[tuple[int, BBox]]:
        """Every printed place the issue points at (its own box and the compared values' boxes)."""
        places = [(self.page, self.bbox)] + [(value.page, value.bbox) for value in self.values]
        unique: list[tuple[int, BBox]] = []
        for page, bbox in places:
            if page is not None and bbox is not None and (page, bbox) not in unique:
                unique.append((page, bbox))
        return unique
