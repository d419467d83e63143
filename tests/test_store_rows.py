"""The store rows of a record are its pydantic dump as stored: the reusable JSON encoder of yusuan.store writes exactly
what json.dumps(..., ensure_ascii=False) writes."""

from __future__ import annotations

import json

from yusuan.store import FLAT_COLUMNS, document_rows, kind_columns, record_row


def _plain_row(record, columns: list[str]) -> list[object]:
    data = record.model_dump(mode="json")
    flat = {"source": data["provenance"].get("source"), "page": data["provenance"].get("page"),
            "line": data["provenance"].get("line"),
            "checks_failed": sum(check["status"] == "fail" for check in data["checks"])}
    return [flat[name] if name in FLAT_COLUMNS else
            json.dumps(data.get(name), ensure_ascii=False) if isinstance(data.get(name), dict | list) else data.get(name)
            for name in columns]


def test_record_rows_are_the_plain_json_of_each_field(corpus_extractions):
    for extraction in corpus_extractions.values():
        rows = document_rows(extraction).records
        for kind, kind_rows in rows.items():
            columns = [name for name, _ in kind_columns(kind)]
            records = extraction.by_kind(kind)
            assert kind_rows == [_plain_row(record, columns) for record in records]
            assert kind_rows == [record_row(record, columns) for record in records]
