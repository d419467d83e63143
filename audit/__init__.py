"""Audit: find the problems in a disclosure — missing tables and sections, sums that do not add up inside or across
tables, text that contradicts the tables or its own arithmetic, template leftovers — as :class:`Issue` records.

Issues are computed on demand from a document's ingested blocks and its extracted records; rounding differences
within the printed precision are never issues.
"""

from __future__ import annotations

from pathlib import Path

from yusuan.model import Extraction, IngestedDocument

from . import completeness, cross_table, table_arithmetic, text_arithmetic, text_lint, text_table  # noqa: F401 (register rules)
from .context import AuditContext
from .model import FAMILIES, ComparedValue, Issue
from .registry import RULES, Rule


def audit_document(doc: IngestedDocument, extraction: Extraction, rules: list[str] | None = None) -> list[Issue]:
    ctx = AuditContext(doc, extraction)
    issues: list[Issue] = []
    for rule in RULES.values():
        if rules and rule.rule_id not in rules and rule.family not in rules:
            continue
        issues.extend(rule.check(ctx))
    return sorted(issues, key=lambda issue: (issue.page or 0, FAMILIES.index(issue.family), issue.rule_id))


def audit_path(path: str | Path) -> tuple[Extraction, list[Issue]]:
    from yusuan.extract import extract_document
    from yusuan.ingest import ingest_path

    doc = ingest_path(path)
    extraction = extract_document(doc)
    return extraction, audit_document(doc, extraction)


__all__ = ["RULES", "ComparedValue", "Issue", "Rule", "audit_document", "audit_path"]
