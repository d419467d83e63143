"""The PDFium page reader against the pdfminer reference: same characters, same table cells, same records."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import pdfplumber
import pypdfium2
import pytest

from yusuan.ingest import pdf as pdf_reader
from yusuan.ingest.pdf import _is_rule_object
from yusuan.ingest.pdf_cells import clip_to_page, find_table_cells
from yusuan.ingest.pdf_pdfium import PdfiumPage

ROOT = Path(__file__).parents[1]
REALDOCS = ROOT.parent / "shared" / "realdocs"
ROTATED = REALDOCS / "jiangsu-open-budget/江苏省人大办公厅/江苏省人大常委会办公厅2019年部门预算公开表.pdf"  # /Rotate 90 pages
SHANGHAI = REALDOCS / "shanghai-putuo-GovBudgetChecker/上海市普陀区人民政府办公室25年预算.pdf"  # one text object per glyph
SLANTED = REALDOCS / "jiangsu-open-budget/江苏省人民检察院/2017年省检察院部门预算.pdf"  # synthetic italic digits on page 18


def _diff_module():
    spec = importlib.util.spec_from_file_location("diff_pdf_backends", ROOT / "bench" / "diff_pdf_backends.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", [ROTATED, SHANGHAI], ids=["rotated-pages", "glyph-per-object"])
def test_both_backends_give_the_same_records(path):
    diff = _diff_module().compare_backends(path)
    assert diff.records > 50
    assert diff.differing == []
    assert diff.fallbacks == []


@pytest.mark.parametrize(("path", "page_numbers"), [(ROTATED, [1, 3]), (SHANGHAI, [2, 5]), (SLANTED, [18])])
def test_characters_match_pdfminer(path, page_numbers):
    document = pypdfium2.PdfDocument(path)
    with pdfplumber.open(path) as pdf:
        for number in page_numbers:
            page = pdf.pages[number - 1]
            expected = [c for c in page.crop(page.bbox).chars if c["text"].strip()]
            reader = PdfiumPage(document, number - 1)
            actual = reader.chars()
            assert (reader.width, reader.height) == pytest.approx((float(page.width), float(page.height)), abs=1e-3)
            assert [c["text"] for c in actual] == [c["text"] for c in expected]
            assert [c["fontname"] for c in actual] == [c["fontname"] for c in expected]
            for mine, theirs in zip(actual, expected, strict=True):
                for key in ("x0", "x1", "top", "bottom", "size"):
                    assert mine[key] == pytest.approx(theirs[key], abs=0.01), (number, mine["text"], key)
            reader.close()


@pytest.mark.parametrize(("path", "number"), [(ROTATED, 3), (SHANGHAI, 9)])
def test_table_cells_match_pdfplumber(path, number):
    document = pypdfium2.PdfDocument(path)
    reader = PdfiumPage(document, number - 1)
    objects = clip_to_page(list(reader.rule_objects()), reader.frame.bbox)
    actual = find_table_cells([obj for obj in objects if _is_rule_object(obj)])
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[number - 1]
        expected = [table.cells for table in page.crop(page.bbox).filter(_is_rule_object).find_tables()]
    assert expected and len(actual) == len(expected)
    for mine, theirs in zip(actual, expected, strict=True):
        assert len(mine) == len(theirs) > 4
        for cell, reference in zip(mine, theirs, strict=True):
            assert cell == pytest.approx(reference, abs=0.01)


def test_the_switch_forces_pdfminer(monkeypatch, caplog):
    monkeypatch.setenv("YUSUAN_PDF_BACKEND", "pdfminer")
    assert pdf_reader.pdf_backend() == "pdfminer"
    calls = []
    monkeypatch.setattr(pdf_reader, "_PdfiumSource", lambda *args: calls.append(args))
    data = ROTATED.read_bytes()
    document = pdf_reader.ingest_pdf(str(ROTATED), data, "sha")
    assert calls == [] and document.pages == 13 and document.blocks
    monkeypatch.setenv("YUSUAN_PDF_BACKEND", "mupdf")
    with pytest.raises(ValueError):
        pdf_reader.pdf_backend()


def test_a_page_pdfium_cannot_box_is_read_by_pdfminer(monkeypatch, caplog):
    def refuse(self):
        raise pdf_reader.PdfiumFallback("text set at an angle")

    monkeypatch.setattr(PdfiumPage, "chars", refuse)
    caplog.set_level(logging.INFO, logger="yusuan.ingest.pdf")
    data = ROTATED.read_bytes()
    fallback = pdf_reader.ingest_pdf(str(ROTATED), data, "sha", backend="pdfium")
    reference = pdf_reader.ingest_pdf(str(ROTATED), data, "sha", backend="pdfminer")
    assert "page 1: read with pdfminer (text set at an angle)" in caplog.messages
    assert [block.text for block in fallback.blocks] == [block.text for block in reference.blocks]
