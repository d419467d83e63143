"""Run a QueryPlan over the fact model (parameterised SQL, arithmetic in SQL) and phrase the answer in Chinese.

Per store version (a cheap aggregate over `documents`: row count and newest `extracted_at` — an upload or a
re-extraction changes it) a StoreView is built once and cached: the question vocabulary and a DuckDB
holding `documents` and the `facts` rows (store/facts.py). Every answer is computed from `facts`: one value per
department and year (the 部门预算 before its 单位预算 unless the question names one, the document's best table before
its narrative), missing is never 0, and the answer names the documents, measure and lines it used and shows its SQL.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import pickle
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:  # the engine itself: duckdb ≥ 2 also builds its Python relational API on import (0.15 s), which no answer uses
    import _duckdb as duckdb
except ImportError:  # duckdb < 2
    import duckdb

from yusuan.vocab import Concept, normalize, thesaurus

from .plan import UNIT_FACTOR, PlainModel, QueryPlan, Target, parse_question
from .vocabulary import Vocabulary

MAX_ROWS = 50  # rows (and evidence) returned with an answer
MAX_NAMED = 20  # items spelled out in the answer sentence
MAX_NOT_COVERED = 50


@dataclass
class Evidence(PlainModel):
    source: str | None = None
    page: int | None = None
    line: int | None = None
    raw: str | None = None
    department: str | None = None
    year: int | None = None
    record_id: str | None = None


@dataclass
class Answer(PlainModel):
    question: str
    answer: str
    value: float | None = None
    unit: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    plan: QueryPlan | None = None
    clarify: bool = False  # the question is ambiguous: `candidates` lists what it may mean
    candidates: list[str] = field(default_factory=list)
    no_data: bool = False  # the store cannot answer (no such department, year or figure)
    used: dict[str, Any] = field(default_factory=dict)  # documents, measure and lines the answer used
    sql: list[str] = field(default_factory=list)  # the queries run (parameters bound separately)
    not_covered: list[dict[str, Any]] = field(default_factory=list)
    not_covered_total: int = 0  # documents in scope without the figure (not_covered lists ≤50)


def fmt(value: float | None, unit: str = "万元") -> str:
    if value is None:
        return "无数据"
    if unit == "元":
        return f"{value:,.2f}元"
    if unit == "亿元":
        return f"{value:.4f}亿元"
    if unit == "%":
        return f"{value:.2f}%"
    return f"{value:.2f}万元"


# ------------------------------------------------------------------------------------------------ store view

_VIEWS: dict[Any, StoreView] = {}
_VIEWS_LOCK = threading.Lock()
_SIGNATURE_SQL = "SELECT count(*), max(extracted_at)::VARCHAR FROM documents"
_DOC_COLUMNS = "doc_id, department, region, level, year, doc_kind, source"
_CACHED_TABLES = ("documents", "facts", "indicators", "sentences")
_CACHE_FORMAT = 3  # bump when the cached tables change shape
CACHE_DIR = "qa-cache"  # beside the database: one folder per store version


def _database_key(con: duckdb.DuckDBPyConnection) -> Any:
    row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    return row[0] if row and row[0] else id(con)


def _code_version() -> str:
    """The cache is only as valid as the code that built it: the fact view's SQL (store/facts.py) and the thesaurus
    it inlines, the vocabulary (aliases), sentence splitting and the plan classes the vocabulary pickles."""
    from importlib.util import find_spec

    import yusuan.vocab

    store = find_spec("yusuan.store")  # where store/facts.py is, without importing the store package
    assert store is not None and store.submodule_search_locations
    vocab, here = Path(yusuan.vocab.__file__), Path(__file__)
    files = (Path(next(iter(store.submodule_search_locations))) / "facts.py", vocab, vocab.with_name("thesaurus.toml"),
             here.with_name("vocabulary.py"), here.with_name("sentences.py"), here.with_name("plan.py"))
    return hashlib.sha256(b"".join(path.read_bytes() for path in files) + str(_CACHE_FORMAT).encode()).hexdigest()[:16]


class StoreView:
    """The vocabulary + a copy of `documents`, `facts`, `indicators` and `sentences` for one store version: built in
    memory, kept as a DuckDB file in the cache folder and opened read-only by later processes."""

    def __init__(self, con: duckdb.DuckDBPyConnection | None, signature: tuple, cache: Path | None = None):
        self.signature = signature
        self.checked = time.monotonic()
        self.lock = threading.Lock()
        folder = cache / self.folder_name(signature) if cache else None
        if folder is not None and (folder / "vocabulary.pickle").exists():
            # a DuckDB file opened read-only reads only the blocks a query touches: no copy at start-up
            self.mem = duckdb.connect(str(folder / "view.duckdb"), read_only=True, config={"threads": 1})
            self.vocabulary = pickle.loads((folder / "vocabulary.pickle").read_bytes())
            self._attach_paraphrase(folder)
            return
        if con is None:
            raise FileNotFoundError(f"no QA cache in {folder}")
        from yusuan.store.facts import facts_sql

        self.mem = duckdb.connect(":memory:", config={"threads": 1})
        sql = facts_sql()
        self._load("documents", con, f"SELECT {_DOC_COLUMNS} FROM documents")
        self._load("facts", con, f"SELECT * FROM ({sql}) ORDER BY department, year, doc_id, preference, line")
        self._load("indicators", con, "SELECT d.department, d.year, d.region, d.doc_kind, t.project, t.level3, t.operator, "
                   "t.value_num, t.value_unit, t.source, t.page, t.line, coalesce(t.raw_value, "
                   "json_extract_string(t.provenance, '$.raw')) AS raw, t.record_id FROM indicator t JOIN documents d "
                   "USING (doc_id) WHERE t.value_num IS NOT NULL ORDER BY d.department, d.year, t.line")
        self._load_sentences(con)
        self.vocabulary = self._build_vocabulary()
        if folder is not None:
            self._save(folder)
        self._attach_paraphrase(folder if folder is not None and folder.is_dir() else None)

    def _attach_paraphrase(self, folder: Path | None) -> None:
        from .semantic import ParaphraseMatcher  # the embedder itself only on a first paraphrase

        self.vocabulary.paraphrase = ParaphraseMatcher(self.vocabulary, folder)

    @staticmethod
    def folder_name(signature: tuple) -> str:
        return hashlib.sha256(repr((signature, _code_version())).encode()).hexdigest()[:16]

    def _save(self, folder: Path) -> None:
        """Keep this version's tables and vocabulary beside the store, so the next `yusuan ask` process starts from
        them; an unwritable data directory just means no cache."""
        partial = f".{os.getpid()}.{threading.get_ident()}"  # processes building the same version at once
        try:
            folder.mkdir(parents=True, exist_ok=True)
            database = folder / f"view.duckdb{partial}"
            quoted = str(database).replace("'", "''")
            self.mem.execute(f"ATTACH '{quoted}' AS cache")
            try:
                for name in _CACHED_TABLES:
                    self.mem.execute(f"CREATE TABLE cache.{name} AS SELECT * FROM {name}")
            finally:
                self.mem.execute("DETACH cache")
            os.replace(database, folder / "view.duckdb")
            vocabulary = folder / f"vocabulary.pickle{partial}"
            vocabulary.write_bytes(pickle.dumps(self.vocabulary))
            os.replace(vocabulary, folder / "vocabulary.pickle")  # last: its presence says the folder is complete
            for old in folder.parent.iterdir():
                if old != folder and old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
        except (OSError, duckdb.Error):
            shutil.rmtree(folder, ignore_errors=True)

    def _load(self, name: str, con: duckdb.DuckDBPyConnection, sql: str) -> None:
        src = con.cursor()
        try:
            data = src.sql(sql).to_arrow_table()
        finally:
            src.close()
        cur = self.mem.cursor()
        try:
            cur.register("incoming", data)
            cur.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming")
            cur.unregister("incoming")
        finally:
            cur.close()

    def _load_sentences(self, con: duckdb.DuckDBPyConnection) -> None:
        import pyarrow as pa

        from .sentences import COLUMNS, document_sentences

        cur = self.mem.cursor()
        try:
            columns = list(zip(*document_sentences(con), strict=True)) or [[] for _ in COLUMNS]
            types = (pa.string(), pa.int32(), pa.int32(), pa.int32(), pa.int32(), pa.string())
            incoming = pa.table({name: pa.array(values, type) for name, values, type in zip(COLUMNS, columns, types, strict=True)})
            cur.register("incoming", incoming)
            cur.execute("CREATE TABLE sentences AS SELECT d.department, d.region, d.year, d.doc_kind, d.source, s.* "
                        "FROM incoming s JOIN documents d USING (doc_id) ORDER BY s.doc_id, s.paragraph, s.position")
            cur.unregister("incoming")
        finally:
            cur.close()

    def _build_vocabulary(self) -> Vocabulary:
        cur = self.mem.cursor()
        try:
            departments = dict(cur.execute("SELECT department, any_value(region) FROM documents WHERE department IS NOT NULL "
                                           "GROUP BY department").fetchall())
            regions = [r for (r,) in cur.execute("SELECT DISTINCT region FROM documents WHERE region IS NOT NULL").fetchall()]
            years = sorted(y for (y,) in cur.execute("SELECT DISTINCT year FROM documents WHERE year IS NOT NULL").fetchall())
            names: dict[str, dict[str, str]] = {"line": {}, "project": {}, "subject": {}}
            levels: dict[str, set[str]] = {}
            rows = cur.execute(
                "SELECT DISTINCT CASE WHEN record_kind = 'project' THEN 'project' WHEN record_kind = 'fact' THEN 'subject' "
                "ELSE 'line' END AS kind, name, line_level FROM facts WHERE name IS NOT NULL AND concept IS NULL "
                "AND record_kind <> 'sangong' AND (line_level IS NULL OR line_level <> '合计')").fetchall()
        finally:
            cur.close()
        from yusuan.vocab import normalize

        for kind, name, level in rows:
            key = normalize(name)
            if len(key) < (4 if kind == "project" else 3 if kind == "subject" else 2) or name == "资金总额":
                continue
            names[kind].setdefault(key, name)
            if kind == "line" and level:
                levels.setdefault(name, set()).add(level)
        return Vocabulary(departments=departments, regions=regions, years=years, names=names, line_levels=levels)


@atexit.register
def _close_views() -> None:
    with _VIEWS_LOCK:
        for view in _VIEWS.values():
            view.mem.close()
        _VIEWS.clear()


def _cache_dir(con: duckdb.DuckDBPyConnection) -> Path | None:
    key = _database_key(con)
    return Path(key).parent / CACHE_DIR if isinstance(key, str) else None


def _store_state(database: Path) -> list[int] | None:
    """Size and mtime of the database file and of its write-ahead log: every committed write changes one of them
    (DuckDB writes the log, then checkpoints into the file). None without a database."""
    state = []
    for path in (database, database.with_name(database.name + ".wal")):
        try:
            stat = path.stat()
        except FileNotFoundError:
            if path == database:
                return None
            state += [-1, -1]
        else:
            state += [stat.st_size, stat.st_mtime_ns]
    return state


_LAST_SEEN = "last-seen.json"  # in the cache dir: the store state and signature the newest view was read under


def _remember(database: Path, signature: tuple) -> None:
    """Record, while the store is locked for reading, which signature its current state has: a later process that
    finds the same state opens that version's cache without opening the store (:func:`_unchanged_view`)."""
    state = _store_state(database)
    if state is None:
        return
    target = database.parent / CACHE_DIR / _LAST_SEEN
    partial = target.with_name(f"{_LAST_SEEN}.{os.getpid()}.{threading.get_ident()}")
    try:
        partial.write_text(json.dumps({"state": state, "signature": list(signature)}), encoding="utf-8")
        os.replace(partial, target)
    except OSError:
        partial.unlink(missing_ok=True)


def _unchanged_view(database: Path) -> StoreView | None:
    """The cached StoreView of the store, when nothing was written to it since a process last read it (same database
    and WAL files) and that version's cache is there; else None. Opens neither the store nor its lock, so a process
    that answers from it never imports the store package (or duckdb's Python layer)."""
    cache = database.parent / CACHE_DIR
    try:
        seen = json.loads((cache / _LAST_SEEN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(seen, dict) or seen.get("state") != _store_state(database) or not isinstance(seen.get("signature"), list):
        return None
    try:
        return StoreView(None, tuple(seen["signature"]), cache)
    except (FileNotFoundError, duckdb.Error):
        return None


def store_view(con: duckdb.DuckDBPyConnection, key: Any = None, max_age: float = 0.0) -> StoreView:
    """The current StoreView of the store behind `con`, rebuilt only when its documents changed (read every call
    unless checked less than `max_age` seconds ago, for a caller that invalidates after writing, like the API)."""
    key = key if key is not None else _database_key(con)
    view = _VIEWS.get(key)
    if view is not None and max_age and time.monotonic() - view.checked < max_age:
        return view
    signature = tuple(con.execute(_SIGNATURE_SQL).fetchone())
    if view is not None and view.signature == signature:
        view.checked = time.monotonic()
        return view
    with _VIEWS_LOCK:
        view = _VIEWS.get(key)
        if view is None or view.signature != signature:
            cache = _cache_dir(con)
            view = StoreView(con, signature, cache)
            if cache is not None:
                _remember(Path(_database_key(con)), signature)
            _VIEWS[key] = view
        return view


def invalidate_view(key: Any) -> None:
    view = _VIEWS.get(key)
    if view is not None:
        view.checked = 0.0


# ------------------------------------------------------------------------------------------------ SQL fragments
# Constant SQL only: every value from the plan is a bound parameter.

_VALUE_COLUMNS = ("f.department, f.year, f.region, f.doc_kind, f.doc_id, f.value, f.measure, f.record_kind, f.table_kind, "
                  "f.name, f.code, f.unit_name, f.source, f.page, f.line, f.raw, f.record_id, f.sentence")
# one department = one answer: 部门预算 before 单位预算 before other budget documents; 决算 documents last unless asked
_DOC_RANK = ("CASE WHEN f.doc_kind = '部门预算' THEN 0 WHEN f.doc_kind = '单位预算' THEN 1 "
             "WHEN f.doc_kind LIKE '%决算%' THEN 3 ELSE 2 END")
_DOC_RANK_FINAL = "CASE WHEN f.doc_kind LIKE '%决算%' THEN 0 ELSE 1 END"
_PARTIAL_TABLES = ("CASE WHEN f.record_kind = 'econ_line' AND f.table_kind IN ('基本支出表', '财政拨款基本支出表', "
                   "'机关运行经费表') THEN 1 ELSE 0 END")
_FIGURE = "f.unit = '万元' AND f.field NOT IN ('prior', 'change', 'change_pct')"


def target_condition(target: Target) -> tuple[str, list[Any]]:
    """Rows of the fact model that are the target's figure."""
    if target.kind == "concept":
        # 收支总计 = 收入总计 = 支出总计 (a 收支总表 balances): a document printing only one of them still answers
        concept = _concept(target.key)
        keys = [target.key, *(concept.same_as if concept else ())]
        return ("list_contains(?::VARCHAR[], f.concept) AND (f.record_kind <> 'sangong' OR f.line_level = '合计') "
                "AND f.preference < 100", [keys])
    if target.kind == "project":
        if target.key == "*":
            return "f.record_kind = 'project' AND f.field = 'amount' AND f.name <> '资金总额'", []
        return "f.record_kind = 'project' AND f.field = 'amount' AND f.name = ?", [target.key]
    if target.kind == "subject":
        return "f.record_kind = 'fact' AND f.field = 'value' AND f.name = ?", [target.key]
    # the text states the item's whole as "<line>预算支出…" (培训费预算支出1701.25万元)
    where = ("(f.name = ? OR (f.record_kind = 'fact' AND starts_with(f.name, ?) "
             "AND regexp_full_match(substr(f.name, length(?) + 1), '(预算)?(支出)?(预算)?数?'))) "
             "AND f.record_kind IN ('function_line', 'econ_line', 'budget_total', 'fact') "
             "AND f.field IN ('total', 'amount', 'value') AND (f.line_level IS NULL OR f.line_level <> '合计')")
    params: list[Any] = [target.key, target.key, target.key]
    if target.parent:
        where += (" AND EXISTS (SELECT 1 FROM facts p WHERE p.doc_id = f.doc_id AND p.name = ? "
                  "AND p.code IN (f.class_code, f.kuan_code))")
        params.append(target.parent)
    return where, params


def scope_condition(plan: QueryPlan, years: list[int] | None = None) -> tuple[str, list[Any]]:
    parts, params = ["TRUE"], []
    if plan.departments:
        parts.append("list_contains(?::VARCHAR[], f.department)")
        params.append(plan.departments)
    if plan.regions:
        parts.append("list_contains(?::VARCHAR[], f.region)")
        params.append(plan.regions)
    years = plan.years if years is None else years
    if years:
        parts.append("list_contains(?::INTEGER[], f.year::INTEGER)")
        params.append(years)
    if plan.doc_kind:
        parts.append("f.doc_kind = ?")
        params.append(plan.doc_kind)
    return " AND ".join(parts), params


def _names(items: list[str], total: int | None = None, sep: str = "；") -> str:
    total = len(items) if total is None else total
    return sep.join(items[:MAX_NAMED]) + (f"……等共{total}项" if total > MAX_NAMED else "")


def _who(row: dict[str, Any]) -> str:
    who = f"{row['department']}{row['year']}年" if row.get("year") else str(row["department"])
    return who


def _doc_label(row: dict[str, Any]) -> str:
    where = row.get("doc_kind") or ""
    if row.get("table_kind"):
        where += f"，{row['table_kind'] if row['table_kind'] != 'narrative' else '说明文字'}"
    if row.get("page"):
        where += f" p.{row['page']}"
    return where


_COMPARATORS = {">": ">", "≥": ">=", "<": "<", "≤": "<=", "=": "="}


class Engine:
    """Answers questions over one store connection (see the module docstring)."""

    def __init__(self, con: duckdb.DuckDBPyConnection | None, data_dir: str | Path | None = None, key: Any = None,
                 view: StoreView | None = None):
        self.con = con
        self.data_dir = data_dir
        self.key = key
        self.view = view
        self.db: duckdb.DuckDBPyConnection | None = None
        self.sql: list[str] = []

    # -------------------------------------------------------------------------------------------- public
    def ask(self, question: str, use_llm: bool = True) -> Answer:
        opened = self._open()
        try:
            assert self.view
            plan = parse_question(question, self.view.vocabulary)
            if plan.intent == "unknown" and use_llm and os.environ.get("YUSUAN_LLM_BASE_URL"):
                from .llm import plan_with_llm

                llm_plan = plan_with_llm(question, self.view.vocabulary)
                if llm_plan is not None:
                    plan = llm_plan
            return self.run(question, plan)
        finally:
            if opened:
                self._close()

    def run(self, question: str, plan: QueryPlan) -> Answer:
        opened = self._open()
        self.sql = []
        try:
            answer = self._dispatch(question, plan)
        finally:
            if opened:
                self._close()
        if plan.notes:
            answer.answer += "（" + "；".join(plan.notes) + "）"
        answer.sql = list(self.sql)
        return answer

    def _dispatch(self, question: str, plan: QueryPlan) -> Answer:
        if plan.candidates and not plan.departments:
            names = "、".join(plan.candidates[:MAX_NAMED])
            mention = "、".join(f"“{m}”" for m in plan.department_mentions)
            return Answer(question=question, plan=plan, clarify=True, candidates=plan.candidates,
                          answer=f"{mention}可能指{len(plan.candidates)}个部门：{names}。请指明是哪一个。")
        if plan.unknown_departments and not plan.departments:
            names = "、".join(f"“{m}”" for m in plan.unknown_departments)
            return Answer(question=question, plan=plan, no_data=True, answer=f"库中没有{names}这个部门的文档，无法回答。")
        if plan.unknown_departments and plan.intent == "compare":
            names = "、".join(f"“{m}”" for m in plan.unknown_departments)
            return Answer(question=question, plan=plan, no_data=True, answer=f"库中没有{names}的文档，无法比较。")
        if plan.intent == "why":
            return self._why(question, plan)
        if plan.intent == "unknown" or (plan.target is None and plan.items != "indicator"):
            return self._unknown(question, plan)
        if plan.recent:
            plan = self._recent_years(plan)
        missing = self._missing_scope(plan)
        if missing:
            return Answer(question=question, plan=plan, no_data=True, answer=missing)
        handler = getattr(self, f"_{plan.intent}")
        return handler(question, plan)

    def _open(self) -> bool:
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

    # -------------------------------------------------------------------------------------------- queries
    def _fetch(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        assert self.db
        self.sql.append(sql)
        cur = self.db.execute(sql, params)
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def _missing_scope(self, plan: QueryPlan) -> str | None:
        """Why the plan's scope holds no document, in words ("没有…2030年的文档"), or None."""
        where, params = scope_condition(plan)
        if self._fetch(f"SELECT 1 FROM documents f WHERE {where} LIMIT 1", params):
            return None
        who = "、".join(plan.departments) or "、".join(plan.regions) or "库中"
        years = "、".join(str(y) for y in plan.years)
        if plan.years:
            no_years, np = scope_condition(plan.model_copy(update={"years": []}))
            have = sorted({r["year"] for r in self._fetch(f"SELECT DISTINCT year FROM documents f WHERE {no_years}", np)
                           if r["year"]})
            known = f"（库中{who}的文档年份：{'、'.join(map(str, have))}）" if have else ""
            return f"没有{who}{years}年的文档{known}，无法回答。"
        return f"没有{who}{plan.doc_kind or ''}的文档，无法回答。"

    def _recent_years(self, plan: QueryPlan) -> QueryPlan:
        """近N年 is the newest N years of the documents in scope (a department's own years, not the store's)."""
        where, params = scope_condition(plan.model_copy(update={"years": []}))
        finals = "TRUE" if plan.measure == "决算数" or plan.intent == "execution" else "coalesce(f.doc_kind, '') NOT LIKE '%决算%'"
        have = [r["year"] for r in self._fetch(f"SELECT DISTINCT f.year FROM documents f WHERE {where} AND {finals} "
                                               "AND f.year IS NOT NULL ORDER BY f.year DESC", params)]
        return plan.model_copy(update={"years": sorted(have[:plan.recent])}) if have else plan

    def values(self, plan: QueryPlan, target: Target | None = None, measure: str | None = None,
               years: list[int] | None = None, final_docs: bool = False) -> list[dict[str, Any]]:
        """One row per department and year: the target's figure from the preferred document and table."""
        target = target or plan.target
        assert target
        t_where, t_params = target_condition(target)
        s_where, s_params = scope_condition(plan, years)
        measure = measure or plan.measure
        # a 决算's narrative states 决算 figures (its facts carry no measure column)
        m_where = ("(f.measure = '决算数' OR (f.record_kind = 'fact' AND f.doc_kind LIKE '%决算%'))" if measure == "决算数"
                   else "f.measure IS DISTINCT FROM '决算数' AND coalesce(f.measure, '') NOT LIKE '上年%'")
        doc_rank = _DOC_RANK_FINAL if measure == "决算数" or final_docs else _DOC_RANK
        d_where = "f.doc_kind LIKE '%决算%'" if final_docs else "TRUE"
        # an 经济分类 line of a 基本支出 / 机关运行经费 table is only its basic part: the text's whole comes first
        partial = (_PARTIAL_TABLES if target.kind == "line" else "0")
        sql = (f"SELECT {_VALUE_COLUMNS}, count(*) OVER () AS n_total FROM facts f WHERE {t_where} AND {s_where} "
               f"AND {_FIGURE} AND {m_where} AND {d_where} QUALIFY row_number() OVER (PARTITION BY f.department, f.year "
               f"ORDER BY {doc_rank}, {partial}, f.preference, f.line, f.concept IS DISTINCT FROM ?, f.page, f.record_id) = 1 "
               "ORDER BY f.value DESC, f.department, f.year")
        # ties (收入总计 and 支出总计 print one figure): the line the question named, then the page and record
        rows = self._fetch(sql, [*t_params, *s_params, target.key])
        factor = UNIT_FACTOR[plan.unit]
        for row in rows:
            row["value"] = row["value"] * factor
        if measure == "决算数":
            rows += self._stated_finals(plan.model_copy(update={"target": target, "years": years or plan.years}), rows)
        return rows

    def _stated_finals(self, plan: QueryPlan, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """决算数 the text states (…支出决算为0.00万元) for 决算 documents in scope whose tables have no such figure: a
        blank table the text reports as 0 is 0, with the sentence as evidence."""
        from .sentences import execution_statements, stated_none

        assert plan.target
        have = {(r["department"], r["year"]) for r in found}
        words = _target_words(plan.target)
        parent = [normalize(plan.target.parent)] if plan.target.parent else []
        by_doc: dict[str, list[dict[str, Any]]] = {}
        for row in self._sentences(plan, final_docs=True):
            if (row["department"], row["year"]) not in have:
                by_doc.setdefault(row["doc_id"], []).append(row)
        rows = []
        for sentences in by_doc.values():
            stated = execution_statements(sentences, words, parent) if words else []
            if stated:
                s, final = stated[0], stated[0]["final"]
            elif words and (none := stated_none(sentences, words)) is not None:
                s, final = none, 0.0
            else:
                continue
            rows.append({**s, "value": final * UNIT_FACTOR[plan.unit], "measure": "决算数", "record_kind": "fact",
                         "table_kind": "narrative", "name": plan.target.label, "raw": s["text"], "record_id": None})
        return rows

    def project_rows(self, plan: QueryPlan) -> list[dict[str, Any]]:
        """Projects in scope (one row per document and project name, the preferred table's amount)."""
        s_where, s_params = scope_condition(plan)
        sql = (f"SELECT {_VALUE_COLUMNS} FROM facts f WHERE f.record_kind = 'project' AND f.field = 'amount' "
               f"AND f.name <> '资金总额' AND f.unit = '万元' AND {s_where} "
               f"QUALIFY row_number() OVER (PARTITION BY f.department, f.year, f.name ORDER BY f.preference, f.line) = 1 "
               "AND dense_rank() OVER (PARTITION BY f.department, f.year ORDER BY " + _DOC_RANK + ") = 1 "
               "ORDER BY f.value DESC, f.department, f.year, f.line")
        rows = self._fetch(sql, s_params)
        for row in rows:
            row["value"] *= UNIT_FACTOR[plan.unit]
        return rows

    def not_covered(self, plan: QueryPlan, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
        """Budget documents in scope whose department and year have no figure (never counted as 0)."""
        where, params = scope_condition(plan)
        covered = sorted({f"{r['department']}\x00{r['year']}" for r in rows})
        sql = (f"SELECT f.department, f.year, f.source, f.doc_kind FROM documents f WHERE {where} "
               "AND f.department IS NOT NULL AND NOT list_contains(?::VARCHAR[], f.department || chr(0) || f.year::VARCHAR) "
               "AND coalesce(f.doc_kind, '') NOT LIKE '%决算%' ORDER BY f.department, f.year, f.source")
        found = self._fetch(sql, [*params, covered])
        return found[:MAX_NOT_COVERED], len(found)

    # -------------------------------------------------------------------------------------------- answers
    def _answer(self, question: str, plan: QueryPlan, text: str, rows: list[dict[str, Any]], value: float | None = None,
                unit: str | None = None, nc: tuple[list[dict[str, Any]], int] | None = None,
                no_data: bool = False) -> Answer:
        for row in rows:
            row.pop("n_total", None)
        nc_rows, nc_total = nc or ([], 0)
        if nc_total:
            names = _names([f"{r['department']}({r['year']}年, {Path(str(r['source'])).name})" for r in nc_rows], nc_total, "、")
            text += f"以下{nc_total}份文档没有{plan.label()}数据（不计为0）：{names}。"
        used = {
            "documents": sorted({str(r["source"]) for r in rows if r.get("source")})[:MAX_ROWS],
            "measure": sorted({str(r["measure"]) for r in rows if r.get("measure")}),
            "lines": sorted({f"{r.get('table_kind') or ''}:{r.get('name') or ''}" for r in rows})[:MAX_ROWS],
        }
        evidence = [Evidence(source=r.get("source"), page=r.get("page"), line=r.get("line"), raw=r.get("raw"),
                             department=r.get("department"), year=r.get("year"), record_id=r.get("record_id"))
                    for r in rows[:MAX_ROWS]]
        return Answer(question=question, answer=text, value=value, unit=unit or plan.unit, rows=rows[:MAX_ROWS],
                      evidence=evidence, plan=plan, used=used, no_data=no_data or (value is None and not rows),
                      not_covered=nc_rows, not_covered_total=nc_total)

    def _nothing(self, question: str, plan: QueryPlan, what: str | None = None) -> Answer:
        scope = "、".join(plan.departments) or "、".join(plan.regions) or "所选范围"
        years = "、".join(map(str, plan.years))
        text = f"没有找到{scope}{years}{'年' if years else ''}的{what or plan.label()}数据。"
        return self._answer(question, plan, text, [], no_data=True)

    def _latest_per_department(self, plan: QueryPlan, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
        """Without a year asked, one year per department: the newest (the others are named)."""
        if plan.years or len({r["year"] for r in rows}) < 2:
            return rows, ""
        newest: dict[str, dict[str, Any]] = {}
        for row in rows:
            if row["department"] not in newest or (row["year"] or 0) > (newest[row["department"]]["year"] or 0):
                newest[row["department"]] = row
        others = sorted({r["year"] for r in rows} - {r["year"] for r in newest.values()})
        note = f"（未指明年份，用最新年份；库中另有{'、'.join(map(str, others))}年）" if others else ""
        return sorted(newest.values(), key=lambda r: -r["value"]), note

    def _lookup(self, question: str, plan: QueryPlan) -> Answer:
        if plan.items == "indicator":
            return self._indicator_value(question, plan)
        if plan.items == "project":
            return self._list(question, plan)
        rows = self.values(plan)
        if not rows:
            return self._nothing(question, plan)
        rows, note = self._latest_per_department(plan, rows)
        label = plan.label()
        if len(rows) == 1:
            r = rows[0]
            text = f"{_who(r)}{label}为{fmt(r['value'], plan.unit)}（{_doc_label(r)}，{r['measure']}）。{note}"
            return self._answer(question, plan, text, rows, r["value"], nc=self.not_covered(plan, rows))
        parts = _names([f"{_who(r)}{fmt(r['value'], plan.unit)}" for r in rows])
        return self._answer(question, plan, f"有{len(rows)}个部门/年度符合条件，{label}分别为：{parts}。{note}", rows,
                            nc=self.not_covered(plan, rows))

    def _series(self, question: str, plan: QueryPlan) -> Answer:
        rows = sorted(self.values(plan), key=lambda r: (r["department"], r["year"] or 0))
        if not rows:
            return self._nothing(question, plan)
        parts = _names([f"{r['year']}年{fmt(r['value'], plan.unit)}" + (f"（{r['department']}）" if len(plan.departments) != 1 else "")
                        for r in rows])
        head = f"{plan.departments[0]}" if len(plan.departments) == 1 else ""
        missing = sorted(set(plan.years) - {r["year"] for r in rows})
        gap = f"（{'、'.join(map(str, missing))}年没有数据）" if missing else ""
        return self._answer(question, plan, f"{head}{plan.label()}：{parts}。{gap}", rows,
                            rows[-1]["value"] if len(rows) == 1 else None, no_data=bool(missing))

    def _two_years(self, plan: QueryPlan) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str]:
        """(later, earlier, how) for change/growth of one department: two asked years, or the year asked (or the newest)
        against the year before; a document's own stated change wins over subtracting two documents."""
        if len(plan.years) >= 2:
            rows = {r["year"]: r for r in self.values(plan, years=[min(plan.years), max(plan.years)])}
            return rows.get(max(plan.years)), rows.get(min(plan.years)), "documents"
        current = self.values(plan)
        current, _ = self._latest_per_department(plan, current)
        if not current:
            return None, None, ""
        later = current[0]
        stated = self._stated_change(plan, later)
        if stated:
            return later, stated, "stated"
        earlier = self.values(plan, years=[later["year"] - 1]) if later["year"] else []
        return later, (earlier[0] if earlier else None), "documents"

    def _stated_change(self, plan: QueryPlan, later: dict[str, Any]) -> dict[str, Any] | None:
        """The change the document states for the target (比上年增加/减少…), as an 'earlier' row (value = prior)."""
        assert plan.target
        if plan.target.kind == "concept":
            t_where, t_params = "f.concept = ?", [plan.target.key]
        else:  # a 科目 or subject named inside the sentence's subject: 会议费 → 会议费预算支出
            t_where, t_params = "contains(f.name, ?)", [plan.target.key]
        sql = (f"SELECT f.field, f.value, f.sentence, f.source, f.page, f.line, f.record_id FROM facts f WHERE {t_where} "
               "AND f.record_kind = 'fact' AND f.doc_id = ? AND f.field IN ('change', 'change_pct', 'value') "
               "AND f.record_id IN (SELECT record_id FROM facts WHERE field = 'change') ORDER BY f.line")
        rows = self._fetch(sql, [*t_params, later["doc_id"]])
        change = next((r for r in rows if r["field"] == "change"), None)
        if change is None:
            return None
        pct = next((r["value"] for r in rows if r["field"] == "change_pct" and r["record_id"] == change["record_id"]), None)
        factor = UNIT_FACTOR[plan.unit]
        return {**later, "value": later["value"] - change["value"] * factor, "year": (later["year"] or 0) - 1,
                "stated_change": change["value"] * factor, "stated_pct": pct, "raw": change["sentence"],
                "line": change["line"], "page": change["page"], "record_id": change["record_id"]}

    def _change(self, question: str, plan: QueryPlan, growth: bool = False) -> Answer:
        if len(plan.departments) > 1 or (not plan.departments and len(plan.years) < 2):
            return self._change_many(question, plan, growth)
        later, earlier, how = self._two_years(plan)
        label = plan.label()
        if later is None or earlier is None:
            have = later or earlier
            text = (f"只找到{_who(have)}{label}{fmt(have['value'], plan.unit)}，没有可比的另一年度数据，无法计算变化。" if have
                    else f"没有找到{label}的两个年度数据。")
            return self._answer(question, plan, text, [r for r in (later, earlier) if r], no_data=True)
        diff = earlier.get("stated_change", later["value"] - earlier["value"])
        pct = earlier.get("stated_pct")
        if pct is None and earlier["value"]:
            pct = diff / earlier["value"] * 100
        verb = "增加" if diff >= 0 else "减少"
        pct_text = f"，{'增长' if diff >= 0 else '下降'}{abs(pct):.{1 if how == 'stated' else 2}f}%" if pct is not None else ""
        base = "上年" if how == "stated" else f"{earlier['year']}年"
        text = (f"{_who(later)}{label}{fmt(later['value'], plan.unit)}，{base}{fmt(earlier['value'], plan.unit)}，"
                f"比{base}{verb}{fmt(abs(diff), plan.unit)}{pct_text}。")
        if how == "stated":
            text += f"（文档原文：{earlier['raw']}）"
        rows = [earlier, later] if how == "stated" else [later, earlier]  # the document's sentence first
        if growth:
            return self._answer(question, plan, text, rows, round(pct, 4) if pct is not None else None, unit="%")
        return self._answer(question, plan, text, rows, diff)

    def _change_many(self, question: str, plan: QueryPlan, growth: bool) -> Answer:
        parts, rows = [], []
        for department in plan.departments or sorted({r["department"] for r in self.values(plan)}):
            sub = plan.model_copy(update={"departments": [department]})
            later, earlier, _ = self._two_years(sub)
            if later and earlier:
                diff = earlier.get("stated_change", later["value"] - earlier["value"])
                parts.append(f"{department}{'增加' if diff >= 0 else '减少'}{fmt(abs(diff), plan.unit)}")
                rows += [later, earlier]
        if not rows:
            return self._nothing(question, plan)
        return self._answer(question, plan, f"{plan.label()}变化：{_names(parts)}。", rows)

    def _growth(self, question: str, plan: QueryPlan) -> Answer:
        return self._change(question, plan, growth=True)

    def _aggregate(self, question: str, plan: QueryPlan, how: str) -> Answer:
        rows = self.project_rows(plan) if plan.items == "project" else self.values(plan)
        if not plan.years and plan.items != "project" and not plan.departments:
            rows, _ = self._latest_per_department(plan, rows)
        if not rows:
            return self._nothing(question, plan)
        import statistics  # fractions and decimal: not for every question

        values = [r["value"] for r in rows]
        result = {"合计": sum(values), "平均": statistics.fmean(values), "中位数": statistics.median(values)}[how]
        label = plan.label()
        parts = _names([f"{_who(r)}{'“' + r['name'] + '”' if plan.items == 'project' else ''}{fmt(r['value'], plan.unit)}"
                        for r in rows])
        text = f"{len(rows)}项{label}的{how}为{fmt(result, plan.unit)}（{parts}）。"
        nc = self.not_covered(plan, rows) if plan.items != "project" else None
        return self._answer(question, plan, text, rows, result, nc=nc)

    def _sum(self, question: str, plan: QueryPlan) -> Answer:
        return self._aggregate(question, plan, "合计")

    def _average(self, question: str, plan: QueryPlan) -> Answer:
        return self._aggregate(question, plan, "平均")

    def _median(self, question: str, plan: QueryPlan) -> Answer:
        return self._aggregate(question, plan, "中位数")

    def _changed(self, plan: QueryPlan) -> list[dict[str, Any]]:
        """Departments whose figure rose (fell) from the earlier to the later year asked; value = the change."""
        earlier_year, later_year = min(plan.years), max(plan.years)
        earlier = {r["department"]: r for r in self.values(plan, years=[earlier_year])}
        rows = []
        for r in self.values(plan, years=[later_year]):
            before = earlier.get(r["department"])
            if before is not None:
                diff = r["value"] - before["value"]
                if (diff < 0) if plan.change == "decrease" else (diff > 0):
                    rows.append({**r, "value": diff, "earlier": before["value"], "later": r["value"]})
        return rows

    def _items(self, plan: QueryPlan) -> list[dict[str, Any]]:
        if plan.change and len(plan.years) == 2:
            return self._changed(plan)
        if plan.share_condition and plan.operator is not None and plan.threshold is not None:
            rows, _ = self._latest_per_department(plan, self._shares(plan)[0])
            return [r for r in rows if _holds(r["value"], plan.operator, plan.threshold)]
        rows = self.project_rows(plan) if plan.items == "project" else self.values(plan)
        if plan.items != "project" and not plan.years:
            rows, _ = self._latest_per_department(plan, rows)
        if plan.operator is not None and plan.threshold is not None:
            op = plan.operator
            rows = [r for r in rows if _holds(r["value"], op, plan.threshold)]
        return rows

    def _count(self, question: str, plan: QueryPlan) -> Answer:
        rows = self._items(plan)
        label = plan.label()
        if plan.items == "project" and plan.operator is None:
            per_doc: dict[tuple, int] = {}
            for r in rows:
                per_doc[(r["department"], r["year"])] = per_doc.get((r["department"], r["year"]), 0) + 1
            if len(per_doc) == 1:
                (department, year), n = next(iter(per_doc.items()))
                return self._answer(question, plan, f"{department}{year}年共有{n}个项目。", rows, float(n), unit="个")
            parts = _names([f"{d}{y}年{n}个" for (d, y), n in per_doc.items()])
            return self._answer(question, plan, f"有{len(per_doc)}份文档有项目，分别为：{parts}。", rows, None, unit="个")
        cond = (f"{label}占比{plan.operator}{plan.threshold:g}%" if plan.share_condition
                else f"{label}{plan.operator}{fmt(plan.threshold, plan.unit)}" if plan.operator
                else f"{max(plan.years)}年{label}比{min(plan.years)}年{'减少' if plan.change == 'decrease' else '增加'}"
                if plan.change else f"有{label}数据")
        names = _names([f"{_who(r)}{'“' + r['name'] + '”' if plan.items == 'project' else ''}" for r in rows], sep="、")
        over_years = plan.items != "project" and len(plan.departments) == 1 and len(plan.years) != 1
        count = len(rows) if plan.items == "project" or over_years else len({r["department"] for r in rows})
        noun = "项目" if plan.items == "project" else "年度" if over_years else "部门"
        text = f"{cond}的{noun}共{count}个：{names}。" if rows else f"没有{cond}的{noun}。"
        return self._answer(question, plan, text, rows, float(count), unit="个")

    def _list(self, question: str, plan: QueryPlan) -> Answer:
        if plan.items == "indicator":
            return self._indicators(question, plan)
        rows = self._items(plan)
        label = plan.label()
        if not rows:
            return self._nothing(question, plan)
        parts = _names([f"{_who(r)}{'“' + r['name'] + '”' if plan.items == 'project' else ''}{fmt(r['value'], plan.unit)}"
                        for r in rows])
        cond = f"（{plan.operator}{fmt(plan.threshold, plan.unit)}）" if plan.operator else ""
        text = f"{label}{cond}共{len(rows)}项：{parts}。"
        value = rows[0]["value"] if len(rows) == 1 else None
        nc = self.not_covered(plan, rows) if plan.items != "project" and not plan.operator else None
        return self._answer(question, plan, text, rows, value, nc=nc)

    def _indicators(self, question: str, plan: QueryPlan) -> Answer:
        """Projects with a 绩效指标 whose 三级指标 contains the keyword and whose target meets the condition (the
        indicator's own operator must promise at least as much: ≥ 95 asked → ≥ / = / > targets)."""
        op = plan.operator or "≥"
        promise = "('≥', '=', '>')" if op in ("≥", ">", "=") else "('≤', '=', '<')"
        s_where, s_params = scope_condition(plan)
        sql = (f"SELECT f.department, f.year, f.project, f.project AS name, f.level3, f.operator, f.value_num, "
               f"f.value_num AS value, f.source, "
               f"f.page, f.line, f.raw, f.record_id FROM indicators f WHERE f.level3 LIKE '%' || ? || '%' "
               f"AND f.operator IN {promise} AND f.value_num {_COMPARATORS[op]} ? AND {s_where} ORDER BY f.department, f.year, f.line")
        rows = self._fetch(sql, [plan.keyword or "", plan.threshold or 0, *s_params])
        projects = list(dict.fromkeys(f"{r['name'] or '(未命名)'}({r['department']}{r['year']}年)" for r in rows))
        text = (f"{plan.keyword}指标{op}{plan.threshold:g}的项目共{len(projects)}个：{_names(projects, sep='、')}。" if rows
                else f"没有{plan.keyword}指标{op}{plan.threshold:g}的项目。")
        return self._answer(question, plan, text, rows, float(len(projects)), unit="个")

    def _indicator_value(self, question: str, plan: QueryPlan) -> Answer:
        """A 绩效指标's target value: the indicator of the project (when named) whose 三级指标 is closest to the words
        asked (rapidfuzz), from the documents in scope, newest year first."""
        from rapidfuzz import fuzz

        s_where, s_params = scope_condition(plan)
        p_where, p_params = ("f.project = ?", [plan.target.key]) if plan.target and plan.target.kind == "project" else ("TRUE", [])
        sql = (f"SELECT f.department, f.year, f.doc_kind, f.project, f.project AS name, f.level3, f.operator, f.value_num, "
               f"f.value_num AS value, f.value_unit, f.source, f.page, f.line, f.raw, f.record_id FROM indicators f "
               f"WHERE {p_where} AND {s_where} ORDER BY f.year DESC, f.department, f.line")
        rows = self._fetch(sql, [*p_params, *s_params])
        keyword = normalize(plan.keyword or "")
        scored = [(fuzz.ratio(keyword, normalize(r["level3"] or "")) if p_where != "TRUE"
                   else fuzz.partial_ratio(normalize((r["project"] or "") + (r["level3"] or "")), keyword), r) for r in rows]
        scored = [(score, r) for score, r in scored if score >= 60]
        if not keyword or not scored:
            return self._nothing(question, plan, f"{plan.keyword or ''}指标")
        best = max(scored, key=lambda sr: sr[0])[1]
        unit = best["value_unit"] or ""
        answer_unit = unit if unit in ("%", "万元", "元", "亿元") else "个"
        operator = best["operator"] if best["operator"] not in (None, "=") else ""
        text = (f"{_who(best)}“{best['project'] or ''}”的绩效指标“{best['level3']}”指标值为{operator}{best['value_num']:g}{unit}"
                f"（{_doc_label(best)}：{best['raw']}）。")
        return self._answer(question, plan, text, [best], best["value_num"], unit=answer_unit)

    def _rank(self, question: str, plan: QueryPlan) -> Answer:
        rows = self._items(plan)
        if not rows:
            return self._nothing(question, plan)
        rows.sort(key=lambda r: r["value"], reverse=plan.order == "desc")
        k = plan.k or 1
        word = "最低" if plan.order == "asc" else "最高"
        label = plan.label() if plan.items != "project" else "项目金额"
        name = (lambda r: f"{_who(r)}“{r['name']}”") if plan.items == "project" else _who
        if k == 1:
            r = rows[0]
            text = f"{label}{word}的是{name(r)}，为{fmt(r['value'], plan.unit)}（{_doc_label(r)}）。"
        else:
            text = f"{label}{word}的前{k}名：" + "；".join(f"{i}. {name(r)} {fmt(r['value'], plan.unit)}"
                                                         for i, r in enumerate(rows[:k], 1)) + "。"
        text += f"共比较了{len(rows)}项。"
        nc = self.not_covered(plan, rows) if plan.items != "project" else None
        return self._answer(question, plan, text, rows[:max(k, MAX_ROWS)], rows[0]["value"], nc=nc)

    def _compare(self, question: str, plan: QueryPlan) -> Answer:
        if len(plan.doc_kinds) == 2:
            return self._compare_documents(question, plan)
        label = plan.label()
        if len(plan.departments) < 2 and len(plan.years) >= 2:
            rows = self.values(plan, years=plan.years)
        else:
            rows, _ = self._latest_per_department(plan, self.values(plan))
        missing = [d for d in plan.departments if d not in {r["department"] for r in rows}]
        if len(rows) < 2:
            gap = f"（{'、'.join(missing)}没有{label}数据）" if missing else ""
            return self._answer(question, plan, f"只有{len(rows)}项{label}数据，无法比较{gap}。", rows, no_data=True)
        rows.sort(key=lambda r: r["value"], reverse=True)
        a, b = rows[0], rows[1]
        diff = a["value"] - b["value"]
        text = f"{_who(a)}{label}{fmt(a['value'], plan.unit)}，高于{_who(b)}的{fmt(b['value'], plan.unit)}，相差{fmt(diff, plan.unit)}。"
        if len(rows) > 2:
            text += "另有：" + _names([f"{_who(r)}{fmt(r['value'], plan.unit)}" for r in rows[2:]]) + "。"
        return self._answer(question, plan, text, rows, diff)

    def _compare_documents(self, question: str, plan: QueryPlan) -> Answer:
        """A department's 部门预算 and 单位预算 side by side (the 部门预算 also counts the department's other units):
        each document's figure, the difference; per department, the newest year asked."""
        label = plan.label()
        by_kind = [self._latest_per_department(plan, self.values(plan.model_copy(update={"doc_kind": kind, "doc_kinds": []})))[0]
                   for kind in plan.doc_kinds]
        first, second = ({r["department"]: r for r in rows} for rows in by_kind)
        pairs = [(first[d], second[d]) for d in first if d in second and first[d]["year"] == second[d]["year"]]
        if not pairs:
            have = "、".join(f"{kind}{len(rows)}份" for kind, rows in zip(plan.doc_kinds, by_kind, strict=True))
            return self._answer(question, plan, f"没有同时有{'和'.join(plan.doc_kinds)}{label}数据的部门（{have}），无法比较。",
                                [r for rows in by_kind for r in rows], no_data=True)
        texts = []
        for a, b in pairs:
            diff = a["value"] - b["value"]
            texts.append(f"{_who(a)}{a['doc_kind']}{label}{fmt(a['value'], plan.unit)}（{_doc_label(a)}），{b['doc_kind']}"
                         f"{fmt(b['value'], plan.unit)}（{_doc_label(b)}），相差{fmt(abs(diff), plan.unit)}")
        rows = [r for pair in pairs for r in pair]
        value = round(abs(pairs[0][0]["value"] - pairs[0][1]["value"]), 6) if len(pairs) == 1 else None
        return self._answer(question, plan, _names(texts) + "。", rows, value)

    def _shares(self, plan: QueryPlan) -> tuple[list[dict[str, Any]], Target]:
        """Per department and year: the target as % of the denominator (default 支出总计)."""
        parts = {(r["department"], r["year"]): r for r in self.values(plan)}
        if plan.denominator_parts:  # a whole the question adds up: every item must be there (missing is not 0)
            whole_target = Target(kind="concept", key="+".join(t.key for t in plan.denominator_parts),
                                  label="、".join(t.label for t in plan.denominator_parts) + "合计")
            summed = [{(r["department"], r["year"]): r for r in self.values(plan, target=t)} for t in plan.denominator_parts]
            wholes = {key: {**row, "value": sum(items[key]["value"] for items in summed)}
                      for key, row in summed[0].items() if all(key in items for items in summed)}
            return self._ratios(parts, wholes), whole_target
        whole_target = plan.denominator or Target(kind="concept", key="spending_total", label="支出总计")
        wholes = {(r["department"], r["year"]): r for r in self.values(plan, target=whole_target)}
        return self._ratios(parts, wholes), whole_target

    @staticmethod
    def _ratios(parts: dict[Any, dict[str, Any]], wholes: dict[Any, dict[str, Any]]) -> list[dict[str, Any]]:
        rows = []
        for key, part in parts.items():
            whole = wholes.get(key)
            if whole and whole["value"]:
                rows.append({**part, "part": part["value"], "whole": whole["value"],
                             "value": round(part["value"] / whole["value"] * 100, 2)})
        return rows

    def _share(self, question: str, plan: QueryPlan) -> Answer:
        rows, whole_target = self._shares(plan)
        if not rows:
            return self._nothing(question, plan, f"{plan.label()}和{whole_target.label}")
        rows, note = self._latest_per_department(plan, rows)
        texts = [f"{_who(r)}{plan.label()}{fmt(r['part'], plan.unit)}占{whole_target.label}{fmt(r['whole'], plan.unit)}的"
                 f"{r['value']:.2f}%" for r in rows]
        return self._answer(question, plan, _names(texts) + "。" + note, rows, rows[0]["value"] if len(rows) == 1 else None,
                            unit="%")

    def _execution_from_text(self, question: str, plan: QueryPlan) -> Answer | None:
        """The 决算's own statement about the item (年初预算为X万元，支出决算为Y万元，完成年初预算的Z%): the tables of
        a 决算 do not always carry the 年初预算 column apart from the 决算数."""
        from .sentences import execution_statements

        assert plan.target
        words = _target_words(plan.target)
        parent = [normalize(plan.target.parent)] if plan.target.parent else []
        rows = self._sentences(plan, final_docs=True)
        found = execution_statements(rows, words, parent) if words else []
        if not found:
            return None
        if plan.given_budget is not None:  # the budget the question states picks the statement
            found.sort(key=lambda f: abs(f["budget"] * UNIT_FACTOR[plan.unit] - plan.given_budget))
        s = found[0]
        factor = UNIT_FACTOR[plan.unit]
        budget, final = s["budget"] * factor, s["final"] * factor
        rate = s["stated_rate"] if s["stated_rate"] is not None else (final / budget * 100 if budget else None)
        label = plan.label()
        text = (f"{_who(s)}{label}年初预算{fmt(budget, plan.unit)}，决算数{fmt(final, plan.unit)}"
                + (f"，完成年初预算的{rate:.2f}%" if rate is not None else "")
                + f"，差额（预算−决算）{fmt(budget - final, plan.unit)}（{s['doc_kind']} p.{s['page']}：{s['statement']}）。")
        row = {**s, "value": final, "raw": s["text"], "measure": "决算数"}
        if rate is not None and _asks_rate(question) and not _asks_amount(question):
            return self._answer(question, plan, text, [row], round(rate, 4), unit="%")
        if _asks_difference(question):
            return self._answer(question, plan, text, [row], abs(budget - final))
        return self._answer(question, plan, text, [row], final)

    def _execution(self, question: str, plan: QueryPlan) -> Answer:
        stated = self._execution_from_text(question, plan)
        if stated is not None:
            return stated
        final = self.values(plan, measure="决算数", final_docs=True)
        # a 决算's narrative facts carry the measure 预算数 although they state 决算 figures: not a 年初预算
        budget = {(r["department"], r["year"]): r for r in self.values(plan, measure="预算数", final_docs=True)
                  if r["record_kind"] != "fact"}
        final, note = self._latest_per_department(plan, final)
        if not final:
            return self._nothing(question, plan, f"{plan.label()}决算")
        r = final[0]
        b = budget.get((r["department"], r["year"]))
        label = plan.label()
        text = f"{_who(r)}{label}决算数{fmt(r['value'], plan.unit)}（{_doc_label(r)}）"
        rate = None
        if b is not None:
            text += f"，年初预算数{fmt(b['value'], plan.unit)}"
            if b["value"]:
                rate = r["value"] / b["value"] * 100
                text += f"，完成年初预算的{rate:.2f}%，差额（预算−决算）{fmt(b['value'] - r['value'], plan.unit)}"
        text += "。" + note
        rows = [r] + ([b] if b else [])
        if rate is not None and _asks_rate(question):
            return self._answer(question, plan, text, rows, round(rate, 4), unit="%")
        if b is not None and _asks_difference(question):
            return self._answer(question, plan, text, rows, abs(b["value"] - r["value"]))
        return self._answer(question, plan, text, rows, r["value"])

    def _sentences(self, plan: QueryPlan, final_docs: bool = False) -> list[dict[str, Any]]:
        """The prose sentences of the documents in scope, in document order (sentences.py)."""
        s_where, s_params = scope_condition(plan)
        d_where = "f.doc_kind LIKE '%决算%'" if final_docs else "TRUE"
        return self._fetch(f"SELECT f.* FROM sentences f WHERE {s_where} AND {d_where} "
                           "ORDER BY f.year DESC, f.doc_kind, f.doc_id, f.paragraph, f.position", s_params)

    def _why(self, question: str, plan: QueryPlan) -> Answer:
        """The document's own sentences giving a reason about the item (sentences.reason_passages), from the asked
        department and year (the newest year when none is asked); else the narrative facts with a reason clause."""
        from .sentences import reason_passages

        words = _target_words(plan.target) if plan.target else []
        if words and (plan.departments or plan.regions):
            rows = self._sentences(plan)
            by_year: dict[Any, list[dict[str, Any]]] = {}
            for row in rows:
                by_year.setdefault(row["year"], []).append(row)
            for year in sorted(by_year, key=lambda y: -(y or 0)):
                found = reason_passages(by_year[year], words, question)
                if found:
                    best = found[0]["rows"]
                    head = best[0]
                    quoted = "".join(r["text"] for r in best)
                    quoted_texts = {r["text"] for r in best}
                    more = [f for f in found[1:3] if f["score"] == found[0]["score"]
                            and not quoted_texts & {r["text"] for r in f["rows"]}]
                    quoted += "".join(" " + "".join(r["text"] for r in f["rows"]) for f in more)
                    text = f"{_who(head)}（{head['doc_kind'] or ''} p.{head['page']}）的说明：{quoted}"
                    used = [r for f in [found[0], *more] for r in f["rows"]]
                    return self._answer(question, plan, text, [{**r, "raw": r["text"]} for r in used], unit=None)
        return self._why_from_facts(question, plan)

    def _why_from_facts(self, question: str, plan: QueryPlan) -> Answer:
        s_where, s_params = scope_condition(plan)
        where, params = "TRUE", []
        if plan.target is not None:
            if plan.target.kind == "concept":
                where, params = "(f.concept = ? OR f.sentence LIKE '%' || ? || '%')", [plan.target.key, plan.target.label]
            else:
                where, params = "(f.name = ? OR f.sentence LIKE '%' || ? || '%')", [plan.target.key, plan.target.key]
        sql = (f"SELECT f.department, f.year, f.doc_kind, f.subject AS name, f.reason, f.sentence, f.source, f.page, "
               f"f.line, f.sentence AS raw, f.record_id, f.table_kind, f.measure FROM facts f WHERE f.record_kind = 'fact' "
               f"AND f.field = 'value' AND f.reason IS NOT NULL AND {where} AND {s_where} "
               f"QUALIFY row_number() OVER (PARTITION BY f.sentence ORDER BY f.line) = 1 ORDER BY (f.concept IS NOT DISTINCT FROM ?) DESC, "
               f"f.year DESC, f.line")
        key = plan.target.key if plan.target else None
        rows = self._fetch(sql, [*params, *s_params, key])
        if not rows:
            return self._why_from_passages(question, plan)
        newest = max((r["year"] or 0) for r in rows)
        rows = [r for r in rows if (r["year"] or 0) == newest][:5]
        text = f"{_who(rows[0])}的说明：" + " ".join(r["sentence"] for r in rows)
        return self._answer(question, plan, text, rows, unit=None)

    def _why_from_passages(self, question: str, plan: QueryPlan) -> Answer:
        filters: dict[str, Any] = {"year": plan.years[-1] if plan.years else None}
        if len(plan.departments) == 1:
            filters["department"] = plan.departments[0]
        results, error = search_passages(question, self.data_dir, k=5, filters=filters)
        if error or not results:
            return self._answer(question, plan, "文档中没有找到相关的原因说明。" + (f"（检索不可用：{error}）" if error else ""), [],
                                no_data=True, unit=None)
        rows = [r if isinstance(r, dict) else {"text": str(r)} for r in results]
        who = plan.departments[0] if len(plan.departments) == 1 else ""
        text = f"{who}检索到以下相关段落：" + " ".join(str(r.get("text") or "") for r in rows[:3])
        answer = self._answer(question, plan, text, [], unit=None)
        answer.rows = rows
        answer.evidence = [Evidence(source=r.get("source"), page=r.get("page"), line=r.get("line") or r.get("line_start"),
                                    raw=str(r.get("text") or "")[:300]) for r in rows]
        answer.no_data = False
        return answer

    def _unknown(self, question: str, plan: QueryPlan) -> Answer:
        results, error = search_passages(question, self.data_dir, k=5)
        text = ("没能识别问题中的指标（可问：收支总表的各行、功能分类/经济分类科目、三公经费及其明细、基本支出/项目支出/人员经费/"
                "公用经费、机关运行经费、政府采购、项目名称、说明文字中的数字）。")
        text += "可以改用全文检索 /search。" if error else f"以下是全文检索的{len(results)}条结果。"
        rows = [r if isinstance(r, dict) else {"text": str(r)} for r in results]
        return Answer(question=question, answer=text, rows=rows, plan=plan, unit=None, no_data=True)


def _asks_rate(question: str) -> bool:
    return bool(re.search(r"完成率|执行率|百分|%|几成|比例|完成(?:了)?(?:年初|全年)?预算(?:的)?(?:多少|几|百分)|完成年初|完成全年",
                          question))


def _asks_amount(question: str) -> bool:
    """决算多少，完成率多少: the amount is the headline, the rate comes with it."""
    return bool(re.search(r"(?:决算|实际|花了|用了|花掉)(?:数|支出|用了|花了|花掉)?(?:是|有)?多少", question))


def _asks_difference(question: str) -> bool:
    return bool(re.search(r"少花|多花|超支|节约|差额|相差|差了|结余|差多少", question))


def _target_words(target: Target) -> list[str]:
    """The words a document's sentences name the target with: a concept's printed terms, else the name itself."""
    from .sentences import target_words

    concept = _concept(target.key) if target.kind == "concept" else None
    if concept is not None:  # 收支总计 is also stated as 收入预算 / 支出预算 (same_as)
        same = [term for key in concept.same_as if (other := _concept(key)) for term in other.terms]
        return target_words([*concept.terms, concept.label, *same])
    return target_words([target.key]) if target.kind != "concept" else []


def _concept(key: str) -> Concept | None:
    """The thesaurus concept of a key (None for a key an LLM plan made up)."""
    return next((concept for concept in thesaurus().concepts if concept.key == key), None)


def _holds(value: float, op: str, threshold: float) -> bool:
    eps = 1e-9
    return {">": value > threshold + eps, "≥": value >= threshold - eps, "<": value < threshold - eps,
            "≤": value <= threshold + eps, "=": abs(value - threshold) <= 1e-6}[op]


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

    database = db_path(data_dir)
    view = _unchanged_view(Path(database).absolute())  # no write since the last reader: its cache, without the store
    if view is not None:
        try:
            return Engine(None, data_dir, view=view).ask(question, use_llm=use_llm)
        finally:
            view.mem.close()
    from yusuan.store.lock import reading

    with reading(database) as con:  # waits while another process writes the store
        return Engine(con, data_dir).ask(question, use_llm=use_llm)
