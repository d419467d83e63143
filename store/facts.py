"""The fact model: one row per number yusuan extracted, in one tidy shape every answer is computed from.

``facts`` is a DuckDB view over ``documents`` and the record tables (see docs/qa.md for the columns). A row says which
document (department, unit, region, level, year, doc_kind), which measure (预算数 / 决算数 / 上年数 …), which line
(record kind, table kind, field, 科目 code and name with its 类/款 parents, thesaurus concept, project, narrative
subject), the value (万元, or % / a count where ``unit`` says so) and where it was read (source, page, line, raw).

Concept keys come from the curated thesaurus (yusuan/vocab/thesaurus.toml): a printed label is matched after the same
normalisation as the thesaurus (no spaces or quotes, no list numbering, no (类)/(款)/(项) markers); the label → key
pairs are inlined into the view as constants, so the view needs nothing but the database.
"""

from __future__ import annotations

import re

import duckdb

from yusuan.vocab import normalize, thesaurus

from .lock import StoreConnection

VIEW = "facts"

# A printed label in the form thesaurus terms are compared in (yusuan.vocab.normalize + numbering and 类/款/项 markers).
_NORMALIZED = (
    "regexp_replace(regexp_replace(translate({x}, '（）【】', '()[]'), "
    "'^\\s*([一二三四五六七八九十]+[、.．]|[(][一二三四五六七八九十0-9]+[)]|[0-9]+、|[0-9]+[.．]([^0-9]))\\s*', '\\2'), "
    "'[\\s“”\"''‘’]|[(](类|款|项)[)]', '', 'g')"
)

# table kinds in order of preference when one document prints the same figure in several tables
_TABLE_PREFERENCE = (
    "三公经费表", "收支总表", "支出总表", "基本支出表", "机关运行经费表", "一般公共预算支出表", "财政拨款收支总表",
    "财政拨款支出表", "财政拨款基本支出表", "收入总表", "政府性基金支出表", "国有资本经营支出表", "项目支出表",
    "绩效目标表", "重点项目表", "整体绩效目标表", "narrative",
)


def _norm(expr: str) -> str:
    return _NORMALIZED.format(x=expr)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _terms_sql() -> str:
    """(term, concept) pairs of the thesaurus: labels a document prints, normalised (constants from data)."""
    pairs: dict[str, tuple[str, str, str]] = {}
    for concept in thesaurus().concepts:
        if concept.group in ("measure", "doc_kind"):
            continue
        for term in concept.terms:
            pairs.setdefault(normalize(term), (concept.key, concept.group, "|".join(map(re.escape, concept.requires))))
    values = ", ".join(f"({_quote(term)}, {_quote(key)}, {_quote(group)}, {_quote(requires)})"
                       for term, (key, group, requires) in pairs.items())
    return f"(VALUES {values}) AS terms(term, concept, concept_group, requires)"


def _fact_concepts_sql() -> str:
    """record_id → concept of a narrative figure: the longest thesaurus term inside its subject, the later one on a tie
    (the head noun comes last: 财政拨款三公经费 is 三公经费; 各单位政府采购预算 is 政府采购预算)."""
    subject = _norm("r.subject")
    # a total word after an expense item is that item's total (培训费预算支出 is 培训费, not 支出总计)
    item_before = f"terms.concept_group = 'total' AND contains(left({subject}, strpos({subject}, terms.term) - 1), '费')"
    # a term that needs a word beside it (服务 needs 采购) names the concept only with it: 一般公共服务支出 is no 采购
    return (f"SELECT r.record_id, terms.concept FROM fact r JOIN {_terms_sql()} ON contains({subject}, terms.term) "
            f"AND NOT ({item_before}) AND (terms.requires = '' OR regexp_matches({subject}, terms.requires)) "
            f"QUALIFY row_number() OVER (PARTITION BY r.record_id ORDER BY length(terms.term) DESC, "
            f"strpos({subject}, terms.term) DESC) = 1")


def _table_concepts_sql() -> str:
    """(table_kind, concept) for the 合计 line of a spending table (its own total, e.g. 一般公共预算支出合计)."""
    values = ", ".join(f"({_quote(kind)}, {_quote(concept.key)})" for concept in thesaurus().concepts
                       for kind in concept.table_kinds)
    return f"(VALUES {values}) AS table_concepts(table_kind, concept)"


def _preference() -> str:
    cases = " ".join(f"WHEN {_quote(kind)} THEN {i}" for i, kind in enumerate(_TABLE_PREFERENCE))
    return f"CASE r.table_kind {cases} ELSE {len(_TABLE_PREFERENCE)} END"


def _money_fields(fields: dict[str, str | None]) -> str:
    """UNNEST of (field, value, concept) structs for the record's money columns (concept NULL: the line's own name)."""
    items = ", ".join(
        f"{{'field': {_quote(name)}, 'value': CAST(r.{name} AS DOUBLE), 'concept': "
        f"{_quote(concept) if concept else 'NULL'}::VARCHAR}}"
        for name, concept in fields.items()
    )
    return f"UNNEST([{items}])"


def _common(kind: str) -> str:
    return (f"r.doc_id, r.record_id, {_quote(kind)} AS record_kind, r.table_kind, r.table_title, r.unit_name, "
            "r.measure, r.source, r.page, r.line")


def _map_rows(column: str) -> str:
    """UNNEST of a JSON object of header → number (breakdown, other, funding)."""
    return f"UNNEST(map_entries(json(coalesce(nullif(r.{column}, ''), '{{}}'))::MAP(VARCHAR, DOUBLE)))"


def facts_sql() -> str:
    """The SELECT behind the ``facts`` view."""
    value_raw = "json_extract_string(r.\"values\", '$.' || f.field || '.raw')"
    row_raw = "json_extract_string(r.provenance, '$.raw')"
    bbox = "json_extract_string(r.provenance, '$.bbox')"
    parts = [
        _line_select("function_line", "功能分类", {"total": None, "basic": "basic", "personnel": "personnel",
                                               "public": "public", "project": "project"}, value_raw, row_raw, bbox),
        _line_select("econ_line", "经济分类", {"total": None, "personnel": "personnel", "public": "public"},
                     value_raw, row_raw, bbox),
        _other_select("function_line", "功能分类", row_raw, bbox),
        _other_select("econ_line", "经济分类", row_raw, bbox),
        # 收支总表 lines: the concept is the printed name's (收入总计, 一般公共预算拨款收入 …); 支出 side 科目 lines keep names
        f"SELECT {_common('budget_total')}, NULL, NULL, r.name, NULL, NULL, 'amount', CAST(r.amount AS DOUBLE), "
        f"terms.concept, r.side, NULL, NULL, NULL, NULL, NULL, NULL, "
        f"coalesce(json_extract_string(r.\"values\", '$.amount.raw'), {row_raw}), {bbox}, {_preference()} "
        f"FROM budget_total r LEFT JOIN {_terms_sql()} ON terms.term = {_norm('r.name')}",
        f"SELECT {_common('budget_total')}, NULL, NULL, r.name, NULL, NULL, e.key, e.value, terms.concept, r.side, "
        f"NULL, NULL, NULL, NULL, NULL, NULL, {row_raw}, {bbox}, {_preference()} + 100 "
        f"FROM budget_total r LEFT JOIN {_terms_sql()} ON terms.term = {_norm('r.name')}, "
        f"LATERAL (SELECT {_map_rows('breakdown')} AS e) AS u",
        # 三公: the department's line (合计, or the only line) carries the concepts; per-unit lines keep unit_name
        f"SELECT {_common('sangong')}, NULL, NULL, coalesce(r.unit_name, '合计'), "
        "CASE WHEN r.unit_name = '合计' OR r.unit_name IS NULL OR NOT EXISTS (SELECT 1 FROM sangong s WHERE "
        "s.doc_id = r.doc_id AND s.measure IS NOT DISTINCT FROM r.measure AND s.record_id <> r.record_id) "
        "THEN '合计' ELSE '单位' END, NULL, f.field, f.value, f.concept, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
        f"coalesce({value_raw}, {row_raw}), {bbox}, {_preference()} FROM sangong r, LATERAL (SELECT "
        + _money_fields({"total": "sangong_total", "overseas": "sangong_overseas",
                         "vehicle_total": "sangong_vehicle_total", "vehicle_purchase": "sangong_vehicle_purchase",
                         "vehicle_operation": "sangong_vehicle_operation", "reception": "sangong_reception"})
        + " AS f) AS u",
        # projects: amount (and the funding columns)
        f"SELECT {_common('project')}, NULL, NULL, r.name, NULL, NULL, 'amount', CAST(r.amount AS DOUBLE), NULL, NULL, "
        f"r.category, r.name, NULL, NULL, NULL, NULL, coalesce(json_extract_string(r.\"values\", '$.amount.raw'), "
        f"{row_raw}), {bbox}, {_preference()} FROM project r",
        f"SELECT {_common('project')}, NULL, NULL, r.name, NULL, NULL, e.key, e.value, NULL, NULL, r.category, r.name, "
        f"NULL, NULL, NULL, NULL, {row_raw}, {bbox}, {_preference()} + 100 FROM project r, "
        f"LATERAL (SELECT {_map_rows('funding')} AS e) AS u",
        # narrative figures: the value, the prior-year value (measure 上年数) and the stated change
        *(
            f"SELECT {_common('fact')}, NULL, NULL, {_norm('r.subject')}, NULL, NULL, {_quote(field)}, "
            f"CAST(r.{field} AS DOUBLE), terms.concept, NULL, NULL, NULL, r.subject, r.metric, r.reason, r.sentence, "
            f"r.sentence, {bbox}, {_preference()} FROM fact r LEFT JOIN ({_fact_concepts_sql()}) terms USING (record_id)"
            for field in ("value", "prior", "change", "change_pct")
        ),
    ]
    union = " UNION ALL ".join(f"({part})" for part in parts)
    return (
        "SELECT d.department, d.region, d.level, d.year, d.doc_kind, x.doc_id, x.unit_name, "
        "CASE WHEN x.field = 'prior' THEN '上年数' ELSE x.measure END AS measure, x.record_kind, x.table_kind, "
        "x.table_title, x.classification, x.code, x.name, x.line_level, x.parent_code, "
        "CASE WHEN x.code IS NOT NULL THEN left(x.code, 3) END AS class_code, "
        "CASE WHEN length(x.code) >= 5 THEN left(x.code, 5) END AS kuan_code, "
        "x.field, x.concept, x.side, x.category, x.project, x.subject, x.metric, "
        "x.value, CASE WHEN x.metric = 'share' OR x.field = 'change_pct' THEN '%' ELSE '万元' END AS unit, "
        "x.reason, x.sentence, x.source, x.page, x.line, x.raw, x.bbox, x.preference, x.record_id "
        f"FROM ({union}) x({_LINE_COLUMNS}) JOIN documents d USING (doc_id) WHERE x.value IS NOT NULL"
    )


_LINE_COLUMNS = ("doc_id, record_id, record_kind, table_kind, table_title, unit_name, measure, source, page, line, "
                 "classification, code, name, line_level, parent_code, field, value, concept, side, category, project, "
                 "subject, metric, reason, sentence, raw, bbox, preference")


def _line_select(kind: str, classification: str, fields: dict[str, str | None], value_raw: str, row_raw: str,
                 bbox: str) -> str:
    """科目 lines: one row per money column; on the 合计 line the columns are concepts (基本支出, 人员经费 …) and the
    total is the table's own concept (支出总表 → 本年支出合计, 机关运行经费表 → 机关运行经费 …)."""
    return (
        f"SELECT {_common(kind)}, {_quote(classification)}, r.code, r.name, r.level, r.parent_code, f.field, f.value, "
        "CASE WHEN r.level = '合计' THEN coalesce(f.concept, table_concepts.concept) END, NULL, NULL, NULL, NULL, NULL, "
        f"NULL, NULL, coalesce({value_raw}, {row_raw}), {bbox}, {_preference()} "
        f"FROM {kind} r LEFT JOIN {_table_concepts_sql()} ON table_concepts.table_kind = r.table_kind, "
        f"LATERAL (SELECT {_money_fields(fields)} AS f) AS u"
    )


def _other_select(kind: str, classification: str, row_raw: str, bbox: str) -> str:
    """The remaining money columns of 科目 lines, by their printed header."""
    return (
        f"SELECT {_common(kind)}, {_quote(classification)}, r.code, r.name, r.level, r.parent_code, e.key, e.value, "
        f"NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, {row_raw}, {bbox}, {_preference()} + 100 "
        f"FROM {kind} r, LATERAL (SELECT {_map_rows('other')} AS e) AS u"
    )


def install(con: duckdb.DuckDBPyConnection, temporary: bool = False) -> None:
    """Create (or replace) the ``facts`` view on a connection; a read-only connection gets a temporary view."""
    kind = "TEMP VIEW" if temporary else "VIEW"
    con.execute(f"CREATE OR REPLACE {kind} {VIEW} AS {facts_sql()}")


def connect_read_only(path: str) -> StoreConnection:
    """A read-only connection to a store with the ``facts`` view (for analysts: ``yusuan sql``)."""
    con = StoreConnection(path)  # under the store's shared lock, given back by close()
    install(con, temporary=True)
    return con
