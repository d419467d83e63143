"""Gold fixtures: loading, source resolution, format validation and the labels' own arithmetic.

A fixture that breaks the format is an *error* (it cannot be scored reliably); a label whose children do not sum
to its parent is a *warning*: the documents themselves are sometimes inconsistent, and the fixture's ``notes`` say
so. A warning whose figures the notes mention is marked ``noted``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .kinds import (
    DOCUMENT_FIELDS,
    KINDS,
    MONEY_DICT_FIELDS,
    MONEY_FIELDS,
    NUMBER_FIELDS,
    TABLE_KINDS,
    field_type,
    measure_of,
    schema_fields,
    table_kind_of,
)
from .normalize import code_key, name_key

FIXTURE_VERSION = 1
REQUIRED_TOP = ("fixture_version", "source", "sha256", "layout", "labelled_by", "complete", "document", "records")
OPTIONAL_TOP = ("notes",)
# Fields a record of each kind must label (the matching key); a value may be null where the key allows it.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "budget_total": ("table_kind", "side", "name"),
    "function_line": ("table_kind", "code", "name"),
    "econ_line": ("table_kind", "code", "name"),
    "sangong": ("unit_name",),
    "project": ("table_kind", "name"),
    "indicator": ("project", "level3"),
    "fact": ("subject", "value"),
}
ENUMS: dict[str, frozenset[Any]] = {
    "side": frozenset({"收入", "支出"}),
    "level": frozenset({"类", "款", "项", "合计", None}),
    "measure": frozenset({"预算数", "决算数", "上年预算数", "上年决算数"}),
    "metric": frozenset({"amount", "share"}),
    "operator": frozenset({"≥", "≤", "=", ">", "<", "定性", None}),
}
TEXT_SUFFIXES = {".txt", ".md", ".text", ".csv", ".tsv"}


class FixtureError(Exception):
    """A fixture file that cannot be read as JSON at all."""


@dataclass
class Problem:
    fixture: str
    severity: str  # "error" | "warning"
    message: str
    where: str = ""
    noted: bool = False  # a warning the fixture's notes already explain

    def __str__(self) -> str:
        where = f" [{self.where}]" if self.where else ""
        noted = " (noted)" if self.noted else ""
        return f"{self.severity}: {self.fixture}{where}: {self.message}{noted}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "fixture": self.fixture,
            "severity": self.severity,
            "message": self.message,
            "where": self.where,
            "noted": self.noted,
        }


@dataclass
class Fixture:
    path: Path
    data: dict[str, Any]
    source_path: Path | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def source(self) -> str:
        return str(self.data.get("source", ""))

    @property
    def layout(self) -> str:
        return str(self.data.get("layout") or "unknown")

    @property
    def sha256(self) -> str:
        return str(self.data.get("sha256") or "")

    @property
    def complete(self) -> set[str]:
        complete = self.data.get("complete") or []
        return {kind for kind in complete if isinstance(kind, str)}

    @property
    def document(self) -> dict[str, Any]:
        document = self.data.get("document")
        return document if isinstance(document, dict) else {}

    @property
    def notes(self) -> str:
        notes = self.data.get("notes") or ""
        return notes if isinstance(notes, str) else json.dumps(notes, ensure_ascii=False)

    def records(self, kind: str) -> list[dict[str, Any]]:
        records = (self.data.get("records") or {}).get(kind) or []
        return [record for record in records if isinstance(record, dict)]

    @property
    def kinds(self) -> list[str]:
        return [kind for kind in KINDS if self.records(kind)]

    @property
    def is_pdf(self) -> bool:
        """Locations are pages for PDFs; the stated layout wins over the name (crawlers save web pages as .pdf)."""
        if self.layout != "unknown":
            return self.layout == "pdf"
        return self.source.lower().endswith(".pdf")

    @property
    def available(self) -> bool:
        return self.source_path is not None and self.source_path.is_file()


# ------------------------------------------------------------------------------------------- locations


def repo_root() -> Path:
    """The repository root: eval/ lives at its top level (package dir of yusuan.eval)."""
    return Path(__file__).resolve().parent.parent


def shared_root(root: Path | None = None) -> Path:
    env = os.environ.get("YUSUAN_SHARED")
    if env:
        return Path(env)
    return (root or repo_root()).parent / "shared"


def default_fixtures_dir() -> Path:
    return Path(__file__).resolve().parent / "fixtures"


def resolve_source(source: str, root: Path | None = None, shared: Path | None = None) -> Path:
    """`corpus/...` is relative to the repository root, `realdocs/...` to the shared folder beside it."""
    root = root or repo_root()
    path = Path(source)
    if path.is_absolute():
        return path
    if source.startswith("realdocs/"):
        return (shared or shared_root(root)) / source
    return root / source


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------- loading


def load_fixture(path: str | Path, root: Path | None = None, shared: Path | None = None) -> Fixture:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FixtureError(f"{path}: cannot read fixture: {exc}") from exc
    if not isinstance(data, dict):
        raise FixtureError(f"{path}: a fixture is a JSON object")
    source = data.get("source")
    source_path = resolve_source(source, root, shared) if isinstance(source, str) and source else None
    return Fixture(path=path, data=data, source_path=source_path)


def load_fixtures(
    directory: str | Path | None = None, root: Path | None = None, shared: Path | None = None
) -> list[Fixture]:
    """Every `*.json` in the directory, sorted by name. Unreadable files become fixtures with an error problem."""
    directory = Path(directory) if directory else default_fixtures_dir()
    fixtures = []
    for path in sorted(directory.glob("*.json")):
        try:
            fixtures.append(load_fixture(path, root, shared))
        except FixtureError as exc:
            fixture = Fixture(path=path, data={})
            fixture.problems.append(Problem(path.stem, "error", str(exc)))
            fixtures.append(fixture)
    return fixtures


# ------------------------------------------------------------------------------------------- format


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _where(kind: str, index: int, record: dict[str, Any]) -> str:
    loc = record.get("loc") if isinstance(record.get("loc"), dict) else {}
    at = f" line {loc['line']}" if loc.get("line") else (f" page {loc['page']}" if loc.get("page") else "")
    name = record.get("code") or record.get("name") or record.get("level3") or record.get("subject") or ""
    return f"{kind}[{index}] {name}{at}".strip()


def validate_format(fixture: Fixture) -> list[Problem]:
    problems: list[Problem] = []
    data = fixture.data
    name = fixture.name

    def error(message: str, where: str = "") -> None:
        problems.append(Problem(name, "error", message, where))

    def warning(message: str, where: str = "") -> None:
        problems.append(Problem(name, "warning", message, where))

    if not data:
        return problems
    for key in REQUIRED_TOP:
        if key not in data:
            error(f"missing required key '{key}'")
    for key in data:
        if key not in REQUIRED_TOP and key not in OPTIONAL_TOP:
            warning(f"unknown top-level key '{key}'")
    if "fixture_version" in data and data["fixture_version"] != FIXTURE_VERSION:
        error(f"fixture_version {data['fixture_version']!r} is not {FIXTURE_VERSION}")
    if "source" in data and (not isinstance(data["source"], str) or not data["source"]):
        error("source must be a non-empty path string")
    sha = data.get("sha256")
    if "sha256" in data and not (isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha)):
        error("sha256 must be 64 lowercase hex characters")
    complete = data.get("complete")
    if "complete" in data:
        if not isinstance(complete, list):
            error("complete must be a list of kinds")
        else:
            for kind in complete:
                if kind not in KINDS:
                    error(f"complete lists unknown kind '{kind}'")
    document = data.get("document")
    if "document" in data:
        if not isinstance(document, dict):
            error("document must be an object")
        else:
            for key, value in document.items():
                if key not in DOCUMENT_FIELDS:
                    error(f"document has unknown field '{key}'")
                elif key == "year":
                    if value is not None and not isinstance(value, int):
                        error("document.year must be an integer")
                elif value is not None and not isinstance(value, str):
                    error(f"document.{key} must be text or null")
    records = data.get("records")
    if "records" in data and not isinstance(records, dict):
        error("records must be an object of kind → list")
        return problems
    for kind, items in (records or {}).items():
        if kind not in KINDS:
            error(f"unknown record kind '{kind}' (known: {', '.join(KINDS)})")
            continue
        if not isinstance(items, list):
            error(f"records.{kind} must be a list")
            continue
        allowed = schema_fields(kind) | {"loc"}
        for index, record in enumerate(items):
            if not isinstance(record, dict):
                error(f"records.{kind}[{index}] is not an object")
                continue
            where = _where(kind, index, record)
            for key in record:
                if key not in allowed:
                    error(f"unknown field '{key}' for kind {kind}", where)
            for key in REQUIRED_FIELDS[kind]:
                if key not in record:
                    error(f"missing key field '{key}'", where)
            _check_loc(record.get("loc"), fixture, where, error, warning)
            table_kind = record.get("table_kind")
            if table_kind is not None and table_kind not in TABLE_KINDS:
                error(f"unknown table_kind '{table_kind}'", where)
            for key in MONEY_FIELDS[kind] | NUMBER_FIELDS.get(kind, frozenset()):
                if key in record and record[key] is not None and not _is_number(record[key]):
                    error(f"{key} must be a number or null, not {record[key]!r}", where)
            for key in MONEY_DICT_FIELDS.get(kind, ()):
                if key in record and record[key] is not None:
                    if not isinstance(record[key], dict):
                        error(f"{key} must be an object of header → number", where)
                        continue
                    for header, value in record[key].items():
                        if value is not None and not _is_number(value):
                            error(f"{key}.{header} must be a number or null, not {value!r}", where)
            for key, allowed_values in ENUMS.items():
                if key in record and key in allowed and record[key] not in allowed_values:
                    error(f"{key} {record[key]!r} is not one of {sorted(v for v in allowed_values if v)}", where)
            code = record.get("code")
            if code is not None and not (isinstance(code, str) and re.fullmatch(r"\d{3}(\d{2}){0,2}", code)):
                error(f"code {code!r} must be a 3, 5 or 7 digit string (or null)", where)
            for key in ("name", "subject", "unit_name", "project", "level1", "level2", "level3", "value"):
                if key not in allowed or field_type(kind, key, record) != "text":
                    continue
                if key in record and record[key] is not None and not isinstance(record[key], str):
                    error(f"{key} must be text or null", where)
    return problems


def _check_loc(loc: Any, fixture: Fixture, where: str, error, warning) -> None:
    if not isinstance(loc, dict) or not loc:
        error("missing loc ({'page': n} for PDFs, {'line': n} for text)", where)
        return
    for key, value in loc.items():
        if key not in ("page", "line"):
            error(f"loc has unknown key '{key}'", where)
        elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
            error(f"loc.{key} must be a positive integer", where)
    if fixture.is_pdf and "page" not in loc:
        warning("PDF fixture record without loc.page", where)
    if not fixture.is_pdf and "line" not in loc:
        warning("text fixture record without loc.line", where)


# ------------------------------------------------------------------------------------------- arithmetic


def _tolerance(count: int) -> float:
    return 0.005 * count + 0.01


def _fmt(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _parent_code(record: dict[str, Any]) -> str:
    parent = code_key(record.get("parent_code"))
    if parent:
        return parent
    code = code_key(record.get("code"))
    return code[:-2] if len(code) in (5, 7) else ""


def _line_arithmetic(kind: str, records: list[dict[str, Any]], fixture: Fixture) -> list[Problem]:
    problems = []
    fields = sorted(MONEY_FIELDS[kind])
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        groups[(table_kind_of(kind, record), measure_of(record))].append(record)
    for (table_kind, measure), group in groups.items():
        by_code: dict[str, dict[str, Any]] = {}
        for record in group:
            code = code_key(record.get("code"))
            if code and code in by_code:
                problems.append(
                    Problem(fixture.name, "warning", f"code {code} labelled twice in {table_kind} ({measure})")
                )
            elif code:
                by_code[code] = record
        children: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in by_code.values():
            parent = _parent_code(record)
            if parent:
                children[parent].append(record)
        totals = [
            record
            for record in group
            if not code_key(record.get("code"))
            and (record.get("level") == "合计" or name_key(record.get("name")) in ("合计", "总计"))
            and name_key(record.get("name")) in ("合计", "总计", "")
        ]
        if len(totals) == 1:
            children["合计"] = [record for code, record in by_code.items() if len(code) == 3]
        for parent_code, kids in children.items():
            parent = totals[0] if parent_code == "合计" else by_code.get(parent_code)
            if parent is None or not kids:
                continue
            for field_name in fields:
                expected = parent.get(field_name)
                values = [kid.get(field_name) for kid in kids]
                if not _is_number(expected) or not any(_is_number(v) for v in values):
                    continue
                actual = sum(v for v in values if _is_number(v))
                if abs(actual - expected) > _tolerance(len(kids)):
                    label = "合计" if parent_code == "合计" else f"{parent_code} {parent.get('name', '')}"
                    level = {3: "类", 5: "款", 7: "项"}.get(len(code_key(kids[0].get("code"))), "")
                    message = (
                        f"{kind} {table_kind} ({measure}) {label} {field_name}: printed {_fmt(expected)}, "
                        f"its {len(kids)} {level} lines sum to {_fmt(actual)} (diff {_fmt(actual - expected)})"
                    )
                    problems.append(
                        Problem(
                            fixture.name,
                            "warning",
                            message,
                            label,
                            noted=_noted(fixture, parent_code, expected, actual),
                        )
                    )
    return problems


def _sangong_arithmetic(records: list[dict[str, Any]], fixture: Fixture) -> list[Problem]:
    problems = []

    def check(label: str, expected: Any, parts: list[Any], what: str, noted_code: str) -> None:
        if not _is_number(expected) or not any(_is_number(p) for p in parts):
            return
        actual = sum(p for p in parts if _is_number(p))
        if abs(actual - expected) > _tolerance(len(parts)):
            problems.append(
                Problem(
                    fixture.name,
                    "warning",
                    f"sangong {label}: {what} printed {_fmt(expected)}, parts sum to {_fmt(actual)}",
                    label,
                    noted=_noted(fixture, noted_code, expected, actual),
                )
            )

    for record in records:
        label = f"{record.get('unit_name')} ({measure_of(record)})"
        purchase, operation = record.get("vehicle_purchase"), record.get("vehicle_operation")
        vehicle = record.get("vehicle_total")
        check(label, vehicle, [purchase, operation], "vehicle_total", "公务用车")
        if not _is_number(vehicle) and (_is_number(purchase) or _is_number(operation)):
            vehicle = sum(p for p in (purchase, operation) if _is_number(p))
        check(label, record.get("total"), [record.get("overseas"), vehicle, record.get("reception")], "total", "三公")
    by_measure: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_measure[measure_of(record)].append(record)
    for measure, group in by_measure.items():
        totals = [r for r in group if name_key(r.get("unit_name")) in ("合计", "")]
        units = [r for r in group if name_key(r.get("unit_name")) not in ("合计", "")]
        if len(totals) == 1 and units:
            for field_name in sorted(MONEY_FIELDS["sangong"]):
                check(
                    f"合计 ({measure})",
                    totals[0].get(field_name),
                    [u.get(field_name) for u in units],
                    f"{field_name} over units",
                    "合计",
                )
    return problems


def _project_arithmetic(records: list[dict[str, Any]], fixture: Fixture) -> list[Problem]:
    problems = []
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        groups[table_kind_of("project", record)].append(record)
    for table_kind, group in groups.items():
        parents: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = []
        totals = [r for r in group if name_key(r.get("name")) in ("合计", "总计")]
        others = [r for r in group if name_key(r.get("name")) not in ("合计", "总计")]
        for total in totals:
            unit = name_key(total.get("unit_name"))
            kids = [r for r in others if not unit or name_key(r.get("unit_name")) == unit]
            kids = [r for r in kids if not r.get("category")]  # sub-projects are inside their parent
            parents.append(("合计", total, kids))
        by_name = {name_key(r.get("name")): r for r in others}
        categories: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in others:
            if record.get("category"):
                categories[name_key(record["category"])].append(record)
        for category, kids in categories.items():
            if category in by_name:
                parents.append((category, by_name[category], kids))
        for label, parent, kids in parents:
            for field_name in ("amount", "half_year_plan"):
                expected = parent.get(field_name)
                values = [kid.get(field_name) for kid in kids]
                if not _is_number(expected) or not any(_is_number(v) for v in values):
                    continue
                actual = sum(v for v in values if _is_number(v))
                if abs(actual - expected) > _tolerance(len(kids)):
                    problems.append(
                        Problem(
                            fixture.name,
                            "warning",
                            f"project {table_kind} {label} {field_name}: printed {_fmt(expected)}, "
                            f"its {len(kids)} lines sum to {_fmt(actual)}",
                            label,
                            noted=_noted(fixture, label, expected, actual),
                        )
                    )
    return problems


def _noted(fixture: Fixture, code: str, expected: float, actual: float) -> bool:
    """Whether the fixture's notes mention this inconsistency: both the printed figure and the sum appear."""
    notes = fixture.notes
    if not notes:
        return False
    plain = notes.replace(",", "")

    def mentioned(value: float) -> bool:
        candidates = {f"{value:.2f}", _fmt(value), f"{value:.0f}" if value == int(value) else _fmt(value)}
        return any(re.search(rf"(?<![\d.]){re.escape(c)}(?![\d])", plain) for c in candidates)

    return mentioned(expected) and mentioned(actual)


def validate_arithmetic(fixture: Fixture) -> list[Problem]:
    problems: list[Problem] = []
    for kind in ("function_line", "econ_line"):
        problems += _line_arithmetic(kind, fixture.records(kind), fixture)
    problems += _sangong_arithmetic(fixture.records("sangong"), fixture)
    problems += _project_arithmetic(fixture.records("project"), fixture)
    return problems


def validate_source(fixture: Fixture) -> list[Problem]:
    if fixture.source_path is None:
        return []
    if not fixture.source_path.is_file():
        return [
            Problem(
                fixture.name,
                "warning",
                f"source not found: {fixture.source_path} (the fixture is skipped when scoring)",
            )
        ]
    actual = file_sha256(fixture.source_path)
    if fixture.sha256 and actual != fixture.sha256:
        return [
            Problem(
                fixture.name,
                "warning",
                f"sha256 of {fixture.source} is {actual}, the fixture says {fixture.sha256}: "
                "the labels may describe another version of the file",
            )
        ]
    return []


def validate_fixture(fixture: Fixture, check_source: bool = True) -> list[Problem]:
    """Every problem of one fixture: format errors, arithmetic warnings, source warnings."""
    problems = list(fixture.problems)
    problems += validate_format(fixture)
    if not any(p.severity == "error" for p in problems):
        problems += validate_arithmetic(fixture)
    if check_source:
        problems += validate_source(fixture)
    return problems


def validate_fixtures(fixtures: list[Fixture], check_source: bool = True) -> list[Problem]:
    problems: list[Problem] = []
    for fixture in fixtures:
        problems += validate_fixture(fixture, check_source)
    return problems
