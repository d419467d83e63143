"""Match predicted records to gold records, kind by kind.

Records are grouped by the matching key of docs/eval.md (:func:`yusuan.eval.kinds.record_key`). Within one key
(the 财政拨款收支总表 prints 一般公共预算 twice, a fact sentence repeats a figure, an indicator name repeats under two
一级指标, a 决算 table has a 预算数 and a 决算数 row) gold and predicted records are paired greedily by how many
labelled fields agree (measure, unit_name and level1 count double), then by closeness of location, then by order.
A fact's key includes its value: a fact only matches a fact of the same value (within the tolerance); a second
pass pairs the leftovers whose values differ by a factor of 10 000, so a unit slip is reported as such.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from yusuan.model import Extraction, Record

from .kinds import KINDS, field_type, measure_of, record_key
from .normalize import is_unit_error, key_text, money_factor, name_key, text_equal, to_number

DEFAULT_TOLERANCE = 0.005
SKIP_FIELDS = frozenset({"loc", "table_kind", "kind"})
_HEAVY_FIELDS = frozenset({"measure", "unit_name", "level1", "level2", "side"})


@dataclass
class Pair:
    gold: dict[str, Any]
    pred: dict[str, Any]
    unit_slip: bool = False  # matched only through a ×10 000 value (facts)


@dataclass
class KindMatch:
    kind: str
    pairs: list[Pair] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)  # gold without a prediction
    extra: list[dict[str, Any]] = field(default_factory=list)  # predictions without a gold record


# ------------------------------------------------------------------------------------------- predictions


def _dump(record: Any) -> dict[str, Any]:
    if isinstance(record, Record):
        return record.model_dump(mode="json")
    if isinstance(record, dict):
        return dict(record)
    raise TypeError(f"a prediction is a dict or a yusuan.model.Record, not {type(record).__name__}")


def split_output(output: Any) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """An extractor's output → (document meta or None, record dicts).

    Accepted: :class:`yusuan.model.Extraction`, a list of record dicts/Records, or a dict
    ``{"document": {...}, "records": [...]}`` (records may also be grouped by kind: ``{"records": {kind: [...]}}``).
    """
    if isinstance(output, Extraction):
        return output.document.model_dump(mode="json"), [_dump(r) for r in output.records]
    if isinstance(output, dict):
        document = output.get("document")
        records = output.get("records") or []
        if isinstance(records, dict):
            flat = []
            for kind, items in records.items():
                for item in items or []:
                    item = _dump(item)
                    item.setdefault("kind", kind)
                    flat.append(item)
            records = flat
        return (document if isinstance(document, dict) else None), [_dump(r) for r in records]
    if isinstance(output, (list, tuple)):
        return None, [_dump(r) for r in output]
    raise TypeError(f"extractor output must be an Extraction, a list of records or a dict, not {type(output).__name__}")


def normalize_prediction(record: dict[str, Any]) -> dict[str, Any]:
    """Numbers parsed, money converted to 万元 when the record declares `money_unit` (元/万元/亿元)."""
    record = dict(record)
    kind = record.get("kind", "")
    if kind not in KINDS:
        return record
    factor = money_factor(record.get("money_unit")) or 1.0
    for name, value in list(record.items()):
        if name in SKIP_FIELDS or name in ("provenance", "values", "checks"):
            continue
        if isinstance(value, dict):
            if field_type(kind, f"{name}.x", record) == "money":
                record[name] = {
                    header: (None if to_number(v) is None else to_number(v) * factor) for header, v in value.items()
                }
            continue
        kind_of = field_type(kind, name, record)
        if kind_of in ("money", "number") and value is not None:
            number = to_number(value)
            record[name] = None if number is None else number * (factor if kind_of == "money" else 1.0)
    return record


# ------------------------------------------------------------------------------------------- comparison


def values_equal(kind: str, field_name: str, gold: Any, pred: Any, tolerance: float, record=None) -> bool:
    if field_type(kind, field_name, record) in ("money", "number"):
        g, p = to_number(gold), to_number(pred)
        if g is None or p is None:
            return g is None and p is None
        return abs(g - p) <= tolerance + 1e-9
    if isinstance(pred, str) and not pred.strip():
        pred = None
    return text_equal(gold, pred, field_name)


def _location(record: dict[str, Any]) -> tuple[int | None, int | None]:
    loc = record.get("loc") or record.get("provenance") or {}
    if not isinstance(loc, dict):
        return None, None
    return loc.get("page"), loc.get("line")


def _similarity(kind: str, gold: dict[str, Any], pred: dict[str, Any], tolerance: float) -> float:
    score = 0.0
    for name, value in gold.items():
        if name in SKIP_FIELDS:
            continue
        if isinstance(value, dict):
            other = pred.get(name) if isinstance(pred.get(name), dict) else {}
            other = {key_text(k): v for k, v in other.items()}
            for header, v in value.items():
                if values_equal(kind, f"{name}.{header}", v, other.get(key_text(header)), tolerance, gold):
                    score += 0.5
            continue
        if values_equal(kind, name, value, pred.get(name), tolerance, gold):
            score += 2.0 if name in _HEAVY_FIELDS else 1.0
    if measure_of(gold) == measure_of(pred):
        score += 3.0
    gold_page, gold_line = _location(gold)
    pred_page, pred_line = _location(pred)
    if gold_line is not None and pred_line is not None:
        score -= min(abs(gold_line - pred_line), 1000) / 2000.0
    elif gold_page is not None and pred_page is not None:
        score -= min(abs(gold_page - pred_page), 100) / 200.0
    return score


def _fact_compatible(gold: dict[str, Any], pred: dict[str, Any], tolerance: float) -> bool:
    g, p = to_number(gold.get("value")), to_number(pred.get("value"))
    if g is None or p is None:
        return g is None and p is None
    return abs(g - p) <= tolerance + 1e-9 and subjects_overlap(gold, pred)


def subjects_overlap(gold: dict[str, Any], pred: dict[str, Any]) -> bool:
    """Where a sentence's subject starts is a judgement call (行政运行 vs 公共安全支出(204类)司法(06款)行政运行(01项)):
    fact subjects agree when one contains the other."""
    g, p = name_key(gold.get("subject")), name_key(pred.get("subject"))
    return bool(g and p) and (g in p or p in g)


def _assign(
    kind: str,
    gold: list[tuple[int, dict[str, Any]]],
    pred: list[tuple[int, dict[str, Any]]],
    tolerance: float,
    compatible,
) -> tuple[list[tuple[int, int]], set[int], set[int]]:
    candidates = []
    for gi, g in gold:
        for pi, p in pred:
            if compatible(g, p):
                candidates.append((-_similarity(kind, g, p, tolerance), gi, pi))
    candidates.sort()
    used_gold: set[int] = set()
    used_pred: set[int] = set()
    pairs = []
    for _, gi, pi in candidates:
        if gi in used_gold or pi in used_pred:
            continue
        used_gold.add(gi)
        used_pred.add(pi)
        pairs.append((gi, pi))
    return pairs, used_gold, used_pred


def match_kind(
    kind: str, gold: list[dict[str, Any]], pred: list[dict[str, Any]], tolerance: float = DEFAULT_TOLERANCE
) -> KindMatch:
    """Pair gold and predicted records of one kind (predictions already normalised)."""
    result = KindMatch(kind)
    gold_groups: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    pred_groups: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    # Facts are paired by value and overlapping subject, so they form one group rather than one per subject.
    group_key = (lambda record: ()) if kind == "fact" else (lambda record: record_key(kind, record))
    for index, record in enumerate(gold):
        gold_groups[group_key(record)].append((index, record))
    for index, record in enumerate(pred):
        pred_groups[group_key(record)].append((index, record))

    if kind == "fact":

        def compatible(g, p):
            return _fact_compatible(g, p, tolerance)
    else:

        def compatible(g, p):
            return True

    matched_gold: set[int] = set()
    matched_pred: set[int] = set()
    pairs: list[tuple[int, int, bool]] = []
    for key, golds in gold_groups.items():
        preds = pred_groups.get(key)
        if not preds:
            continue
        found, used_gold, used_pred = _assign(kind, golds, preds, tolerance, compatible)
        pairs += [(gi, pi, False) for gi, pi in found]
        matched_gold |= used_gold
        matched_pred |= used_pred
    if kind == "fact":  # second pass: overlapping subject, value off by the money unit

        def unit_compatible(g, p):
            gv, pv = to_number(g.get("value")), to_number(p.get("value"))
            return gv is not None and pv is not None and is_unit_error(gv, pv, tolerance) and subjects_overlap(g, p)

        for key, golds in gold_groups.items():
            left_gold = [(gi, g) for gi, g in golds if gi not in matched_gold]
            left_pred = [(pi, p) for pi, p in pred_groups.get(key, []) if pi not in matched_pred]
            if left_gold and left_pred:
                found, used_gold, used_pred = _assign(kind, left_gold, left_pred, tolerance, unit_compatible)
                pairs += [(gi, pi, True) for gi, pi in found]
                matched_gold |= used_gold
                matched_pred |= used_pred
    for gi, pi, slip in sorted(pairs):
        result.pairs.append(Pair(gold[gi], pred[pi], unit_slip=slip))
    result.missing = [record for index, record in enumerate(gold) if index not in matched_gold]
    result.extra = [record for index, record in enumerate(pred) if index not in matched_pred]
    return result
