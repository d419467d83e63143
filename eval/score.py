"""Score predictions against a fixture: per kind and per field precision / recall / F1, with every miss explained.

Field-level counting (for each field the gold record labels; a field the label omits is not scored):

* gold value, equal prediction (numbers within the tolerance, after conversion to 万元) → true positive;
* gold value, prediction blank/absent → false negative (``wrong_value`` with predicted null);
* gold value, different prediction → false positive and false negative (``wrong_value``, or ``wrong_unit`` when
  the prediction is the gold value ×10 000 or ÷10 000);
* gold blank (null), prediction non-blank → false positive (the document leaves the cell blank);
* gold blank, prediction blank → correct, counted in the exact-match rate only.

Records: a matched pair is a true positive; a gold record without a prediction a false negative
(``missing_record``: its labelled values become field false negatives). An unmatched prediction is a false positive
(``extra_record``: its values become field false positives) only when its kind is in the fixture's ``complete``
list *and* its table_kind is one the gold labels for that kind (or empty): tables the labeller did not cover are
not penalised, and kinds that are not complete are scored for recall only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from .fixtures import Fixture
from .kinds import DOCUMENT_FIELDS, KINDS, MONEY_DICT_FIELDS, MONEY_FIELDS, field_type, key_label, table_kind_of
from .match import DEFAULT_TOLERANCE, SKIP_FIELDS, match_kind, normalize_prediction, values_equal
from .normalize import is_unit_error, key_text, text_equal, to_number


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def prf(tp: float, fp: float, fn: float) -> tuple[float | None, float | None, float | None]:
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    if precision is None and recall is None:
        return None, None, None
    if not tp:
        return precision or 0.0, recall or 0.0, 0.0
    f1 = 2 * precision * recall / (precision + recall)
    return precision, recall, f1


@dataclass
class FieldStat:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    null_ok: int = 0  # gold blank, predicted blank
    labelled: int = 0  # gold labels in scored records (blank ones included)
    wrong: int = 0  # wrong values among matched records
    unit: int = 0  # wrong values that are unit slips

    def add(self, other: FieldStat) -> None:
        for name in ("tp", "fp", "fn", "null_ok", "labelled", "wrong", "unit"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def exact(self) -> int:
        return self.tp + self.null_ok

    def metrics(self) -> dict[str, Any]:
        precision, recall, f1 = prf(self.tp, self.fp, self.fn)
        return {
            **asdict(self),
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "exact_match": _ratio(self.exact, self.labelled),
        }


@dataclass
class KindStat:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    unscored_extra: int = 0  # predictions outside the labelled scope (not penalised)
    exact_records: int = 0  # matched records with every labelled field right
    prov_hit: int = 0
    prov_total: int = 0
    fields: dict[str, FieldStat] = field(default_factory=lambda: defaultdict(FieldStat))

    def add(self, other: KindStat) -> None:
        for name in ("tp", "fp", "fn", "unscored_extra", "exact_records", "prov_hit", "prov_total"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name, stat in other.fields.items():
            self.fields[name].add(stat)

    def field_total(self, kind: str, types: tuple[str, ...] | None = None) -> FieldStat:
        total = FieldStat()
        for name, stat in self.fields.items():
            if types is None or field_type(kind, name) in types:
                total.add(stat)
        return total

    def metrics(self, kind: str) -> dict[str, Any]:
        precision, recall, f1 = prf(self.tp, self.fp, self.fn)
        numeric = self.field_total(kind, ("money", "number"))
        text = self.field_total(kind, ("text",))
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "unscored_extra": self.unscored_extra,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "exact_records": self.exact_records,
            "provenance_hit": _ratio(self.prov_hit, self.prov_total),
            "numeric": numeric.metrics(),
            "text": text.metrics(),
            "fields": {name: stat.metrics() for name, stat in sorted(self.fields.items())},
        }


@dataclass
class DocScore:
    fixture: str
    source: str
    layout: str
    status: str = "ok"  # ok | failed | skipped
    error: str = ""
    sha256: str = ""
    sha256_expected: str = ""
    seconds: float = 0.0
    predicted: int = 0
    kinds: dict[str, KindStat] = field(default_factory=lambda: defaultdict(KindStat))
    document_fields: dict[str, FieldStat] = field(default_factory=lambda: defaultdict(FieldStat))
    misses: list[dict[str, Any]] = field(default_factory=list)
    checks_records: int = 0
    checks_covered: int = 0  # records with at least one check
    checks_passed: int = 0  # records whose checks all pass (records without checks included)
    warnings: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------- helpers


def _number_or_text(kind: str, name: str, value: Any, record: dict[str, Any]) -> Any:
    if field_type(kind, name, record) in ("money", "number"):
        return to_number(value)
    return value


def carries_no_amount(kind: str, record: dict[str, Any]) -> bool:
    """A printed line whose every money cell is blank. Labellers may list such lines or leave them out, so an
    unmatched one is neither a miss nor an extra (a matched one is scored as usual)."""
    if not MONEY_FIELDS.get(kind):
        return False
    values = [record.get(name) for name in MONEY_FIELDS[kind]]
    for name in MONEY_DICT_FIELDS.get(kind, ()):
        values.extend((record.get(name) or {}).values())
    return all(_blank(value) for value in values)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    keep = {}
    for name, value in record.items():
        if name in ("provenance", "values", "checks", "doc_id", "record_id") or _blank(value):
            continue
        if isinstance(value, str) and len(value) > 120:
            value = value[:117] + "..."
        keep[name] = value
    return keep


def _location(record: dict[str, Any]) -> dict[str, Any]:
    provenance = record.get("provenance") or {}
    if not isinstance(provenance, dict):
        return {}
    return {k: provenance[k] for k in ("page", "line") if provenance.get(k) is not None}


def _labelled_fields(record: dict[str, Any]) -> list[tuple[str, Any]]:
    """(field, gold value) pairs a gold record labels; dict fields expanded to `name.header`."""
    fields = []
    for name, value in record.items():
        if name in SKIP_FIELDS:
            continue
        if isinstance(value, dict):
            fields += [(f"{name}.{key_text(header)}", v) for header, v in value.items()]
        else:
            fields.append((name, value))
    return fields


def _pred_value(record: dict[str, Any], name: str) -> Any:
    if "." in name:
        base, header = name.split(".", 1)
        values = record.get(base)
        if not isinstance(values, dict):
            return None
        for key, value in values.items():
            if key_text(key) == header:
                return value
        return None
    return record.get(name)


def compare_field(
    kind: str, name: str, gold: Any, pred: Any, tolerance: float, gold_record: dict[str, Any]
) -> tuple[FieldStat, str | None]:
    """One labelled field of a matched pair → counts and the miss type (None when right)."""
    stat = FieldStat(labelled=1)
    if _blank(gold):
        if _blank(pred):
            stat.null_ok = 1
            return stat, None
        stat.fp = 1
        stat.wrong = 1
        return stat, "wrong_value"
    if _blank(pred):
        stat.fn = 1
        stat.wrong = 1
        return stat, "wrong_value"
    if values_equal(kind, name, gold, pred, tolerance, gold_record):
        stat.tp = 1
        return stat, None
    stat.fp = stat.fn = stat.wrong = 1
    if field_type(kind, name, gold_record) == "money":
        g, p = to_number(gold), to_number(pred)
        if g is not None and p is not None and is_unit_error(g, p, tolerance):
            stat.unit = 1
            return stat, "wrong_unit"
    return stat, "wrong_value"


def _provenance_hit(fixture: Fixture, gold: dict[str, Any], pred: dict[str, Any]) -> bool | None:
    loc = gold.get("loc") if isinstance(gold.get("loc"), dict) else {}
    where = _location(pred)
    key = "page" if fixture.is_pdf else "line"
    if key not in loc:
        key = "line" if "line" in loc else ("page" if "page" in loc else "")
    if not key:
        return None
    return where.get(key) == loc[key]


# ------------------------------------------------------------------------------------------- scoring


def score_document(
    fixture: Fixture,
    records: list[dict[str, Any]],
    document: dict[str, Any] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    doc: DocScore | None = None,
) -> DocScore:
    """Score one document's predictions (record dicts in the public schema) against its fixture."""
    doc = doc or DocScore(fixture=fixture.name, source=fixture.source, layout=fixture.layout)
    predictions = [normalize_prediction(record) for record in records]
    doc.predicted = len(predictions)
    unknown = sorted({str(p.get("kind")) for p in predictions if p.get("kind") not in KINDS})
    if unknown:
        doc.warnings.append(f"predictions of unknown kind ignored: {', '.join(unknown)}")
    _score_checks(doc, predictions)
    for kind in KINDS:
        gold = fixture.records(kind)
        pred = [p for p in predictions if p.get("kind") == kind]
        if not gold and not pred:
            continue
        _score_kind(doc, fixture, kind, gold, pred, tolerance)
    _score_document_meta(doc, fixture, document)
    return doc


def failed_document(fixture: Fixture, error: str, doc: DocScore | None = None) -> DocScore:
    """An extractor that raised: every gold record is missing."""
    doc = doc or DocScore(fixture=fixture.name, source=fixture.source, layout=fixture.layout)
    doc.status = "failed"
    doc.error = error
    score_document(fixture, [], None, doc=doc)
    doc.status = "failed"
    return doc


def _score_checks(doc: DocScore, predictions: list[dict[str, Any]]) -> None:
    for record in predictions:
        if record.get("kind") not in KINDS:
            continue
        checks = record.get("checks") or []
        doc.checks_records += 1
        if checks:
            doc.checks_covered += 1
        if all(isinstance(c, dict) and c.get("status") == "pass" for c in checks):
            doc.checks_passed += 1


def _score_kind(
    doc: DocScore,
    fixture: Fixture,
    kind: str,
    gold: list[dict[str, Any]],
    pred: list[dict[str, Any]],
    tolerance: float,
) -> None:
    stat = doc.kinds[kind]
    result = match_kind(kind, gold, pred, tolerance)
    for pair in result.pairs:
        stat.tp += 1
        label = key_label(kind, pair.gold)
        all_right = True
        for name, gold_value in _labelled_fields(pair.gold):
            pred_value = _number_or_text(kind, name, _pred_value(pair.pred, name), pair.gold)
            field_stat, miss = compare_field(kind, name, gold_value, pred_value, tolerance, pair.gold)
            stat.fields[name].add(field_stat)
            if miss:
                all_right = False
                entry = {
                    "type": miss,
                    "kind": kind,
                    "key": label,
                    "field": name,
                    "gold": gold_value,
                    "predicted": pred_value,
                    "loc": pair.gold.get("loc"),
                }
                if miss == "wrong_unit":
                    entry["factor"] = 10000 if abs(to_number(pred_value)) > abs(to_number(gold_value)) else 0.0001
                doc.misses.append(entry)
        if all_right:
            stat.exact_records += 1
        hit = _provenance_hit(fixture, pair.gold, pair.pred)
        if hit is not None:
            stat.prov_total += 1
            stat.prov_hit += int(hit)
            if not hit:
                doc.misses.append(
                    {
                        "type": "wrong_provenance",
                        "kind": kind,
                        "key": label,
                        "gold": pair.gold.get("loc"),
                        "predicted": _location(pair.pred) or None,
                    }
                )
    for record in result.missing:
        if carries_no_amount(kind, record):
            continue
        stat.fn += 1
        for name, gold_value in _labelled_fields(record):
            field_stat = FieldStat(labelled=1)
            if not _blank(gold_value):
                field_stat.fn = 1
            stat.fields[name].add(field_stat)
        doc.misses.append(
            {
                "type": "missing_record",
                "kind": kind,
                "key": key_label(kind, record),
                "gold": _compact({k: v for k, v in record.items() if k != "loc"}),
                "loc": record.get("loc"),
            }
        )
    scored_table_kinds = {table_kind_of(kind, record) for record in gold}
    scored_fields = {name for record in gold for name, _ in _labelled_fields(record)}
    for record in result.extra:
        table_kind = table_kind_of(kind, record)
        if (
            kind not in fixture.complete
            or (table_kind and table_kind not in scored_table_kinds)
            or carries_no_amount(kind, record)
        ):
            stat.unscored_extra += 1
            continue
        stat.fp += 1
        for name in scored_fields:
            value = _pred_value(record, name)
            if not _blank(value):
                stat.fields[name].fp += 1
        doc.misses.append(
            {
                "type": "extra_record",
                "kind": kind,
                "key": key_label(kind, record),
                "predicted": _compact(record),
                "loc": _location(record) or None,
            }
        )


def _score_document_meta(doc: DocScore, fixture: Fixture, document: dict[str, Any] | None) -> None:
    gold = fixture.document
    for name in DOCUMENT_FIELDS:
        if name not in gold:
            continue
        gold_value = gold[name]
        pred_value = (document or {}).get(name)
        stat = FieldStat(labelled=1)
        if _blank(gold_value):
            if _blank(pred_value):
                stat.null_ok = 1
            else:
                stat.fp = 1
        elif _blank(pred_value):
            stat.fn = 1
        elif text_equal(str(gold_value), str(pred_value)):
            stat.tp = 1
        else:
            stat.fp = stat.fn = stat.wrong = 1
            doc.misses.append(
                {"type": "wrong_value", "kind": "document", "key": "document", "field": name,
                 "gold": gold_value, "predicted": pred_value}
            )
        doc.document_fields[name].add(stat)


# ------------------------------------------------------------------------------------------- aggregation


@dataclass
class Summary:
    """Totals over a set of documents (one extractor)."""

    documents: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    kinds: dict[str, KindStat] = field(default_factory=lambda: defaultdict(KindStat))
    document_fields: dict[str, FieldStat] = field(default_factory=lambda: defaultdict(FieldStat))
    checks_records: int = 0
    checks_covered: int = 0
    checks_passed: int = 0
    miss_types: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, doc: DocScore) -> None:
        if doc.status == "skipped":
            self.skipped += 1
            return
        self.documents += 1
        self.failed += int(doc.status == "failed")
        self.seconds += doc.seconds
        for kind, stat in doc.kinds.items():
            self.kinds[kind].add(stat)
        for name, stat in doc.document_fields.items():
            self.document_fields[name].add(stat)
        self.checks_records += doc.checks_records
        self.checks_covered += doc.checks_covered
        self.checks_passed += doc.checks_passed
        for miss in doc.misses:
            self.miss_types[miss["type"]] += 1

    def totals(self) -> tuple[KindStat, FieldStat, FieldStat]:
        records = KindStat()
        numeric = FieldStat()
        text = FieldStat()
        for kind, stat in self.kinds.items():
            records.add(stat)
            numeric.add(stat.field_total(kind, ("money", "number")))
            text.add(stat.field_total(kind, ("text",)))
        return records, numeric, text

    def metrics(self) -> dict[str, Any]:
        records, numeric, text = self.totals()
        precision, recall, f1 = prf(records.tp, records.fp, records.fn)
        document = FieldStat()
        for stat in self.document_fields.values():
            document.add(stat)
        return {
            "documents": self.documents,
            "failed": self.failed,
            "skipped": self.skipped,
            "failures_per_document": _ratio(self.failed, self.documents),
            "seconds": round(self.seconds, 3),
            "docs_per_second": _ratio(self.documents, self.seconds),
            "record": {"tp": records.tp, "fp": records.fp, "fn": records.fn, "precision": precision,
                       "recall": recall, "f1": f1},
            "numeric": numeric.metrics(),
            "text": text.metrics(),
            "numeric_f1": numeric.metrics()["f1"],
            "numeric_exact_match": numeric.metrics()["exact_match"],
            "provenance_hit": _ratio(records.prov_hit, records.prov_total),
            "checks_pass_rate": _ratio(self.checks_passed, self.checks_records),
            "checks_coverage": _ratio(self.checks_covered, self.checks_records),
            "unit_errors": numeric.unit,
            "miss_types": dict(sorted(self.miss_types.items())),
            "kinds": {kind: self.kinds[kind].metrics(kind) for kind in KINDS if kind in self.kinds},
            "document": {"fields": {n: s.metrics() for n, s in sorted(self.document_fields.items())},
                         **{k: v for k, v in document.metrics().items() if k in ("precision", "recall", "f1")}},
        }


def summarize(docs: list[DocScore]) -> Summary:
    summary = Summary()
    for doc in docs:
        summary.add(doc)
    return summary


def breakdowns(docs: list[DocScore]) -> dict[str, Any]:
    """Overall, by layout and by document."""
    by_layout: dict[str, list[DocScore]] = defaultdict(list)
    for doc in docs:
        by_layout[doc.layout].append(doc)
    return {
        "overall": summarize(docs).metrics(),
        "by_layout": {layout: summarize(group).metrics() for layout, group in sorted(by_layout.items())},
        "by_document": {doc.fixture: document_metrics(doc) for doc in docs},
    }


def document_metrics(doc: DocScore) -> dict[str, Any]:
    metrics = summarize([doc]).metrics()
    metrics.update(
        {
            "fixture": doc.fixture,
            "source": doc.source,
            "layout": doc.layout,
            "status": doc.status,
            "error": doc.error,
            "sha256": doc.sha256,
            "sha256_expected": doc.sha256_expected,
            "predicted": doc.predicted,
            "warnings": doc.warnings,
            "misses": doc.misses,
        }
    )
    if doc.status == "skipped":
        metrics["skipped"] = 1
    return metrics
