"""What the evaluation knows about each record kind: fields, their types, matching keys."""

from __future__ import annotations

from typing import Any

from yusuan.model import RECORD_TYPES

from .normalize import code_key, key_text, name_key, to_number

KINDS: tuple[str, ...] = tuple(RECORD_TYPES)

# Columns of the public schema that are bookkeeping, not labelled values.
INTERNAL_FIELDS = frozenset({"kind", "doc_id", "record_id", "provenance", "values", "checks"})

TABLE_KINDS = frozenset(
    {
        "收支总表",
        "收入总表",
        "支出总表",
        "财政拨款收支总表",
        "一般公共预算支出表",
        "财政拨款支出表",
        "基本支出表",
        "财政拨款基本支出表",
        "机关运行经费表",
        "三公经费表",
        "政府性基金支出表",
        "国有资本经营支出表",
        "项目支出表",
        "绩效目标表",
        "整体绩效目标表",
        "重点项目表",
        "narrative",
    }
)

# Kinds that come from one kind of table only: a missing table_kind means that one.
DEFAULT_TABLE_KIND = {"sangong": "三公经费表", "fact": "narrative"}

MONEY_FIELDS: dict[str, frozenset[str]] = {
    "budget_total": frozenset({"amount"}),
    "function_line": frozenset({"total", "basic", "personnel", "public", "project"}),
    "econ_line": frozenset({"total", "personnel", "public"}),
    "sangong": frozenset(
        {"total", "overseas", "vehicle_total", "vehicle_purchase", "vehicle_operation", "reception"}
    ),
    "project": frozenset({"amount", "half_year_plan"}),
    "indicator": frozenset(),
    "fact": frozenset({"value", "prior", "change"}),
}
# Dict fields whose values are money by column header.
MONEY_DICT_FIELDS: dict[str, frozenset[str]] = {
    "budget_total": frozenset({"breakdown"}),
    "function_line": frozenset({"other"}),
    "econ_line": frozenset({"other"}),
    "project": frozenset({"funding"}),
}
# Numbers that are not money (no unit conversion).
NUMBER_FIELDS: dict[str, frozenset[str]] = {
    "indicator": frozenset({"value_num", "weight"}),
    "fact": frozenset({"change_pct"}),
}

DOCUMENT_FIELDS = ("department", "region", "level", "year", "doc_kind", "unit_original")


def schema_fields(kind: str) -> set[str]:
    """Fields a record of `kind` may carry (public schema, bookkeeping columns excluded)."""
    return set(RECORD_TYPES[kind].model_fields) - INTERNAL_FIELDS


def field_type(kind: str, field: str, record: dict[str, Any] | None = None) -> str:
    """`money`, `number` or `text` for a scored field (`other.<header>` style sub-fields included)."""
    base = field.split(".", 1)[0]
    if "." in field and base in MONEY_DICT_FIELDS.get(kind, ()):
        return "money"
    if kind == "fact" and base in ("value", "prior") and record is not None and record.get("metric") == "share":
        return "number"
    if base in MONEY_FIELDS.get(kind, ()):
        return "money"
    if base in NUMBER_FIELDS.get(kind, ()):
        return "number"
    return "text"


def is_numeric_field(kind: str, field: str) -> bool:
    return field_type(kind, field) in ("money", "number")


def table_kind_of(kind: str, record: dict[str, Any]) -> str:
    table_kind = key_text(record.get("table_kind"))
    return table_kind or DEFAULT_TABLE_KIND.get(kind, "")


def measure_of(record: dict[str, Any]) -> str:
    return key_text(record.get("measure")) or "预算数"


def _line_key(record: dict[str, Any]) -> str:
    code = code_key(record.get("code"))
    return code if code else "name:" + name_key(record.get("name"))


def record_key(kind: str, record: dict[str, Any]) -> tuple[str, ...]:
    """The matching key of docs/eval.md. Ties within a key are resolved by similarity (see match.py)."""
    table_kind = table_kind_of(kind, record)
    if kind == "budget_total":
        return (table_kind, key_text(record.get("side")), name_key(record.get("name")))
    if kind in ("function_line", "econ_line"):
        return (table_kind, _line_key(record))
    if kind == "sangong":
        return (name_key(record.get("unit_name")) or "合计",)
    if kind == "project":
        return (table_kind, name_key(record.get("name")))
    if kind == "indicator":
        return (name_key(record.get("project")), key_text(record.get("period")), name_key(record.get("level3")))
    if kind == "fact":
        return (name_key(record.get("subject")),)
    raise KeyError(f"unknown record kind '{kind}'")


def key_label(kind: str, record: dict[str, Any]) -> str:
    """Human-readable key for reports."""
    parts = [part for part in record_key(kind, record) if part]
    if kind == "fact":
        value = to_number(record.get("value"))
        parts.append("" if value is None else f"{value:g}")
    measure = record.get("measure")
    if measure and measure != "预算数":
        parts.append(str(measure))
    return " / ".join(parts)
