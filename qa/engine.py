"""Run a QueryPlan over DuckDB (parameterised SQL, arithmetic in SQL) and phrase the answer in Chinese.

Per store version (a cheap aggregate over `documents`: row count and newest `extracted_at` — an upload or a
re-extraction changes it) a StoreView is built once and cached: the parser's Catalog (department alias index,
regions, years, 科目 and project names) and an in-memory DuckDB holding a copy of `documents` plus, built lazily on
first use, one small table per metric (one row per document: the metric's value and its provenance), per narrative
change pattern, per indicator keyword and for projects. Requests then query those small tables instead of scanning
the store's record tables. Answers list at most MAX_ROWS rows and MAX_NAMED names; totals are counted in SQL.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
from pydantic import BaseModel, Field

from .plan import (
    FACT_SUBJECT,
    METRICS,
    UNIT_FACTOR,
    AliasIndex,
    Catalog,
    Metric,
    QueryPlan,
    parse_question,
    project_names,
    subject_names,
)

MAX_ROWS = 50  # rows (and evidence) returned with an answer
MAX_NAMED = 20  # items spelled out in the answer sentence
MAX_NOT_COVERED = 50  # not_covered entries returned (not_covered_total counts all)
MAX_TABLES = 128  # materialised tables per StoreView; beyond that the next request starts a fresh view


class Evidence(BaseModel):
    source: str | None = None
    page: int | None = None
    line: int | None = None
    raw: str | None = None
    department: str | None = None
    year: int | None = None
    record_id: str | None = None


class Answer(BaseModel):
    question: str
    answer: str
    value: float | None = None
    unit: str | None = None
    rows: list[dict[str, Any]] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    plan: QueryPlan | None = None
    not_covered: list[dict[str, Any]] = Field(default_factory=list)
    not_covered_total: int = Field(0, description="documents in scope without the metric (not_covered lists ≤50)")


def fmt(value: float | None, unit: str = "万元") -> str:
    if value is None:
        return "无数据"
    if unit == "元":
        return f"{value:,.2f}元"
    if unit == "亿元":
        return f"{value:.4f}亿元"
    return f"{value:.2f}万元"


# ------------------------------------------------------------------------------------------------ store view

_VIEWS: dict[Any, StoreView] = {}
_VIEWS_LOCK = threading.Lock()
_SIGNATURE_SQL = "SELECT count(*), max(extracted_at)::VARCHAR FROM documents"


def _database_key(con: duckdb.DuckDBPyConnection) -> Any:
    row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    return row[0] if row and row[0] else id(con)


def _column(con: duckdb.DuckDBPyConnection, sql: str) -> list[Any]:
    return [r[0] for r in con.execute(sql).fetchall()]


class StoreView:
    """Catalog + in-memory materialisations of one store version (see the module docstring)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, signature: tuple):
        self.signature = signature
        self.checked = time.monotonic()  # when the signature was last confirmed
        self.catalog = self._build_catalog(con)
        self.mem = duckdb.connect(":memory:", config={"threads": 1})
        self.tables: dict[tuple, str] = {}
        self.lock = threading.Lock()
        self._load("documents", con, "SELECT doc_id, department, year, region, source, doc_kind FROM documents", [])

    @staticmethod
    def _build_catalog(con: duckdb.DuckDBPyConnection) -> Catalog:
        departments = _column(con, "SELECT DISTINCT department FROM documents WHERE department IS NOT NULL")
        regions = _column(con, "SELECT DISTINCT region FROM documents WHERE region IS NOT NULL")
        years = _column(con, "SELECT DISTINCT year FROM documents WHERE year IS NOT NULL")
        subjects = _column(con, "SELECT DISTINCT name FROM function_line WHERE level = '类' AND name IS NOT NULL UNION "
                                "SELECT DISTINCT name FROM econ_line WHERE level IN ('类', '款') AND name IS NOT NULL")
        projects = project_names(_column(con, "SELECT DISTINCT name FROM project WHERE name IS NOT NULL AND name <> '资金总额'"))
        return Catalog(aliases=AliasIndex(departments), regions=regions, years=years, subjects=subject_names(subjects),
                       projects=projects)

    def _load(self, name: str, con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> None:
        src = con.cursor()  # its own cursor: `con` may hold an unfinished result
        try:
            src.execute("SET enable_progress_bar = false")
            data = src.sql(sql, params=params or None).to_arrow_table()
        finally:
            src.close()
        cur = self.mem.cursor()
        try:
            cur.register("incoming", data)
            cur.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming")
            cur.unregister("incoming")
        finally:
            cur.close()

    def table(self, con: duckdb.DuckDBPyConnection | None, key: tuple, sql: str, params: list[Any]) -> str:
        """Name of the in-memory table holding the result of `sql` (built on first use): run over the store when `con`
        is given, else over this view's own tables. A table keeps its rows in the ORDER BY of `sql` (DuckDB keeps
        insertion order), so requests can take the first rows of a filtered scan without sorting."""
        name = self.tables.get(key)
        if name is not None:
            return name
        with self.lock:
            name = self.tables.get(key)
            if name is None:
                name = f"m{len(self.tables)}"
                if con is not None:
                    self._load(name, con, sql, params)
                else:
                    cur = self.mem.cursor()
                    try:
                        cur.execute(f"CREATE TABLE {name} AS {sql}", params)
                    finally:
                        cur.close()
                self.tables[key] = name
        return name


@atexit.register
def _close_views() -> None:
    with _VIEWS_LOCK:
        for view in _VIEWS.values():
            view.mem.close()
        _VIEWS.clear()


def store_view(con: duckdb.DuckDBPyConnection, key: Any = None, max_age: float = 0.0) -> StoreView:
    """The current StoreView of the store behind `con`, rebuilt only when its documents changed. The store's signature
    is read on every call unless the view was checked less than `max_age` seconds ago (for a caller that is the
    store's only writer and calls `invalidate_view` after writing, like the API)."""
    key = key if key is not None else _database_key(con)
    view = _VIEWS.get(key)
    if view is not None and max_age and time.monotonic() - view.checked < max_age and len(view.tables) < MAX_TABLES:
        return view
    signature = tuple(con.execute(_SIGNATURE_SQL).fetchone())
    if view is not None and view.signature == signature and len(view.tables) < MAX_TABLES:
        view.checked = time.monotonic()
        return view
    with _VIEWS_LOCK:
        view = _VIEWS.get(key)
        if view is None or view.signature != signature or len(view.tables) >= MAX_TABLES:
            old, view = view, StoreView(con, signature)
            _VIEWS[key] = view
            del old  # requests still holding a cursor on the old view finish on it
        return view


def invalidate_view(key: Any) -> None:
    """Make the next store_view call for `key` read the store's signature (after a write)."""
    view = _VIEWS.get(key)
    if view is not None:
        view.checked = 0.0


def catalog(con: duckdb.DuckDBPyConnection) -> Catalog:
    return store_view(con).catalog


# ------------------------------------------------------------------------------------------------ SQL building

def _metric_sql(metric: Metric, keyword: str | None = None, measure: str | None = None) -> tuple[str, list[Any]]:
    """One row per document: the metric's value from the best source (a 决算数 before a 预算数 unless `measure` asks
    for one of them). The SQL is constant (no user text); a source's `?` placeholders are bound to the plan's keyword
    (the 科目 name of a `subject` metric)."""
    parts: list[str] = []
    params: list[Any] = []
    only = {"决算数": " AND t.measure = '决算数'", "预算数": " AND t.measure IS DISTINCT FROM '决算数'"}.get(measure or "", "")
    for rank, src in enumerate(metric.sources):
        prio = "CASE t.table_kind " + " ".join(f"WHEN '{kind}' THEN {i}" for i, kind in enumerate(src.priority)) + \
            f" ELSE {len(src.priority)} END" if src.priority else "0"
        parts.append(
            f"SELECT t.doc_id, t.record_id, CAST(t.{src.field} AS DOUBLE) AS value, t.source, t.page, t.line, "
            f"json_extract_string(t.\"values\", '$.{src.field}.raw') AS raw, "
            f"json_extract_string(t.provenance, '$.raw') AS row_raw, t.table_kind, t.measure, "
            f"{rank} AS src_rank, {prio} AS prio, CASE t.measure WHEN '决算数' THEN 0 ELSE 1 END AS mrank "
            f"FROM {src.table} t WHERE {src.where} AND t.{src.field} IS NOT NULL{only}"
        )
        params += [keyword] * src.where.count("?")
    union = " UNION ALL ".join(parts)
    sql = (f"SELECT * FROM ({union}) QUALIFY row_number() OVER "
           f"(PARTITION BY doc_id ORDER BY src_rank, prio, mrank, line) = 1")
    return sql, params


def _doc_filter(plan: QueryPlan, alias: str = "d") -> tuple[str, list[Any]]:
    """WHERE conditions on a table carrying department/year/region columns: constant fragments for the plan's active
    filters, their values bound as parameters."""
    parts, params = ["TRUE"], []
    if plan.departments:
        parts.append(f"list_contains(?::VARCHAR[], {alias}.department)")
        params.append(plan.departments)
    if plan.year is not None:
        parts.append(f"{alias}.year = ?")
        params.append(plan.year)
    if plan.region is not None:
        parts.append(f"{alias}.region = ?")
        params.append(plan.region)
    return " AND ".join(parts), params


def _names(items: list[str], total: int | None = None, sep: str = "；") -> str:
    """At most MAX_NAMED items, then 等N项."""
    total = len(items) if total is None else total
    text = sep.join(items[:MAX_NAMED])
    return text + (f"……等共{total}项" if total > MAX_NAMED else "")


_PROJECT_KINDS = "('项目支出表', '绩效目标表')"
# a named project may also be a line of the 整体绩效目标表 (部门整体) or a 重点项目表
_PROJECT_LOOKUP_PRIO = ("CASE d.table_kind WHEN '项目支出表' THEN 0 WHEN '绩效目标表' THEN 1 WHEN '整体绩效目标表' THEN 2 "
                        "ELSE 3 END")


class Engine:
    """Answers questions over one store connection. `key` identifies the store for the StoreView cache (default:
    the database path); the data queries run on the view's in-memory tables (`self.db`)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, data_dir: str | Path | None = None, key: Any = None,
                 view: StoreView | None = None):
        self.con = con
        self.data_dir = data_dir
        self.key = key
        self.view = view  # a StoreView the caller just checked is current (else looked up per question)
        self.db: duckdb.DuckDBPyConnection | None = None

    # -------------------------------------------------------------------------------------------- public
    def ask(self, question: str, use_llm: bool = True) -> Answer:
        opened = self._open()
        try:
            assert self.view
            cat = self.view.catalog
            plan = parse_question(question, cat.aliases, cat.regions, cat.years, subjects=cat.subjects,
                                  projects=cat.projects)
            if plan.intent == "unknown" and use_llm and os.environ.get("YUSUAN_LLM_BASE_URL"):
                from .llm import plan_with_llm

                llm_plan = plan_with_llm(question, cat.aliases.departments, cat.years)
                if llm_plan is not None:
                    plan = llm_plan
            return self.run(question, plan)
        finally:
            if opened:
                self._close()

    def run(self, question: str, plan: QueryPlan) -> Answer:
        handler = getattr(self, f"_{plan.intent}", None)
        if handler is None:
            return self._unknown(question, plan)
        needs_metric = plan.intent not in ("narrative", "unknown", "indicator_filter")
        if needs_metric and (plan.metric not in METRICS or (plan.metric == "subject" and not plan.keyword)):
            return self._unknown(question, plan)
        if plan.unknown_departments and not plan.departments and plan.intent not in ("narrative", "unknown"):
            names = "、".join(f"“{m}”" for m in plan.unknown_departments)
            return Answer(question=question, answer=f"库中没有{names}这个部门的文档，无法回答。", plan=plan, unit=None)
        opened = self._open()
        try:
            answer = handler(question, plan)
        finally:
            if opened:
                self._close()
        if plan.notes:
            answer.answer += "（" + "；".join(plan.notes) + "）"
        return answer

    def _open(self) -> bool:
        """Attach to the current StoreView; True when this call opened the cursor (and must close it)."""
        if self.db is not None:
            return False
        if self.view is None:
            self.view = store_view(self.con, self.key)
        self.db = self.view.mem.cursor()
        return True

    def _close(self) -> None:
        if self.db is not None:
            self.db.close()
        self.db = None
        self.view = None

    # -------------------------------------------------------------------------------------------- materialised tables
    # Each table carries the document columns (department, year, region) so requests filter one small table.
    _DOC_COLS = "d.department, d.year, d.region"

    def _table(self, key: tuple, sql: str, params: list[Any]) -> str:
        assert self.view
        return self.view.table(self.con, key, sql, params)

    def _mtable(self, plan: QueryPlan, metric: Metric | None = None) -> str:
        """One row per document with the metric: value (万元) and its provenance."""
        metric = metric or plan.metric_def()
        assert metric
        keyword = plan.keyword if metric.key == "subject" else None
        sql, params = _metric_sql(metric, keyword, plan.measure)
        sql = (f"SELECT m.doc_id, {self._DOC_COLS}, d.doc_kind, m.record_id, m.value, m.source, m.page, m.line, "
               f"coalesce(m.raw, m.row_raw) AS raw, m.table_kind, m.measure FROM ({sql}) m JOIN documents d USING (doc_id) "
               f"ORDER BY m.value DESC, d.department, d.year")  # kept in this order: top-k needs no sort
        return self._table(("metric", metric.key, keyword, plan.measure), sql, params)

    def _nctable(self, plan: QueryPlan) -> str:
        """Documents without the metric."""
        metric = plan.metric_def()
        assert metric
        keyword = plan.keyword if metric.key == "subject" else None
        sql, params = _metric_sql(metric, keyword, plan.measure)
        # a document is not covered when neither it nor another document of its department and year (a narrative PDF
        # published beside its tables PDF) has the metric
        sql = (f"WITH m AS ({sql}), covered AS (SELECT DISTINCT d.department, d.year FROM m JOIN documents d USING (doc_id)) "
               f"SELECT d.doc_id, {self._DOC_COLS}, d.source, d.doc_kind FROM documents d "
               f"ANTI JOIN m USING (doc_id) WHERE NOT EXISTS (SELECT 1 FROM covered c WHERE c.department = d.department "
               f"AND c.year IS NOT DISTINCT FROM d.year) ORDER BY d.department, d.year, d.source")
        return self._table(("not_covered", metric.key, keyword, plan.measure), sql, params)

    def _change_table(self, plan: QueryPlan, metric: Metric) -> str:
        if metric.key == "subject":  # 会议费 → 一般公共预算拨款安排的会议费预算支出
            likes, exact = ["%" + (plan.keyword or "\x00") + "%"], ["\x00"]
        else:
            likes, exact = list(metric.fact_like) or ["\x00"], list(metric.fact_exact) or ["\x00"]
        # subjects are compared without item numbers and (类)/(款)/(项) markers: 3.住房保障(类)支出 → 住房保障支出
        subject = FACT_SUBJECT.replace("t.", "f.")
        sql = (f"SELECT f.doc_id, {self._DOC_COLS}, f.subject, f.value, f.prior, f.change, f.change_pct, f.source, "
               "f.page, f.line, f.sentence AS raw, f.record_id FROM fact f JOIN documents d USING (doc_id) "
               f"WHERE (EXISTS (SELECT 1 FROM (SELECT unnest(?::VARCHAR[]) AS pat) WHERE {subject} LIKE pat) "
               f"OR {subject} IN (SELECT unnest(?::VARCHAR[]))) AND f.change IS NOT NULL AND f.metric = 'amount' "
               "QUALIFY row_number() OVER (PARTITION BY f.doc_id ORDER BY f.line) = 1")
        return self._table(("change", tuple(likes), tuple(exact)), sql, [likes, exact])

    def _project_table(self) -> str:
        sql = (f"SELECT t.doc_id, {self._DOC_COLS}, t.name, t.table_kind, t.amount, t.source, t.page, t.line, "
               "coalesce(json_extract_string(t.\"values\", '$.amount.raw'), json_extract_string(t.provenance, '$.raw')) AS raw, "
               "t.record_id FROM project t JOIN documents d USING (doc_id) WHERE t.name IS NOT NULL")
        return self._table(("project",), sql, [])

    def _indicator_tables(self, keyword: str) -> tuple[str, str]:
        """Indicators whose 三级指标 contains the keyword, one row per (document, project, indicator, target), sorted by
        department, year, line; and per (document, project) the highest ≥/=/> target and the lowest ≤/=/< target."""
        sql = (f"SELECT t.doc_id, {self._DOC_COLS}, t.project, t.level3, t.operator, t.value, t.value_num, t.value_unit, "
               "min(t.source) AS source, min(t.page) AS page, min(t.line) AS line, "
               "min(coalesce(t.raw_value, json_extract_string(t.provenance, '$.raw'))) AS raw, min(t.record_id) AS record_id "
               "FROM indicator t JOIN documents d USING (doc_id) "
               "WHERE t.level3 LIKE '%' || ? || '%' AND t.value_num IS NOT NULL GROUP BY ALL "
               "ORDER BY d.department, d.year, min(t.line)")
        rows = self._table(("indicator", keyword), sql, [keyword])
        projects = (f"SELECT department, year, region, project, "
                    f"max(value_num) FILTER (WHERE operator IN ('≥', '=', '>')) AS hi, "
                    f"min(value_num) FILTER (WHERE operator IN ('≤', '=', '<')) AS lo FROM {rows} GROUP BY ALL")
        assert self.view
        return rows, self.view.table(None, ("indicator_projects", keyword), projects, [])

    # -------------------------------------------------------------------------------------------- helpers
    def _values(self, plan: QueryPlan, order: str = "desc", limit: int | None = MAX_ROWS) -> list[dict[str, Any]]:
        """Documents with the metric, best first; each row carries n_total (all matching documents)."""
        where, params = _doc_filter(plan)
        table = self._mtable(plan)  # stored by value DESC, department, year
        order_by = "ORDER BY d.value ASC, d.department, d.year" if order == "asc" else ""
        sql = (f"SELECT d.department, d.year, d.region, d.doc_id, d.value * ? AS value, d.source, d.page, d.line, "
               f"d.raw, d.record_id, d.table_kind, d.measure, d.doc_kind, "
               f"(SELECT count(*) FROM {table} d WHERE {where}) AS n_total "
               f"FROM {table} d WHERE {where} {order_by} LIMIT ?")
        return self._fetch(sql, [UNIT_FACTOR[plan.unit], *params, *params, limit or 1_000_000])

    def _not_covered(self, plan: QueryPlan) -> tuple[list[dict[str, Any]], int]:
        where, params = _doc_filter(plan)
        table = self._nctable(plan)  # sorted by department, year, source
        rows = self._fetch(f"SELECT d.department, d.year, d.source, d.doc_kind, (SELECT count(*) FROM {table} d "
                           f"WHERE {where}) AS n_total FROM {table} d WHERE {where} LIMIT ?",
                           [*params, *params, MAX_NOT_COVERED])
        total = rows[0]["n_total"] if rows else 0
        for row in rows:
            row.pop("n_total")
        return rows, total

    def _fetch(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        assert self.db
        cur = self.db.execute(sql, params)
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def _one(self, sql: str, params: list[Any]) -> tuple:
        assert self.db
        return self.db.execute(sql, params).fetchone()

    @staticmethod
    def _evidence(rows: list[dict[str, Any]]) -> list[Evidence]:
        return [Evidence(source=r.get("source"), page=r.get("page"), line=r.get("line"), raw=r.get("raw"),
                         department=r.get("department"), year=r.get("year"), record_id=r.get("record_id"))
                for r in rows[:MAX_ROWS]]

    @staticmethod
    def _who(row: dict[str, Any]) -> str:
        who = f"{row['department']}{row['year']}年" if row.get("year") else str(row["department"])
        if "决算" in str(row.get("doc_kind") or "") and row.get("measure"):  # a 决算 prints 预算数 and 决算数 columns
            who += f"（{row['measure']}）"
        return who

    @staticmethod
    def _nc_text(nc: tuple[list[dict[str, Any]], int], label: str) -> str:
        rows, total = nc
        if not total:
            return ""
        names = _names([f"{r['department']}({r['year']}年, {Path(str(r['source'])).name})" for r in rows], total, "、")
        return f"以下{total}份文档没有{label}数据（不计为0）：{names}。"

    def _base(self, question: str, plan: QueryPlan, text: str, rows: list[dict[str, Any]], value: float | None = None,
              nc: tuple[list[dict[str, Any]], int] | None = None, unit: str | None = None) -> Answer:
        for row in rows:
            row.pop("n_total", None)
        nc_rows, nc_total = nc or ([], 0)
        return Answer(question=question, answer=text, value=value, unit=unit or plan.unit, rows=rows[:MAX_ROWS],
                      evidence=self._evidence(rows), plan=plan, not_covered=nc_rows, not_covered_total=nc_total)

    # -------------------------------------------------------------------------------------------- intents
    def _lookup(self, question: str, plan: QueryPlan) -> Answer:
        if plan.entity == "project" and plan.keyword:
            return self._project_lookup(question, plan)
        label = plan.label()
        rows = self._values(plan)
        nc = self._not_covered(plan)
        if not rows:
            scope = "、".join(plan.departments) or "所选范围"
            return self._base(question, plan, f"没有找到{scope}{plan.year or ''}{'年' if plan.year else ''}的{label}数据。"
                              + self._nc_text(nc, label), [], nc=nc)
        total = rows[0]["n_total"]
        rows.sort(key=lambda r: (r["department"], -(r["year"] or 0)))
        if total == 1:
            r = rows[0]
            where = f"（{r['table_kind']}）" if plan.metric == "subject" and r.get("table_kind") else ""
            text = f"{self._who(r)}{label}为{fmt(r['value'], plan.unit)}{where}。" + self._nc_text(nc, label)
            return self._base(question, plan, text, rows, r["value"], nc)
        parts = _names([f"{self._who(r)}为{fmt(r['value'], plan.unit)}" for r in rows], total)
        text = f"有{total}份文档符合条件，分别作答：{label}{parts}。" + self._nc_text(nc, label)
        return self._base(question, plan, text, rows, None, nc)

    def _project_lookup(self, question: str, plan: QueryPlan) -> Answer:
        table = self._project_table()
        kw = plan.keyword
        where, params = _doc_filter(plan)
        sql = ("SELECT d.department, d.year, d.name, d.table_kind, d.amount * ? AS value, d.source, d.page, d.line, "
               f"d.raw, d.record_id FROM {table} d "
               f"WHERE (d.name = ? OR (NOT EXISTS (SELECT 1 FROM {table} p WHERE p.name = ?) AND d.name LIKE '%' || ? || '%')) "
               f"AND d.amount IS NOT NULL AND {where} "
               f"QUALIFY row_number() OVER (PARTITION BY d.doc_id, d.name ORDER BY {_PROJECT_LOOKUP_PRIO}, d.line) = 1 "
               "ORDER BY d.department, d.year DESC, d.line LIMIT ?")
        rows = self._fetch(sql, [UNIT_FACTOR[plan.unit], kw, kw, kw, *params, MAX_ROWS])
        if not rows:
            return self._base(question, plan, f"没有找到项目“{kw}”的金额。", [])
        if len(rows) == 1:
            r = rows[0]
            return self._base(question, plan, f"{self._who(r)}“{r['name']}”金额为{fmt(r['value'], plan.unit)}"
                              f"（{r['table_kind']}）。", rows, r["value"])
        parts = _names([f"{self._who(r)}“{r['name']}”{fmt(r['value'], plan.unit)}" for r in rows])
        values = {round(r["value"], 6) for r in rows}
        value = rows[0]["value"] if len(values) == 1 else None
        return self._base(question, plan, f"有{len(rows)}条项目记录符合条件，分别作答：{parts}。", rows, value)

    def _list(self, question: str, plan: QueryPlan) -> Answer:
        if plan.entity == "project":
            return self._projects(question, plan)
        label = plan.label()
        rows = self._values(plan, order=plan.order)
        nc = self._not_covered(plan)
        total = rows[0]["n_total"] if rows else 0
        parts = _names([f"{self._who(r)}{fmt(r['value'], plan.unit)}" for r in rows], total)
        text = f"{label}（{total}份文档）：{parts}。" if rows else f"没有{label}数据。"
        value = rows[0]["value"] if total == 1 else None
        return self._base(question, plan, text + self._nc_text(nc, label), rows, value, nc)

    def _project_rows(self, plan: QueryPlan, order: str = "desc", limit: int | None = MAX_ROWS) -> list[dict[str, Any]]:
        direction = "ASC" if order == "asc" else "DESC"
        where, params = _doc_filter(plan)
        sql = ("SELECT d.department, d.year, d.name, d.amount * ? AS value, d.source, d.page, d.line, d.raw, "
               f"d.record_id, count(*) OVER () AS n_total FROM {self._project_table()} d "
               f"WHERE d.table_kind IN {_PROJECT_KINDS} AND d.name <> '资金总额' AND d.amount IS NOT NULL "
               f"AND {where} ORDER BY value {direction} NULLS LAST, d.line LIMIT ?")
        return self._fetch(sql, [UNIT_FACTOR[plan.unit], *params, limit or 1_000_000])

    def _projects(self, question: str, plan: QueryPlan) -> Answer:
        rows = self._project_rows(plan)
        total = rows[0]["n_total"] if rows else 0
        names = "、".join(f"{r['name']}({fmt(r['value'], plan.unit)})" for r in rows[:50])
        more = f"等，共{total}个" if total > 50 else f"，共{total}个"
        text = f"项目有：{names}{more}。" if rows else "没有找到项目数据。"
        return self._base(question, plan, text, rows, float(total), unit="个")

    def _superlative(self, question: str, plan: QueryPlan) -> Answer:
        label = plan.label()
        k = plan.k or 1
        word = "最低" if plan.order == "asc" else "最高"
        if plan.entity == "project":
            rows = self._project_rows(plan, plan.order, k)
            if not rows:
                return self._base(question, plan, "没有找到项目数据。", [])
            if k == 1:
                r = rows[0]
                return self._base(question, plan, f"金额{word}的项目是{r['department']}{r['year']}年的“{r['name']}”，"
                                  f"{fmt(r['value'], plan.unit)}。", rows, r["value"])
            parts = "；".join(f"{i}. {r['name']}({r['department']}{r['year']}年) {fmt(r['value'], plan.unit)}"
                              for i, r in enumerate(rows, 1))
            return self._base(question, plan, f"金额{word}的前{k}个项目：{parts}。", rows, rows[0]["value"])
        rows = self._values(plan, order=plan.order, limit=k)
        nc = self._not_covered(plan)
        if not rows:
            return self._base(question, plan, f"没有任何文档有{label}数据。" + self._nc_text(nc, label), [], nc=nc)
        if k == 1:
            r = rows[0]
            text = f"{label}{word}的是{r['department']}（{r['year']}年），为{fmt(r['value'], plan.unit)}。"
        else:
            parts = "；".join(f"{i}. {self._who(r)} {fmt(r['value'], plan.unit)}" for i, r in enumerate(rows, 1))
            text = f"{label}{word}的前{k}名：{parts}。"
        text += f"共比较了{rows[0]['n_total']}份有{label}数据的文档。" + self._nc_text(nc, label)
        return self._base(question, plan, text, rows, rows[0]["value"], nc)

    def _sum(self, question: str, plan: QueryPlan) -> Answer:
        label = plan.label()
        where, params = _doc_filter(plan)
        total, n = self._one(f"SELECT sum(d.value) * ?, count(*) FROM {self._mtable(plan)} d WHERE {where}",
                             [UNIT_FACTOR[plan.unit], *params])
        rows = self._values(plan)
        nc = self._not_covered(plan)
        text = f"{n}份文档的{label}合计{fmt(total, plan.unit)}。" if n else f"没有{label}数据。"
        return self._base(question, plan, text + self._nc_text(nc, label), rows, total, nc)

    def _count(self, question: str, plan: QueryPlan) -> Answer:
        label = plan.label()
        where, params = _doc_filter(plan)
        if plan.entity == "project":
            sql = ("SELECT d.department, d.year, count(DISTINCT d.name) AS value, min(d.source) AS source, "
                   f"count(*) OVER () AS n_total FROM {self._project_table()} d "
                   f"WHERE d.table_kind IN {_PROJECT_KINDS} AND d.name <> '资金总额' "
                   f"AND {where} GROUP BY d.department, d.year ORDER BY d.department, d.year DESC LIMIT ?")
            rows = self._fetch(sql, [*params, MAX_ROWS])
            if len(rows) == 1:
                return self._base(question, plan, f"{self._who(rows[0])}共有{rows[0]['value']}个项目。", rows,
                                  float(rows[0]["value"]), unit="个")
            total = rows[0]["n_total"] if rows else 0
            parts = _names([f"{self._who(r)}{r['value']}个" for r in rows], total)
            return self._base(question, plan, f"有{total}份文档符合条件，分别作答：{parts}。", rows, None, unit="个")
        rows = self._values(plan)
        nc = self._not_covered(plan)
        n, docs = self._one(f"SELECT count(DISTINCT d.department), count(*) FROM {self._mtable(plan)} d WHERE {where}", params)
        text = f"共有{n}个部门有{label}数据（{docs}份文档）。" + self._nc_text(nc, label)
        return self._base(question, plan, text, rows, float(n), nc, unit="个")

    def _compare(self, question: str, plan: QueryPlan) -> Answer:
        label = plan.label()
        rows = self._values(plan)
        nc = self._not_covered(plan)
        if len(rows) < 2:
            return self._base(question, plan, f"只有{len(rows)}份文档有{label}数据，无法比较。"
                              + self._nc_text(nc, label), rows, nc=nc)
        a, b = rows[0], rows[1]  # already sorted by value desc
        diff = self._one("SELECT ?::DOUBLE - ?::DOUBLE", [a["value"], b["value"]])[0]
        text = (f"{self._who(a)}{label}{fmt(a['value'], plan.unit)}，高于{self._who(b)}的"
                f"{fmt(b['value'], plan.unit)}，相差{fmt(diff, plan.unit)}。")
        if len(rows) > 2:
            text += "另有：" + _names([f"{self._who(r)}{fmt(r['value'], plan.unit)}" for r in rows[2:]]) + "。"
        return self._base(question, plan, text + self._nc_text(nc, label), rows, diff, nc)

    def _share(self, question: str, plan: QueryPlan) -> Answer:
        label = plan.label()
        denom = METRICS.get(plan.denominator or "expense_total") or METRICS["expense_total"]
        where, params = _doc_filter(plan, "a")
        sql = (f"SELECT a.department, a.year, a.value AS part, b.value AS whole, round(a.value / b.value * 100, 2) AS value, "
               f"a.source, a.page, a.line, a.raw, a.record_id, count(*) OVER () AS n_total "
               f"FROM {self._mtable(plan)} a JOIN {self._mtable(plan, denom)} b USING (doc_id) "
               f"WHERE {where} AND b.value <> 0 ORDER BY a.department, a.year DESC LIMIT ?")
        rows = self._fetch(sql, [*params, MAX_ROWS])
        if not rows:
            return self._base(question, plan, f"没有同时具备{label}和{denom.label}的文档。", [], unit="%")
        total = rows[0]["n_total"]
        parts = _names([f"{self._who(r)}{label}{r['part']:.2f}万元占{denom.label}{r['whole']:.2f}万元的{r['value']:.2f}%"
                        for r in rows], total)
        prefix = f"有{total}份文档，分别作答：" if total > 1 else ""
        return self._base(question, plan, prefix + parts + "。", rows, rows[0]["value"] if total == 1 else None, unit="%")

    def _change(self, question: str, plan: QueryPlan) -> Answer:
        metric = plan.metric_def()
        assert metric
        label = plan.label()
        where, params = _doc_filter(plan)
        sql = ("SELECT d.department, d.year, d.subject, d.value * ? AS current, d.prior * ? AS prior, d.change * ? AS value, "
               f"d.change_pct, d.source, d.page, d.line, d.raw, d.record_id, count(*) OVER () AS n_total "
               f"FROM {self._change_table(plan, metric)} d WHERE {where} ORDER BY d.department, d.year DESC LIMIT ?")
        factor = UNIT_FACTOR[plan.unit]
        rows = self._fetch(sql, [factor, factor, factor, *params, MAX_ROWS])
        if not rows:
            rows = self._change_from_years(plan)
        if not rows:
            return self._base(question, plan, f"没有找到{label}的上年对比数据（文档未说明变化，也没有上一年度的记录）。", [])
        total = rows[0]["n_total"]
        parts = []
        for r in rows[:MAX_NAMED]:
            verb = "增加" if r["value"] >= 0 else "减少"
            pct = f"，{'增长' if r['value'] >= 0 else '下降'}{abs(r['change_pct']):.1f}%" if r.get("change_pct") is not None else ""
            prior = f"（上年{fmt(r['prior'], plan.unit)}）" if r.get("prior") is not None else ""
            parts.append(f"{self._who(r)}{label}{fmt(r['current'], plan.unit)}{prior}，比上年{verb}"
                         f"{fmt(abs(r['value']), plan.unit)}{pct}")
        prefix = f"有{total}份文档，分别作答：" if total > 1 else ""
        more = f"……等共{total}份" if total > MAX_NAMED else ""
        return self._base(question, plan, prefix + "；".join(parts) + more + "。", rows,
                          rows[0]["value"] if total == 1 else None)

    def _change_from_years(self, plan: QueryPlan) -> list[dict[str, Any]]:
        table = self._mtable(plan)
        where, params = _doc_filter(plan, "m")
        sql = (f"SELECT m.department, m.year, m.value * ? AS current, p.value * ? AS prior, (m.value - p.value) * ? AS value, "
               f"round((m.value - p.value) / nullif(p.value, 0) * 100, 1) AS change_pct, m.source, m.page, m.line, "
               f"m.raw, m.record_id, count(*) OVER () AS n_total FROM {table} m "
               f"JOIN {table} p ON p.department = m.department AND p.year = m.year - 1 "
               f"WHERE {where} ORDER BY m.department, m.year DESC LIMIT ?")
        factor = UNIT_FACTOR[plan.unit]
        return self._fetch(sql, [factor, factor, factor, *params, MAX_ROWS])

    def _indicator_filter(self, question: str, plan: QueryPlan) -> Answer:
        op = plan.operator or "≥"
        cond = {"≥": "d.value_num >= ?", ">": "d.value_num > ?", "≤": "d.value_num <= ?", "<": "d.value_num < ?",
                "=": "d.value_num = ?"}[op]
        # the indicator's own operator must promise at least as much as asked (≥ 95 asked: ≥/=/> rows qualify)
        op_ok = "d.operator IN ('≥', '=', '>')" if op in ("≥", ">", "=") else "d.operator IN ('≤', '=', '<')"
        table, projects = self._indicator_tables(plan.keyword or "")
        doc_where, doc_params = _doc_filter(plan)
        where = f"{op_ok} AND {cond} AND {doc_where}"
        params = [plan.threshold or 0, *doc_params]
        sql = ("SELECT d.department, d.year, d.project, d.level3, d.operator, d.value, d.value_num, d.value_unit, "
               f"d.source, d.page, d.line, d.raw, d.record_id FROM {table} d WHERE {where} LIMIT ?")  # table is sorted
        rows = self._fetch(sql, [*params, MAX_ROWS])
        if op == "=":
            n_projects = self._one(f"SELECT count(DISTINCT (d.department, d.year, d.project)) FROM {table} d "
                                   f"WHERE {where}", params)[0]
        else:
            bound = {"≥": "d.hi >= ?", ">": "d.hi > ?", "≤": "d.lo <= ?", "<": "d.lo < ?"}[op]
            n_projects = self._one(f"SELECT count(*) FROM {projects} d WHERE {bound} AND {doc_where}", params)[0]
        projects_named = sorted({(r["department"], r["year"], r["project"]) for r in rows},
                                key=lambda x: (x[0], x[1], x[2] or ""))
        names = _names([f"{p or '(未命名)'}({d}{y}年)" for d, y, p in projects_named], n_projects, "、")
        text = (f"{plan.keyword or ''}指标{op}{plan.threshold:g}的项目共{n_projects}个：{names}。" if n_projects
                else f"没有{plan.keyword or ''}指标{op}{plan.threshold:g}的项目。")
        return self._base(question, plan, text, rows, float(n_projects), unit="个")

    def _narrative(self, question: str, plan: QueryPlan) -> Answer:
        filters: dict[str, Any] = {"year": plan.year}
        if len(set(plan.departments)) == 1:
            filters["department"] = plan.departments[0]
        results, error = search_passages(question, self.data_dir, k=5, filters=filters)
        if error:
            return self._base(question, plan, f"这是叙述性问题，需要全文检索，但检索索引不可用：{error}", [])
        rows = [r if isinstance(r, dict) else {"text": str(r)} for r in results]
        ev = [Evidence(source=r.get("source"), page=r.get("page"), line=r.get("line") or r.get("line_start"),
                       raw=(r.get("text") or r.get("raw") or "")[:300]) for r in rows]
        text = "检索到以下相关段落：" + (rows[0].get("text") or "")[:200] if rows else "检索没有找到相关段落。"
        return Answer(question=question, answer=text, rows=rows, evidence=ev, plan=plan, unit=None)

    def _unknown(self, question: str, plan: QueryPlan) -> Answer:
        results, error = search_passages(question, self.data_dir, k=5)
        text = ("没能识别问题中的指标（支持：三公经费、公务接待费、公务用车运行维护费、因公出国费、项目支出、基本支出、人员经费、"
                "公用经费、机关运行经费、政府采购、收入总计、支出总计、功能/经济分类科目（如住房保障支出、会议费）、"
                "项目金额、绩效指标）。")
        text += "可以改用全文检索 /search。" if error else f"以下是全文检索的{len(results)}条结果。"
        rows = [r if isinstance(r, dict) else {"text": str(r)} for r in results]
        return Answer(question=question, answer=text, rows=rows, plan=plan, unit=None)


def search_passages(query: str, data_dir: str | Path | None, k: int = 5,
                    filters: dict[str, Any] | None = None) -> tuple[list[Any], str | None]:
    """Full-text search of the data dir's passage index (yusuan.index.search); never raises."""
    try:
        from yusuan.index import search as search_mod
    except Exception as exc:
        return [], f"检索模块未安装（{type(exc).__name__}）"
    fn = getattr(search_mod, "search", None)
    if fn is None:
        return [], "检索模块没有 search 函数"
    try:
        results = fn(query, k=k, filters=filters or None, data=data_dir)
    except Exception as exc:
        return [], f"检索失败（{type(exc).__name__}: {exc}）"
    out = []
    for item in list(results or [])[:k]:
        if hasattr(item, "to_dict"):
            item = item.to_dict()
        elif hasattr(item, "model_dump"):
            item = item.model_dump()
        elif hasattr(item, "__dict__") and not isinstance(item, dict):
            item = dict(vars(item))
        out.append(json.loads(json.dumps(item, ensure_ascii=False, default=str)))
    return out, None


def ask(question: str, data_dir: str | Path | None = None, use_llm: bool = True) -> Answer:
    from yusuan.config import db_path

    path = db_path(data_dir)
    con = duckdb.connect(str(path), read_only=True)
    try:
        return Engine(con, data_dir).ask(question, use_llm=use_llm)
    finally:
        con.close()
