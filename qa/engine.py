"""Run a QueryPlan over DuckDB (parameterised SQL, arithmetic in SQL) and phrase the answer in Chinese."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import duckdb
from pydantic import BaseModel, Field

from .plan import METRICS, UNIT_FACTOR, Metric, QueryPlan, parse_question


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


def fmt(value: float | None, unit: str = "万元") -> str:
    if value is None:
        return "无数据"
    if unit == "元":
        return f"{value:,.2f}元"
    if unit == "亿元":
        return f"{value:.4f}亿元"
    return f"{value:.2f}万元"


# ------------------------------------------------------------------------------------------------ SQL building

def _metric_sql(metric: Metric) -> str:
    """One row per document: the metric's value from the best source (constant SQL, no user text)."""
    parts = []
    for rank, src in enumerate(metric.sources):
        prio = "CASE t.table_kind " + " ".join(f"WHEN '{kind}' THEN {i}" for i, kind in enumerate(src.priority)) + \
            f" ELSE {len(src.priority)} END" if src.priority else "0"
        parts.append(
            f"SELECT t.doc_id, t.record_id, CAST(t.{src.field} AS DOUBLE) AS value, t.source, t.page, t.line, "
            f"json_extract_string(t.\"values\", '$.{src.field}.raw') AS raw, "
            f"json_extract_string(t.provenance, '$.raw') AS row_raw, t.table_kind, "
            f"{rank} AS src_rank, {prio} AS prio, CASE t.measure WHEN '决算数' THEN 0 ELSE 1 END AS mrank "
            f"FROM {src.table} t WHERE {src.where} AND t.{src.field} IS NOT NULL"
        )
    union = " UNION ALL ".join(parts)
    return (f"SELECT * FROM ({union}) QUALIFY row_number() OVER "
            f"(PARTITION BY doc_id ORDER BY src_rank, prio, mrank, line) = 1")


_DOC_FILTER = ("(? = 0 OR d.department IN (SELECT unnest(?::VARCHAR[]))) AND (?::BIGINT IS NULL OR d.year = ?) "
               "AND (?::VARCHAR IS NULL OR d.region = ?)")


def _doc_params(plan: QueryPlan, departments: list[str] | None = None) -> list[Any]:
    depts = plan.departments if departments is None else departments
    return [len(depts), depts, plan.year, plan.year, plan.region, plan.region]


class Engine:
    def __init__(self, con: duckdb.DuckDBPyConnection, data_dir: str | Path | None = None):
        self.con = con
        self.data_dir = data_dir

    # -------------------------------------------------------------------------------------------- public
    def ask(self, question: str, use_llm: bool = True) -> Answer:
        departments = [r[0] for r in self.con.execute(
            "SELECT DISTINCT department FROM documents WHERE department IS NOT NULL").fetchall()]
        regions = [r[0] for r in self.con.execute(
            "SELECT DISTINCT region FROM documents WHERE region IS NOT NULL").fetchall()]
        years = [r[0] for r in self.con.execute("SELECT DISTINCT year FROM documents WHERE year IS NOT NULL").fetchall()]
        plan = parse_question(question, departments, regions, years)
        if plan.intent == "unknown" and use_llm and os.environ.get("YUSUAN_LLM_BASE_URL"):
            from .llm import plan_with_llm

            llm_plan = plan_with_llm(question, departments, years)
            if llm_plan is not None:
                plan = llm_plan
        return self.run(question, plan)

    def run(self, question: str, plan: QueryPlan) -> Answer:
        handler = getattr(self, f"_{plan.intent}", None)
        if handler is None:
            return self._unknown(question, plan)
        if plan.intent not in ("narrative", "unknown", "indicator_filter") and plan.metric not in METRICS:
            return self._unknown(question, plan)
        answer = handler(question, plan)
        if plan.notes:
            answer.answer += "（" + "；".join(plan.notes) + "）"
        return answer

    # -------------------------------------------------------------------------------------------- helpers
    def _values(self, plan: QueryPlan, metric: Metric, departments: list[str] | None = None,
                order: str = "desc", limit: int | None = None) -> list[dict[str, Any]]:
        direction = "ASC" if order == "asc" else "DESC"
        sql = (f"SELECT d.department, d.year, d.region, d.doc_id, m.value * ? AS value, m.source, m.page, m.line, "
               f"coalesce(m.raw, m.row_raw) AS raw, m.record_id, m.table_kind "
               f"FROM ({_metric_sql(metric)}) m JOIN documents d USING (doc_id) WHERE {_DOC_FILTER} "
               f"ORDER BY m.value {direction}, d.department, d.year LIMIT ?")
        params = [UNIT_FACTOR[plan.unit], *_doc_params(plan, departments), limit if limit else 1_000_000]
        return self._fetch(sql, params)

    def _not_covered(self, plan: QueryPlan, metric: Metric, departments: list[str] | None = None) -> list[dict[str, Any]]:
        sql = (f"SELECT d.department, d.year, d.source, d.doc_kind FROM documents d WHERE {_DOC_FILTER} "
               f"AND d.doc_id NOT IN (SELECT doc_id FROM ({_metric_sql(metric)})) ORDER BY d.department, d.year, d.source")
        return self._fetch(sql, _doc_params(plan, departments))

    def _fetch(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, params)
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    @staticmethod
    def _evidence(rows: list[dict[str, Any]]) -> list[Evidence]:
        return [Evidence(source=r.get("source"), page=r.get("page"), line=r.get("line"), raw=r.get("raw"),
                         department=r.get("department"), year=r.get("year"), record_id=r.get("record_id"))
                for r in rows]

    @staticmethod
    def _who(row: dict[str, Any]) -> str:
        return f"{row['department']}{row['year']}年" if row.get("year") else str(row["department"])

    @staticmethod
    def _nc_text(nc: list[dict[str, Any]], metric: Metric) -> str:
        if not nc:
            return ""
        names = "、".join(f"{r['department']}({r['year']}年, {Path(str(r['source'])).name})" for r in nc)
        return f"以下文档没有{metric.label}数据（不计为0）：{names}。"

    def _base(self, question: str, plan: QueryPlan, text: str, rows: list[dict[str, Any]], value: float | None = None,
              nc: list[dict[str, Any]] | None = None, unit: str | None = None) -> Answer:
        return Answer(question=question, answer=text, value=value, unit=unit or plan.unit, rows=rows,
                      evidence=self._evidence(rows), plan=plan, not_covered=nc or [])

    # -------------------------------------------------------------------------------------------- intents
    def _lookup(self, question: str, plan: QueryPlan) -> Answer:
        metric = plan.metric_def()
        assert metric
        rows = self._values(plan, metric)
        nc = self._not_covered(plan, metric)
        if not rows:
            scope = "、".join(plan.departments) or "所选范围"
            return self._base(question, plan, f"没有找到{scope}{plan.year or ''}{'年' if plan.year else ''}的{metric.label}数据。"
                              + self._nc_text(nc, metric), [], nc=nc)
        rows.sort(key=lambda r: (r["department"], -(r["year"] or 0)))
        if len(rows) == 1:
            r = rows[0]
            text = f"{self._who(r)}{metric.label}为{fmt(r['value'], plan.unit)}。" + self._nc_text(nc, metric)
            return self._base(question, plan, text, rows, r["value"], nc)
        parts = "；".join(f"{self._who(r)}为{fmt(r['value'], plan.unit)}" for r in rows)
        text = f"有{len(rows)}份文档符合条件，分别作答：{metric.label}{parts}。" + self._nc_text(nc, metric)
        return self._base(question, plan, text, rows, None, nc)

    def _list(self, question: str, plan: QueryPlan) -> Answer:
        metric = plan.metric_def()
        assert metric
        if plan.entity == "project":
            return self._projects(question, plan, metric)
        rows = self._values(plan, metric, order=plan.order)
        nc = self._not_covered(plan, metric)
        parts = "；".join(f"{self._who(r)}{fmt(r['value'], plan.unit)}" for r in rows)
        text = f"{metric.label}：{parts}。" if rows else f"没有{metric.label}数据。"
        value = rows[0]["value"] if len(rows) == 1 else None
        return self._base(question, plan, text + self._nc_text(nc, metric), rows, value, nc)

    def _project_rows(self, plan: QueryPlan, order: str = "desc", limit: int | None = None) -> list[dict[str, Any]]:
        direction = "ASC" if order == "asc" else "DESC"
        sql = ("SELECT d.department, d.year, t.name, t.amount * ? AS value, t.source, t.page, t.line, "
               "coalesce(json_extract_string(t.\"values\", '$.amount.raw'), json_extract_string(t.provenance, '$.raw')) AS raw, "
               "t.record_id FROM project t JOIN documents d USING (doc_id) "
               f"WHERE t.table_kind IN ('项目支出表', '绩效目标表') AND t.name <> '资金总额' AND t.amount IS NOT NULL "
               f"AND {_DOC_FILTER} ORDER BY value {direction} NULLS LAST, t.line LIMIT ?")
        return self._fetch(sql, [UNIT_FACTOR[plan.unit], *_doc_params(plan), limit or 1_000_000])

    def _projects(self, question: str, plan: QueryPlan, metric: Metric) -> Answer:
        rows = self._project_rows(plan)
        names = "、".join(f"{r['name']}({fmt(r['value'], plan.unit)})" for r in rows[:50])
        more = f"等，共{len(rows)}个" if len(rows) > 50 else f"，共{len(rows)}个"
        text = f"项目有：{names}{more}。" if rows else "没有找到项目数据。"
        return self._base(question, plan, text, rows, float(len(rows)), unit="个")

    def _superlative(self, question: str, plan: QueryPlan) -> Answer:
        metric = plan.metric_def()
        assert metric
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
        rows = self._values(plan, metric, order=plan.order, limit=k)
        nc = self._not_covered(plan, metric)
        if not rows:
            return self._base(question, plan, f"没有任何文档有{metric.label}数据。" + self._nc_text(nc, metric), [], nc=nc)
        if k == 1:
            r = rows[0]
            text = f"{metric.label}{word}的是{r['department']}（{r['year']}年），为{fmt(r['value'], plan.unit)}。"
        else:
            parts = "；".join(f"{i}. {self._who(r)} {fmt(r['value'], plan.unit)}" for i, r in enumerate(rows, 1))
            text = f"{metric.label}{word}的前{k}名：{parts}。"
        total = self.con.execute(f"SELECT count(*) FROM ({_metric_sql(metric)}) m JOIN documents d USING (doc_id) "
                                 f"WHERE {_DOC_FILTER}", _doc_params(plan)).fetchone()[0]
        text += f"共比较了{total}份有{metric.label}数据的文档。" + self._nc_text(nc, metric)
        return self._base(question, plan, text, rows, rows[0]["value"], nc)

    def _sum(self, question: str, plan: QueryPlan) -> Answer:
        metric = plan.metric_def()
        assert metric
        sql = (f"SELECT sum(m.value) * ?, count(*) FROM ({_metric_sql(metric)}) m JOIN documents d USING (doc_id) "
               f"WHERE {_DOC_FILTER}")
        total, n = self.con.execute(sql, [UNIT_FACTOR[plan.unit], *_doc_params(plan)]).fetchone()
        rows = self._values(plan, metric)
        nc = self._not_covered(plan, metric)
        text = f"{n}份文档的{metric.label}合计{fmt(total, plan.unit)}。" if n else f"没有{metric.label}数据。"
        return self._base(question, plan, text + self._nc_text(nc, metric), rows, total, nc)

    def _count(self, question: str, plan: QueryPlan) -> Answer:
        metric = plan.metric_def()
        assert metric
        if plan.entity == "project":
            sql = ("SELECT d.department, d.year, count(DISTINCT t.name) AS value, min(t.source) AS source FROM project t "
                   f"JOIN documents d USING (doc_id) WHERE t.table_kind IN ('项目支出表', '绩效目标表') AND t.name <> '资金总额' "
                   f"AND {_DOC_FILTER} GROUP BY d.department, d.year ORDER BY d.department, d.year DESC")
            rows = self._fetch(sql, _doc_params(plan))
            if len(rows) == 1:
                return self._base(question, plan, f"{self._who(rows[0])}共有{rows[0]['value']}个项目。", rows,
                                  float(rows[0]["value"]), unit="个")
            parts = "；".join(f"{self._who(r)}{r['value']}个" for r in rows)
            return self._base(question, plan, f"有{len(rows)}份文档符合条件，分别作答：{parts}。", rows, None, unit="个")
        rows = self._values(plan, metric)
        nc = self._not_covered(plan, metric)
        sql = (f"SELECT count(DISTINCT d.department) FROM ({_metric_sql(metric)}) m JOIN documents d USING (doc_id) "
               f"WHERE {_DOC_FILTER}")
        n = self.con.execute(sql, _doc_params(plan)).fetchone()[0]
        text = f"共有{n}个部门有{metric.label}数据（{len(rows)}份文档）。" + self._nc_text(nc, metric)
        return self._base(question, plan, text, rows, float(n), nc, unit="个")

    def _compare(self, question: str, plan: QueryPlan) -> Answer:
        metric = plan.metric_def()
        assert metric
        rows = self._values(plan, metric)
        nc = self._not_covered(plan, metric)
        if len(rows) < 2:
            return self._base(question, plan, f"只有{len(rows)}份文档有{metric.label}数据，无法比较。"
                              + self._nc_text(nc, metric), rows, nc=nc)
        a, b = rows[0], rows[1]  # already sorted by value desc
        diff = self.con.execute("SELECT ?::DOUBLE - ?::DOUBLE", [a["value"], b["value"]]).fetchone()[0]
        text = (f"{self._who(a)}{metric.label}{fmt(a['value'], plan.unit)}，高于{self._who(b)}的"
                f"{fmt(b['value'], plan.unit)}，相差{fmt(diff, plan.unit)}。")
        if len(rows) > 2:
            text += "另有：" + "；".join(f"{self._who(r)}{fmt(r['value'], plan.unit)}" for r in rows[2:]) + "。"
        return self._base(question, plan, text + self._nc_text(nc, metric), rows, diff, nc)

    def _share(self, question: str, plan: QueryPlan) -> Answer:
        metric = plan.metric_def()
        denom = METRICS.get(plan.denominator or "expense_total") or METRICS["expense_total"]
        assert metric
        sql = (f"SELECT d.department, d.year, a.value AS part, b.value AS whole, round(a.value / b.value * 100, 2) AS value, "
               f"a.source, a.page, a.line, coalesce(a.raw, a.row_raw) AS raw, a.record_id "
               f"FROM ({_metric_sql(metric)}) a JOIN ({_metric_sql(denom)}) b USING (doc_id) JOIN documents d USING (doc_id) "
               f"WHERE {_DOC_FILTER} AND b.value <> 0 ORDER BY d.department, d.year DESC")
        rows = self._fetch(sql, _doc_params(plan))
        if not rows:
            return self._base(question, plan, f"没有同时具备{metric.label}和{denom.label}的文档。", [], unit="%")
        parts = "；".join(f"{self._who(r)}{metric.label}{r['part']:.2f}万元占{denom.label}{r['whole']:.2f}万元的"
                         f"{r['value']:.2f}%" for r in rows)
        prefix = f"有{len(rows)}份文档，分别作答：" if len(rows) > 1 else ""
        return self._base(question, plan, prefix + parts + "。", rows, rows[0]["value"] if len(rows) == 1 else None,
                          unit="%")

    def _change(self, question: str, plan: QueryPlan) -> Answer:
        metric = plan.metric_def()
        assert metric
        likes = list(metric.fact_like) or ["\x00"]
        exact = list(metric.fact_exact) or ["\x00"]
        sql = ("SELECT d.department, d.year, f.subject, f.value * ? AS current, f.prior * ? AS prior, f.change * ? AS value, "
               "f.change_pct, f.source, f.page, f.line, f.sentence AS raw, f.record_id FROM fact f JOIN documents d USING (doc_id) "
               f"WHERE (EXISTS (SELECT 1 FROM (SELECT unnest(?::VARCHAR[]) AS pat) WHERE f.subject LIKE pat) "
               "OR f.subject IN (SELECT unnest(?::VARCHAR[]))) "
               f"AND f.change IS NOT NULL AND {_DOC_FILTER} "
               "QUALIFY row_number() OVER (PARTITION BY f.doc_id ORDER BY f.line) = 1 ORDER BY d.department, d.year DESC")
        factor = UNIT_FACTOR[plan.unit]
        rows = self._fetch(sql, [factor, factor, factor, likes, exact, *_doc_params(plan)])
        if not rows:
            rows = self._change_from_years(plan, metric)
        if not rows:
            return self._base(question, plan, f"没有找到{metric.label}的上年对比数据（文档未说明变化，也没有上一年度的记录）。", [])
        parts = []
        for r in rows:
            verb = "增加" if r["value"] >= 0 else "减少"
            pct = f"，{'增长' if r['value'] >= 0 else '下降'}{abs(r['change_pct']):.1f}%" if r.get("change_pct") is not None else ""
            prior = f"（上年{fmt(r['prior'], plan.unit)}）" if r.get("prior") is not None else ""
            parts.append(f"{self._who(r)}{metric.label}{fmt(r['current'], plan.unit)}{prior}，比上年{verb}"
                         f"{fmt(abs(r['value']), plan.unit)}{pct}")
        prefix = f"有{len(rows)}份文档，分别作答：" if len(rows) > 1 else ""
        return self._base(question, plan, prefix + "；".join(parts) + "。", rows, rows[0]["value"] if len(rows) == 1 else None)

    def _change_from_years(self, plan: QueryPlan, metric: Metric) -> list[dict[str, Any]]:
        sql = (f"SELECT d.department, d.year, m.value * ? AS current, p.value * ? AS prior, (m.value - p.value) * ? AS value, "
               f"round((m.value - p.value) / nullif(p.value, 0) * 100, 1) AS change_pct, m.source, m.page, m.line, "
               f"coalesce(m.raw, m.row_raw) AS raw, m.record_id "
               f"FROM ({_metric_sql(metric)}) m JOIN documents d USING (doc_id) "
               f"JOIN documents pd ON pd.department = d.department AND pd.year = d.year - 1 "
               f"JOIN ({_metric_sql(metric)}) p ON p.doc_id = pd.doc_id WHERE {_DOC_FILTER} ORDER BY d.department, d.year DESC")
        factor = UNIT_FACTOR[plan.unit]
        return self._fetch(sql, [factor, factor, factor, *_doc_params(plan)])

    def _indicator_filter(self, question: str, plan: QueryPlan) -> Answer:
        op = plan.operator or "≥"
        cond = {"≥": "t.value_num >= ?", ">": "t.value_num > ?", "≤": "t.value_num <= ?", "<": "t.value_num < ?",
                "=": "t.value_num = ?"}[op]
        # the indicator's own operator must promise at least as much as asked (≥ 95 asked: ≥/=/> rows qualify)
        op_ok = "t.operator IN ('≥', '=', '>')" if op in ("≥", ">", "=") else "t.operator IN ('≤', '=', '<')"
        sql = ("SELECT d.department, d.year, t.project, t.level3, t.operator, t.value, t.value_num, t.value_unit, "
               "min(t.source) AS source, min(t.page) AS page, min(t.line) AS line, "
               "min(coalesce(t.raw_value, json_extract_string(t.provenance, '$.raw'))) AS raw, min(t.record_id) AS record_id "
               "FROM indicator t JOIN documents d USING (doc_id) "
               f"WHERE t.level3 LIKE '%' || ? || '%' AND {op_ok} AND {cond} AND {_DOC_FILTER} "
               "GROUP BY ALL ORDER BY d.department, d.year, min(t.line)")
        rows = self._fetch(sql, [plan.keyword or "", plan.threshold or 0, *_doc_params(plan)])
        projects = sorted({(r["department"], r["year"], r["project"]) for r in rows}, key=lambda x: (x[0], x[1], x[2] or ""))
        names = "、".join(f"{p or '(未命名)'}({d}{y}年)" for d, y, p in projects)
        text = (f"{plan.keyword or ''}指标{op}{plan.threshold:g}的项目共{len(projects)}个：{names}。" if projects
                else f"没有{plan.keyword or ''}指标{op}{plan.threshold:g}的项目。")
        return self._base(question, plan, text, rows, float(len(projects)), unit="个")

    def _narrative(self, question: str, plan: QueryPlan) -> Answer:
        results, error = search_passages(question, self.data_dir, k=5)
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
                "公用经费、收入总计、支出总计、项目金额、绩效指标）。")
        text += "可以改用全文检索 /search。" if error else f"以下是全文检索的{len(results)}条结果。"
        rows = [r if isinstance(r, dict) else {"text": str(r)} for r in results]
        return Answer(question=question, answer=text, rows=rows, plan=plan, unit=None)


def search_passages(query: str, data_dir: str | Path | None, k: int = 5) -> tuple[list[Any], str | None]:
    """Full-text search through yusuan.index.search when that stage is installed; never raises."""
    try:
        from yusuan.index import search as search_mod
    except Exception as exc:
        return [], f"检索模块未安装（{type(exc).__name__}）"
    fn = getattr(search_mod, "search", None)
    if fn is None:
        return [], "检索模块没有 search 函数"
    try:
        try:
            results = fn(query, data_dir=data_dir, k=k)
        except TypeError:
            results = fn(query, k=k)
    except Exception as exc:
        return [], f"检索失败（{type(exc).__name__}: {exc}）"
    out = []
    for item in list(results or [])[:k]:
        if hasattr(item, "model_dump"):
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
