"""`yusuan eval audit`: precision and recall of the audit per rule family on hand-labelled issue fixtures.

A fixture (eval/audit/*.json) names a source document and the findings a reader labelled in it (family, page,
description, the values involved, and `match`: words the reported issue must contain). A planted fixture also lists
`edits` — text replaced in the ingested document (a line or a table cell on one page) before extraction — and
inherits the findings of the real document it starts from (`base`). A finding is found when an issue of its family
on its page contains its `match` words; an issue that matches no finding is a false alarm (counted only for fixtures
marked `complete`, whose every finding is labelled); several issues for one finding count once.
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from pathlib import Path

from pydantic import BaseModel, Field

from yusuan.model import Cell, Grid, IngestedDocument, TextLine

from .model import FAMILIES, Family, Issue


class Finding(BaseModel):
    family: Family
    page: int | None = None
    description: str
    values: list[str] = Field(default_factory=list)
    match: list[str] = Field(default_factory=list)


class Edit(BaseModel):
    page: int
    find: str
    replace: str


class AuditFixture(BaseModel):
    name: str = ""
    source: str
    kind: str  # "real": findings read in the real PDF; "planted": errors planted by `edits` in a copy
    labelled_by: str = ""  # "blind: read before running the tool", or labelled while the rules were written
    how: str = ""
    base: str | None = None
    complete: bool = True
    edits: list[Edit] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)


class FamilyScore(BaseModel):
    findings: int = 0
    found: int = 0
    issues: int = 0
    false_alarms: int = 0

    @property
    def recall(self) -> float | None:
        return self.found / self.findings if self.findings else None

    @property
    def precision(self) -> float | None:
        return (self.issues - self.false_alarms) / self.issues if self.issues else None


class DocumentResult(BaseModel):
    fixture: str
    kind: str
    missed: list[str] = Field(default_factory=list)
    false_alarms: list[str] = Field(default_factory=list)
    found: int = 0
    findings: int = 0


class EvalResult(BaseModel):
    families: dict[str, FamilyScore]
    documents: list[DocumentResult]

    @property
    def false_alarms_per_real_document(self) -> float:
        real = [d for d in self.documents if d.kind == "real"]
        return sum(len(d.false_alarms) for d in real) / len(real) if real else 0.0


def load_fixtures(folder: Path) -> list[AuditFixture]:
    fixtures = {}
    for path in sorted(folder.glob("*.json")):
        fixture = AuditFixture.model_validate(json.loads(path.read_text(encoding="utf-8")))
        fixture.name = path.name
        fixtures[path.name] = fixture
    for fixture in fixtures.values():
        if fixture.base:
            fixture.findings = fixtures[fixture.base].findings + fixture.findings
    return list(fixtures.values())


def apply_edits(doc: IngestedDocument, edits: list[Edit]) -> IngestedDocument:
    """A copy of the document with each edit applied to the one line or cell on its page that holds its text."""
    planted = copy.deepcopy(doc)
    for edit in edits:
        targets: dict[int, TextLine | Cell] = {}
        titled: list[Grid] = []
        for block in planted.blocks:
            places: list[TextLine | Cell] = list(block.lines)
            if block.grid is not None:
                grid = block.grid
                places += ([grid.title_line] if grid.title_line else []) + grid.context + grid.note
                places += [cell for row in grid.rows for cell in row]
                if edit.find in grid.title and grid.page == edit.page:
                    titled.append(grid)
            targets.update({id(place): place for place in places if place.page == edit.page and edit.find in place.text})
        if len(targets) != 1:
            raise ValueError(f"edit {edit.find!r} on page {edit.page} matches {len(targets)} places, not one")
        target = next(iter(targets.values()))
        target.text = target.text.replace(edit.find, edit.replace)
        target.raw = target.raw.replace(edit.find, edit.replace)
        for grid in titled:
            grid.title = grid.title.replace(edit.find, edit.replace)
    return planted


def _plain(text: str) -> str:
    """Full-width forms folded and spaces dropped, as the ingested text is: a label written from the PDF's '（增长）'
    matches an issue quoting '(增长)'."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _matches(issue: Issue, finding: Finding) -> bool:
    if issue.family != finding.family or (finding.page is not None and issue.page != finding.page):
        return False
    text = _plain(issue.message + issue.evidence + "".join(str(v.value) + v.raw for v in issue.values))
    return all(_plain(word) in text for word in finding.match)


def score_document(fixture: AuditFixture, issues: list[Issue], families: dict[str, FamilyScore]) -> DocumentResult:
    result = DocumentResult(fixture=fixture.name, kind=fixture.kind, findings=len(fixture.findings))
    for finding in fixture.findings:
        score = families[finding.family]
        score.findings += 1
        if any(_matches(issue, finding) for issue in issues):
            score.found += 1
            result.found += 1
        else:
            result.missed.append(f"{finding.family} p{finding.page}: {finding.description}")
    for issue in issues:
        score = families[issue.family]
        score.issues += 1
        if fixture.complete and not any(_matches(issue, finding) for finding in fixture.findings):
            score.false_alarms += 1
            result.false_alarms.append(f"{issue.rule_id} p{issue.page}: {issue.message}")
    return result


def run_eval(folder: Path) -> EvalResult:
    from yusuan.eval.fixtures import resolve_source
    from yusuan.extract import extract_document
    from yusuan.ingest import ingest_path

    from . import audit_document

    families = {family: FamilyScore() for family in FAMILIES}
    documents: list[DocumentResult] = []
    ingested: dict[str, IngestedDocument] = {}
    for fixture in load_fixtures(folder):
        path = resolve_source(fixture.source)
        if str(path) not in ingested:
            ingested[str(path)] = ingest_path(path)
        doc = apply_edits(ingested[str(path)], fixture.edits)
        issues = audit_document(doc, extract_document(doc))
        documents.append(score_document(fixture, issues, families))
    return EvalResult(families=families, documents=documents)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def format_report(result: EvalResult) -> str:
    lines = ["family             findings found recall  issues false_alarms precision"]
    total = FamilyScore()
    for family, score in result.families.items():
        lines.append(f"{family:<18} {score.findings:>8} {score.found:>5} {_pct(score.recall):>6} {score.issues:>7} "
                     f"{score.false_alarms:>12} {_pct(score.precision):>9}")
        for name in ("findings", "found", "issues", "false_alarms"):
            setattr(total, name, getattr(total, name) + getattr(score, name))
    lines.append(f"{'all':<18} {total.findings:>8} {total.found:>5} {_pct(total.recall):>6} {total.issues:>7} "
                 f"{total.false_alarms:>12} {_pct(total.precision):>9}")
    lines.append(f"false alarms per real document: {result.false_alarms_per_real_document:.2f}")
    for document in result.documents:
        lines.append(f"\n{document.fixture} ({document.kind}): {document.found}/{document.findings} found, "
                     f"{len(document.false_alarms)} false alarms")
        lines.extend(f"  missed: {miss}" for miss in document.missed)
        lines.extend(f"  false alarm: {alarm}" for alarm in document.false_alarms)
    return "\n".join(lines)
