"""Helpers for the evaluation-harness tests: small hand-made fixtures and extractors built from gold."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

from yusuan.eval.fixtures import Fixture, load_fixture
from yusuan.eval.kinds import KINDS, MONEY_FIELDS

ROOT = Path(__file__).resolve().parents[1]

# A small text document and its gold: a 支出总表 (合计, 类, 款, 项 lines), a 三公 table, a project table, a fact.
DOC_LINES = [
    "# 2024年测试部门支出预算总表",  # 1
    "单位：万元",  # 2
    "科目编码\t科目名称\t合计\t基本支出\t项目支出",  # 3
    "\t合计\t150.00\t100.00\t50.00",  # 4
    "201\t一般公共服务支出\t150.00\t100.00\t50.00",  # 5
    "20101\t人大事务\t150.00\t100.00\t50.00",  # 6
    "2010101\t行政运行\t100.00\t100.00\t",  # 7
    "2010102\t一般行政管理事务\t50.00\t\t50.00",  # 8
    "",  # 9
    "# 2024年测试部门“三公”经费支出表",  # 10
    "单位：万元",  # 11
    "单位名称\t“三公”经费合计\t因公出国(境)费\t公务用车购置及运行费\t\t\t公务接待费",  # 12
    "\t\t\t小计\t公务用车购置费\t公务用车运行维护费\t",  # 13
    "合计\t12.00\t\t10.00\t\t10.00\t2.00",  # 14
    "",  # 15
    "# 2024年测试部门项目支出预算表",  # 16
    "单位：万元",  # 17
    "单位名称\t项目名称\t总计",  # 18
    "测试部门本级\t信息化运维\t30.00",  # 19
    "测试部门本级\t调研经费\t20.00",  # 20
    "",  # 21
    "测试部门2024年“三公”经费预算数为12.00万元，比上年增加1.00万元。",  # 22
]

GOLD_RECORDS: dict[str, list[dict[str, Any]]] = {
    "function_line": [
        {"table_kind": "支出总表", "code": None, "name": "合计", "level": "合计", "parent_code": None,
         "total": 150.0, "basic": 100.0, "project": 50.0, "loc": {"line": 4}},
        {"table_kind": "支出总表", "code": "201", "name": "一般公共服务支出", "level": "类", "parent_code": None,
         "total": 150.0, "basic": 100.0, "project": 50.0, "loc": {"line": 5}},
        {"table_kind": "支出总表", "code": "20101", "name": "人大事务", "level": "款", "parent_code": "201",
         "total": 150.0, "basic": 100.0, "project": 50.0, "loc": {"line": 6}},
        {"table_kind": "支出总表", "code": "2010101", "name": "行政运行", "level": "项", "parent_code": "20101",
         "total": 100.0, "basic": 100.0, "project": None, "loc": {"line": 7}},
        {"table_kind": "支出总表", "code": "2010102", "name": "一般行政管理事务", "level": "项",
         "parent_code": "20101", "total": 50.0, "basic": None, "project": 50.0, "loc": {"line": 8}},
    ],
    "sangong": [
        {"table_kind": "三公经费表", "unit_name": "合计", "total": 12.0, "overseas": None, "vehicle_total": 10.0,
         "vehicle_purchase": None, "vehicle_operation": 10.0, "reception": 2.0, "loc": {"line": 14}},
    ],
    "project": [
        {"table_kind": "项目支出表", "unit_name": "测试部门本级", "name": "信息化运维", "amount": 30.0,
         "loc": {"line": 19}},
        {"table_kind": "项目支出表", "unit_name": "测试部门本级", "name": "调研经费", "amount": 20.0,
         "loc": {"line": 20}},
    ],
    "fact": [
        {"table_kind": "narrative", "subject": "“三公”经费", "metric": "amount", "value": 12.0, "change": 1.0,
         "loc": {"line": 22}},
    ],
}


def write_fixture(
    tmp_path: Path,
    records: dict[str, list[dict[str, Any]]] | None = None,
    complete: list[str] | None = None,
    name: str = "test_doc",
    lines: list[str] | None = None,
    sha256: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Fixture:
    """A document under tmp_path/corpus and its fixture under tmp_path/fixtures (returned loaded)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    source = corpus / f"{name}.txt"
    source.write_text("\n".join(lines or DOC_LINES) + "\n", encoding="utf-8")
    data = {
        "fixture_version": 1,
        "source": f"corpus/{name}.txt",
        "sha256": sha256 or hashlib.sha256(source.read_bytes()).hexdigest(),
        "layout": "tsv-markdown",
        "labelled_by": "test",
        "complete": complete if complete is not None else ["function_line", "sangong", "project"],
        "document": {"department": "测试部门", "year": 2024, "unit_original": "万元"},
        "records": copy.deepcopy(records if records is not None else GOLD_RECORDS),
    }
    data.update(extra or {})
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir(parents=True, exist_ok=True)
    path = fixtures / f"{name}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return load_fixture(path, root=tmp_path, shared=tmp_path / "shared")


def gold_predictions(fixture: Fixture) -> list[dict[str, Any]]:
    """The gold records as an extractor's output (loc → provenance)."""
    out = []
    for kind in KINDS:
        for record in fixture.records(kind):
            record = copy.deepcopy(record)
            loc = record.pop("loc", {})
            record["kind"] = kind
            record["provenance"] = {"source": fixture.source, **loc}
            out.append(record)
    return out


def scaled_predictions(fixture: Fixture, factor: float) -> list[dict[str, Any]]:
    out = gold_predictions(fixture)
    for record in out:
        for name in MONEY_FIELDS[record["kind"]]:
            if isinstance(record.get(name), (int, float)):
                record[name] = record[name] * factor
    return out


class GoldExtractor:
    """A perfect extractor: returns each fixture's gold (found by source path)."""

    name = "gold"
    version = "test"

    def __init__(self, fixtures: list[Fixture], transform=None):
        self.by_path = {str(f.source_path.resolve()): f for f in fixtures if f.source_path}
        self.transform = transform or gold_predictions

    def fingerprint(self) -> str:
        return "gold-test"

    def extract(self, path: Path):
        fixture = self.by_path[str(Path(path).resolve())]
        return {"document": fixture.document, "records": self.transform(fixture)}


def make_pdf(path: Path, title: str, unit: str, rows: list[list[str]]) -> Path:
    """A one-page PDF with a title, a unit line and a ruled table (reportlab, CJK CID font)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    style = ParagraphStyle("cjk", fontName="STSong-Light", fontSize=12)
    table = Table(rows)
    table.setStyle(
        TableStyle([("FONTNAME", (0, 0), (-1, -1), "STSong-Light"), ("GRID", (0, 0), (-1, -1), 0.5, colors.black)])
    )
    SimpleDocTemplate(str(path), pagesize=A4).build([Paragraph(title, style), Paragraph(unit, style), table])
    return path
