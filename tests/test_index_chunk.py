"""Chunking: narrative sections → passages with section, heading path and line/page provenance."""

from __future__ import annotations

import itertools

import pytest
from conftest import CORPUS

from yusuan.index.chunk import (
    KIND_PROSE,
    KIND_TABLE_TEXT,
    KIND_TABLE_TITLE,
    MAX_CHARS,
    canonical_section,
    chunk_document,
    split_sentences,
)
from yusuan.ingest import ingest_path


@pytest.fixture(scope="module")
def docs():
    return {path.name[:3]: ingest_path(path) for path in sorted(CORPUS.glob("*.txt"))}


@pytest.fixture(scope="module")
def chunks(docs, corpus_extractions):
    meta = corpus_extractions["000"].document.model_dump()  # the documents row extraction writes for 000
    return {key: chunk_document(doc, meta if key == "000" else None) for key, doc in docs.items()}


def test_main_functions_passage_has_section_and_lines(chunks):
    hits = [p for p in chunks["000"] if p.section == "主要职能" and p.kind == KIND_PROSE]
    assert hits, "000 has a 主要职能 passage"
    first = hits[0]
    assert first.line == 56 and first.line_end >= 64  # （一）主要职能 body starts on line 56
    assert "负责党的组织体系建设" in first.text
    assert first.heading_path[-1].endswith("主要职能")
    assert first.source.endswith("000_acf85bf0026b4684.txt")
    assert (first.department, first.region, first.year, first.doc_kind) == ("中共绍兴市委组织部", "绍兴市", 2022, "部门预算")


def test_table_cells_are_not_prose(docs, chunks):
    table_lines = set()
    for block in docs["000"].blocks:
        if block.kind == "table":
            table_lines.update(cell.line for row in block.grid.rows for cell in row if cell.line is not None)
    for passage in chunks["000"]:
        if passage.kind == KIND_PROSE:
            covered = set(range(passage.line, passage.line_end + 1))
            assert not covered & table_lines, f"prose passage overlaps table rows: {passage.text[:40]}"
    texts = "\n".join(p.text for p in chunks["000"])
    assert "2013201" not in texts  # function-classification codes live only in the tables
    assert "30217" not in texts


def test_table_titles_and_descriptions_are_indexed(chunks):
    titles = {p.text: p for p in chunks["000"] if p.kind == KIND_TABLE_TITLE}
    sangong = titles["2022年市级部门一般公共预算“三公”经费支出表"]
    assert sangong.section == "三公经费" and sangong.line == 423
    by_section = {}
    for p in chunks["004"]:
        if p.kind == KIND_TABLE_TEXT:
            by_section.setdefault(p.section, []).append(p)
    necessity = [p for p in by_section["立项必要性"] if p.line == 98]
    assert necessity and "部机关业务费" in necessity[0].text and "设备购置" in necessity[0].text
    assert any(p.line == 100 for p in by_section["项目实施内容"])
    goals = [p for p in chunks["000"] if p.kind == KIND_TABLE_TEXT and p.section == "绩效目标"]
    assert any("干部管理培养经费" in p.text and p.line == 490 for p in goals)
    # a description repeated on every indicator row is indexed once
    assert sum("干部管理培养经费·绩效目标" in p.text and p.line == 490 for p in goals) == 1
    # indicator descriptions carry their project
    assert any(p.text.startswith("办公设备更新·绩效指标") for p in chunks["001"])


def test_toc_is_skipped(chunks):
    assert all(p.line is None or p.line > 50 for p in chunks["000"])


def test_long_sections_split_on_sentences_with_overlap(chunks):
    section = [p for p in chunks["002"] if p.kind == KIND_PROSE and "工作保障措施" in p.heading_path[-1]]
    assert len(section) >= 3
    for passage in section:
        assert len(passage.text) <= MAX_CHARS + 5
        assert passage.text.rstrip()[-1] in "。；;!?！？" or passage is section[-1]
    overlaps = 0
    for prev, nxt in itertools.pairwise(section):
        last_sentence = split_sentences(prev.text)[-1]
        overlaps += nxt.text.startswith(last_sentence)
        assert nxt.line >= prev.line
    assert overlaps >= 1


def test_sections_of_other_layouts(chunks):
    sections = {p.section for p in chunks["002"]}
    assert {"主要职能", "三公经费", "机关运行经费", "名词解释", "预算说明"} <= sections
    duties = [p for p in chunks["002"] if p.section == "主要职能"]
    assert any(p.line == 1766 for p in duties)
    assert chunks["003"] and any(p.section == "绩效目标" and p.line == 20 for p in chunks["003"])


def test_canonical_section_rules():
    assert canonical_section(["(九)关于2022年一般公共预算“三公”经费预算情况说明"]) == "三公经费"
    assert canonical_section(["三、名词解释"]) == "名词解释"
    assert canonical_section(["(一)主要职能"]) == "主要职能"
    assert canonical_section(["无关标题"], default="其他") == "其他"
    assert split_sentences("第一句。第二句;第三句") == ["第一句。", "第二句;", "第三句"]
