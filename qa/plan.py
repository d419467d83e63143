"""The typed query plan, the metric registry and the offline rule-based question parser.

Every SQL fragment in this module is a constant chosen by the parser from a fixed registry; nothing from the user's
question is ever pasted into SQL — departments, years, thresholds and keywords travel as bound parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

Intent = Literal[
    "lookup", "superlative", "list", "sum", "count", "compare", "share", "change", "indicator_filter",
    "narrative", "unknown",
]
Unit = Literal["万元", "元", "亿元"]
UNIT_FACTOR = {"万元": 1.0, "元": 10000.0, "亿元": 0.0001}


@dataclass(frozen=True)
class Source:
    table: str
    field: str
    where: str  # constant SQL over alias t; each `?` is bound to the plan's keyword (subject metrics only)
    priority: tuple[str, ...] = ()  # preferred table_kind order


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    sources: tuple[Source, ...]
    fact_like: tuple[str, ...] = ()  # LIKE patterns over fact.subject for 比上年 questions
    fact_exact: tuple[str, ...] = ()
    money: bool = True
    keywords: tuple[str, ...] = field(default_factory=tuple)


# the 合计 line of a 三公 table; a document whose table has no 合计 line but exactly one line (one-row tables of
# Shanghai-style disclosures) uses that line
_SG = ("(t.unit_name = '合计' OR NOT EXISTS (SELECT 1 FROM sangong s2 WHERE s2.doc_id = t.doc_id AND s2.measure "
       "IS NOT DISTINCT FROM t.measure AND s2.record_id <> t.record_id))")
_FL = "t.level = '合计'"
# 经济分类 合计 of the 基本支出 tables (a 机关运行经费表 also has a 合计 line)
_EL = "t.level = '合计' AND t.table_kind IS DISTINCT FROM '机关运行经费表'"
_EK = ("基本支出表", "财政拨款基本支出表")
# a narrative figure: subject without a leading item number and without (类)/(款)/(项) markers
FACT_SUBJECT = "regexp_replace(t.subject, '^[0-9一二三四五六七八九十]+[.、．]|[(（](类|款|项)[)）]', '', 'g')"
METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("sangong_reception", "公务接待费", (Source("sangong", "reception", _SG),), ("%公务接待%",),
               keywords=("公务接待", "接待费")),
        Metric("sangong_vehicle_operation", "公务用车运行维护费", (Source("sangong", "vehicle_operation", _SG),),
               ("%运行维护%",), keywords=("公务用车运行", "公车运行", "公用车", "车辆运行", "运行维护费", "运维费")),
        Metric("sangong_vehicle_purchase", "公务用车购置费", (Source("sangong", "vehicle_purchase", _SG),),
               ("%用车购置支出%", "%用车购置费%"), keywords=("公务用车购置", "车辆购置", "购车")),
        Metric("sangong_vehicle_total", "公务用车购置及运行维护费", (Source("sangong", "vehicle_total", _SG),),
               ("%购置及运行%",), keywords=("公务用车", "公车")),
        Metric("sangong_overseas", "因公出国(境)费", (Source("sangong", "overseas", _SG),), ("%出国%",),
               keywords=("因公出国", "出国", "出境")),
        Metric("sangong_total", '"三公"经费', (Source("sangong", "total", _SG),), ("%三公%",), keywords=("三公",)),
        Metric("project_expense", "项目支出",
               (Source("function_line", "project", _FL, ("支出总表", "一般公共预算支出表")),),
               fact_exact=("项目支出",), keywords=("项目支出", "项目经费")),
        Metric("basic_expense", "基本支出",
               (Source("function_line", "basic", _FL, ("支出总表", "一般公共预算支出表")),
                Source("econ_line", "total", _EL, _EK)),
               fact_exact=("基本支出", "一般公共预算基本支出"), keywords=("基本支出",)),
        Metric("personnel", "人员经费",
               (Source("econ_line", "personnel", _EL, _EK),
                Source("function_line", "personnel", _FL, ("支出总表", "一般公共预算支出表")),
                Source("fact", "value", f"t.metric = 'amount' AND {FACT_SUBJECT} IN ('人员经费', '人员支出')")),
               fact_exact=("人员经费", "人员支出"), keywords=("人员经费", "人员支出")),
        Metric("public_expense", "公用经费",
               (Source("econ_line", "public", _EL, _EK),
                Source("function_line", "public", _FL, ("支出总表", "一般公共预算支出表")),
                Source("fact", "value", f"t.metric = 'amount' AND {FACT_SUBJECT} IN ('公用经费', '日常公用支出', "
                                        "'日常公用经费')")),
               fact_exact=("公用经费", "日常公用支出"), keywords=("公用经费", "日常公用")),
        Metric("income_total", "收入总计",
               (Source("budget_total", "amount", "t.name = '收入总计'", ("收支总表", "财政拨款收支总表")),),
               ("%收入预算", "%收入预算总%", "收支总%", "%收、支预算总%"), fact_exact=("收入", "预算收入"),
               keywords=("收入总计", "收支总预算", "总收入", "收入预算", "预算收入", "收入总额", "预算总额", "收支预算",
                         "总预算")),
        Metric("expense_total", "支出总计",
               (Source("budget_total", "amount", "t.name = '支出总计'", ("收支总表", "财政拨款收支总表")),),
               ("%支出预算", "%支出预算总%", "收支总%", "%收、支预算总%", "预算支出安排"), fact_exact=("支出", "预算支出"),
               keywords=("支出总计", "总支出", "支出预算", "支出总额")),
        Metric("operating_expense", "机关运行经费",
               (Source("econ_line", "total", "t.table_kind = '机关运行经费表' AND t.level = '合计'"),
                Source("fact", "value", "t.metric = 'amount' AND t.subject LIKE '%机关运行经费%' "
                                        "AND t.subject NOT LIKE '%比%'")),
               ("%机关运行经费%",), keywords=("机关运行经费", "机关运行费", "机关运转经费")),
        Metric("procurement", "政府采购预算",
               (Source("fact", "value", "t.metric = 'amount' AND t.subject LIKE '%政府采购%' AND t.subject NOT SIMILAR TO "
                                        "'.*(货物|工程|服务|中小|小型|微型|预留|面向).*'"),),
               ("%政府采购%",), keywords=("政府采购",)),
        Metric("project_amount", "项目金额",
               (Source("project", "amount", "t.table_kind IN ('项目支出表', '绩效目标表') AND t.name <> '资金总额'"),),
               keywords=()),
        # a 科目 named in the question (功能分类 类 name or 经济分类 name, e.g. 住房保障支出, 会议费): plan.keyword
        Metric("subject", "科目",
               (Source("function_line", "total", "t.level = '类' AND t.name = ?",
                       ("支出总表", "一般公共预算支出表", "财政拨款支出表", "收入总表")),
                Source("econ_line", "total", "t.level IN ('类', '款') AND t.name = ?", (*_EK, "机关运行经费表")),
                Source("fact", "value", f"t.metric = 'amount' AND {FACT_SUBJECT} = ?")),
               keywords=()),
    )
}
# metrics whose value is a money amount of the department (not 项目金额 / 科目, which need more than a keyword)
KEYWORD_METRICS = tuple(m for m in METRICS.values() if m.keywords)


class QueryPlan(BaseModel):
    """What the question asks, in a form the executor can run without looking at the question again."""

    intent: Intent
    metric: str | None = Field(None, description="key of METRICS")
    departments: list[str] = Field(default_factory=list, description="resolved documents.department values")
    department_mentions: list[str] = Field(default_factory=list, description="the department words as written")
    unknown_departments: list[str] = Field(default_factory=list,
                                           description="department-like words that match no department in the store")
    measure: Literal["决算数", "预算数"] | None = Field(None, description="决算 documents: the column asked for "
                                                                      "(default: 决算数 where printed, else 预算数)")
    region: str | None = None
    year: int | None = None
    unit: Unit = "万元"
    k: int | None = None
    order: Literal["desc", "asc"] = "desc"
    denominator: str | None = Field(None, description="metric key for share questions (default 支出总计)")
    keyword: str | None = Field(None, description="indicator 三级指标 keyword or narrative query")
    operator: Literal["≥", ">", "≤", "<", "="] | None = None
    threshold: float | None = None
    entity: Literal["department", "project"] = "department"
    source: Literal["rules", "llm"] = "rules"
    notes: list[str] = Field(default_factory=list)

    def metric_def(self) -> Metric | None:
        return METRICS.get(self.metric or "")

    def label(self) -> str:
        metric = self.metric_def()
        if metric is None:
            return ""
        return self.keyword if self.metric == "subject" and self.keyword else metric.label


# ---------------------------------------------------------------------------------------------------- departments

_ADMIN = "省市区县镇乡"


def department_aliases(department: str) -> set[str]:
    """Full name, name without 中共, names with leading place names dropped, names without 人民 / 高级, street offices
    without 人民政府 / 办事处, 委员会 shortened to 委.

    `中共绍兴市委组织部` → 绍兴市委组织部, 市委组织部; `江苏省人民检察院` → 省人民检察院, 省检察院, 江苏省检察院;
    `上海市普陀区人民政府万里街道办事处` → 万里街道办事处, 万里街道; `上海市普陀区商务委员会` → 普陀区商务委.
    """
    base = department.removeprefix("中共")
    names = {department, base}
    if base.startswith("中国共产党"):  # 中国共产党江苏省委员会办公厅 → 江苏省委办公厅
        base = re.sub(r"^中国共产党(.+?[省市区县])委员会", r"\1委", base)
        names |= {base, "中共" + base}
    bases = [base]
    if "人民政府" in base:
        head, _, tail = base.partition("人民政府")
        if re.search(r"街道|镇|乡", tail):
            names.add(tail)
            bases.append(head + tail)
    for b in bases:
        names.add(b)
        for i in range(1, len(b)):
            if b[i] in _ADMIN:
                names.add(b[i:])
            if b[i - 1] in _ADMIN and b[i] != "委":
                names.add(b[i:])
    names |= {name.replace("人民", "") for name in names}
    names |= {name.replace("高级", "") for name in names if "高级" in name}
    names |= {name.removesuffix("办事处") for name in names if name.endswith("街道办事处")}
    names |= {name.removesuffix("员会") for name in names if name.endswith("委员会")}
    return {name for name in names if len(name) >= 3 and not name.startswith("委")}


class AliasIndex:
    """Department aliases → department names, built once per store version (the engine caches it). Matching a
    question enumerates the question's substrings (≤ the longest alias) instead of scanning every alias."""

    def __init__(self, departments: list[str]):
        self.departments = list(departments)
        self.alias_map: dict[str, set[str]] = {}
        for dept in self.departments:
            for alias in department_aliases(dept):
                self.alias_map.setdefault(alias, set()).add(dept)
        self.max_len = max((len(a) for a in self.alias_map), default=0)
        self.aliases = list(self.alias_map)

    def hits(self, question: str) -> list[tuple[int, int, str]]:
        found = []
        n = len(question)
        for i in range(n):
            for j in range(i + 3, min(n, i + self.max_len) + 1):
                if question[i:j] in self.alias_map:
                    found.append((i, j, question[i:j]))
        return found


_DEPT_SPAN = re.compile(r"[\u4e00-\u9fff]{2,16}?(?:组织部|宣传部|检察院|法院|委员会|办公厅|办公室|街道|局|厅|部(?!门)|院|委(?!员))")


def resolve_departments(question: str, departments: list[str] | AliasIndex,
                        with_unresolved: bool = False) -> tuple[list[list[str]], list[str]]:
    """Departments mentioned in the question: groups of candidate department names (several when ambiguous) and
    the mention strings. Exact alias matches first (longest, non-overlapping), then rapidfuzz for near misses.
    With `with_unresolved`, when nothing resolves, the department-like words that matched no department are returned
    as mentions (with no groups)."""
    index = departments if isinstance(departments, AliasIndex) else AliasIndex(departments)
    alias_map = index.alias_map
    hits = index.hits(question)
    hits.sort(key=lambda h: (-(h[1] - h[0]), h[0]))
    taken: list[tuple[int, int, str]] = []
    for start, end, alias in hits:
        if all(end <= s or start >= e for s, e, _ in taken):
            taken.append((start, end, alias))
    taken.sort()
    groups = [sorted(alias_map[alias]) for _, _, alias in taken]
    mentions = [alias for _, _, alias in taken]
    if groups:
        return groups, mentions
    from rapidfuzz import fuzz, process

    unresolved = []
    for m in _DEPT_SPAN.finditer(question):
        span = re.sub(r"^(?:哪个|哪些|请问|查询|看看)", "", m.group(0))
        if len(span) < 3 or re.search(r"哪|什么|各|每|所有|全部", span):
            continue
        # a near miss must still end like the department (民政局 is not 财政局, 组织部 may lack its 委)
        near = [alias for alias, _, _ in process.extract(span, index.aliases, scorer=fuzz.ratio, score_cutoff=80, limit=5)
                if alias[-3:] == span[-3:]]
        if near:
            groups.append(sorted(alias_map[near[0]]))
            mentions.append(span)
        else:
            unresolved.append(span)
    if not groups and unresolved and with_unresolved:
        return [], unresolved
    return groups, mentions


def longest_name_in(question: str, names: set[str] | frozenset[str], min_len: int = 3, max_len: int = 60) -> str | None:
    """The longest element of `names` that occurs in the question (substring enumeration, no scan over names)."""
    n = len(question)
    for length in range(min(n, max_len), min_len - 1, -1):
        for i in range(n - length + 1):
            if question[i:i + length] in names:
                return question[i:i + length]
    return None


@dataclass
class Catalog:
    """What the parser needs to know about the store: departments (as an alias index), regions, years, 科目 names and
    project names. Built by the engine once per store version."""

    aliases: AliasIndex
    regions: list[str]
    years: list[int]
    subjects: frozenset[str] = frozenset()
    projects: frozenset[str] = frozenset()


# ---------------------------------------------------------------------------------------------------- the parser

_CN_NUM = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def _num(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    return _CN_NUM.get(text)


GENERIC = ("income_total", "expense_total")


def find_metric(question: str) -> str | None:
    """The metric a question's keywords name; the generic totals (收入/支出总计) only when nothing more specific is named."""
    q = question.replace("“", "").replace("”", "").replace('"', "")
    for metric in sorted(KEYWORD_METRICS, key=lambda m: m.key in GENERIC):
        if any(word in q for word in metric.keywords):
            return metric.key
    return None


def subject_names(names: list[str]) -> frozenset[str]:
    """科目 names usable as a `subject` metric: long enough and not already a registered metric (公务接待费 stays a 三公 item)."""
    return frozenset(n for n in names if n and len(n) >= 3 and find_metric(n) in (None, *GENERIC))


def project_names(names: list[str]) -> frozenset[str]:
    return frozenset(n for n in names if n and len(n) >= 4 and find_metric(n) is None)


def parse_question(question: str, departments: list[str] | AliasIndex, regions: list[str], years: list[int], *,
                   subjects: frozenset[str] = frozenset(), projects: frozenset[str] = frozenset()) -> QueryPlan:
    """Question → plan. `departments` may be a prebuilt AliasIndex; `subjects` are 科目 names (功能/经济分类) and
    `projects` project names present in the store (see Catalog)."""
    q = question.strip().replace(" ", "").replace("　", "")
    q = q.replace("（", "(").replace("）", ")").replace("？", "?").replace("，", ",")
    notes: list[str] = []

    groups, mentions = resolve_departments(q, departments, with_unresolved=True)
    flat = [d for group in groups for d in group]
    unknown_departments = mentions if not groups else []
    if unknown_departments:
        mentions = []

    year = None
    if m := re.search(r"(20\d{2})\s*年?", q):
        year = int(m.group(1))
    elif m := re.search(r"(?<!\d)(\d{2})年", q):
        year = 2000 + int(m.group(1))
    elif "今年" in q or "最新" in q:
        year = max(years) if years else None
        notes.append(f"今年 = 数据中最新年份 {year}")
    elif "去年" in q and years:
        year = max(years) - 1

    region = None
    rest = q
    for mention in mentions:
        rest = rest.replace(mention, "|")
    for reg in sorted((r for r in regions if r), key=len, reverse=True):
        parts = [p for p in re.findall(r".+?[省市区县镇乡]|.+$", reg) if p]
        forms = {reg, reg.rstrip("省市区县"), parts[-1], parts[-1].rstrip("省市区县")}
        if any(len(f) >= 2 and f in rest for f in forms):
            region = reg
            break

    unit: Unit = "万元"
    if "亿元" in q:
        unit = "亿元"
    elif re.search(r"(?<!万)(?<!亿)元", q):
        unit = "元"

    k = None
    top = re.search(r"(?:前|top|TOP|Top)\s*([0-9一二两三四五六七八九十]+)", q)
    top = top or re.search(r"([0-9一二两三四五六七八九十])(?:个|家)(?:部门|单位|项目)?(?:最|排)", q)
    if top:
        k = _num(top.group(1))
    order: Literal["desc", "asc"] = "asc" if re.search(r"最低|最少|最小|倒数|最后", q) else "desc"
    measure: Literal["决算数", "预算数"] | None = None
    if re.search(r"年初预算|预算数", q) and "决算" in q:
        measure = "预算数"
    elif "决算" in q:
        measure = "决算数"

    metric = find_metric(q)
    entity: Literal["department", "project"] = "department"
    keyword: str | None = None
    if metric is None or metric in GENERIC:
        q_plain = q.replace("“", "").replace("”", "").replace('"', "")
        project = longest_name_in(q_plain, projects, min_len=4) if projects else None
        quoted = re.search(r"[“\"「『]([^“”\"」』]{2,60})[”\"」』]", q)
        subject = longest_name_in(q_plain, subjects, min_len=3) if subjects else None
        if project or (quoted and "项目" in q and not subject):
            metric, entity, keyword = "project_amount", "project", project or quoted.group(1)
        elif subject:
            metric, keyword = "subject", subject
    if metric is None and "项目" in q:
        metric, entity = "project_amount", "project"

    def plan(intent: str, **extra) -> QueryPlan:
        base = dict(intent=intent, metric=metric, departments=flat, department_mentions=mentions, region=region,
                    year=year, unit=unit, k=k, order=order, entity=entity, notes=notes, keyword=keyword,
                    unknown_departments=unknown_departments, measure=measure)
        base.update(extra)
        return QueryPlan(**base)

    # indicator filter: 满意度指标≥95%的项目
    comparator = (r"(≥|>=|＞=|不低于|不少于|大于等于|以上|>|＞|大于|高于|≤|<=|不高于|低于|<|=)"
                  r"\s*(\d+(?:\.\d+)?)")
    if re.search(r"指标|满意|达标", q) and (m := re.search(comparator, q)
                                          or re.search(r"(\d+(?:\.\d+)?)\s*%?\s*(及以上|以上)", q)):
        if m.group(1)[0].isdigit():
            threshold, op = float(m.group(1)), "≥"
        else:
            op = {"≥": "≥", ">=": "≥", "＞=": "≥", "不低于": "≥", "不少于": "≥", "大于等于": "≥", "以上": "≥",
                  ">": ">", "＞": ">", "大于": ">", "高于": ">", "≤": "≤", "<=": "≤", "不高于": "≤", "低于": "<",
                  "<": "<", "=": "="}[m.group(1)]
            threshold = float(m.group(2))
        kw = re.search(r"([\u4e00-\u9fff]{0,6}?(?:满意度|满意率|完成率|覆盖率|合格率|知晓率|参训率))", q)
        keyword = kw.group(1) if kw else ("满意" if "满意" in q else None)
        keyword = re.sub(r"^(?:的|哪些|有|是)", "", keyword) if keyword else keyword
        return plan("indicator_filter", keyword=keyword, operator=op, threshold=threshold, metric=None,
                    entity="project")

    if re.search(r"绩效目标是什么|绩效目标有哪些|主要职能|职能是|职责|主要任务|是做什么|工作目标|机构设置|是什么原因|为什么", q):
        return plan("narrative", keyword=question.strip())

    if metric is None:
        return plan("unknown")

    if re.search(r"比上年|比去年|较上年|与上年相比|同比|增加多少|减少多少|增长率|增幅|降幅|变化|增长了|下降了|增减|"
                 r"(?<!比)[比较](?:20)?\d{2}年", q):
        # 2024年到2025年的变化 / 2025年比2024年: the change of the later year
        mentioned = [int(y) for y in re.findall(r"(20\d{2})年", q)]
        return plan("change", year=max(mentioned) if len(mentioned) > 1 else year)
    if re.search(r"占比|比例|比重|占.{0,12}(?:多少|百分之|%)", q):
        denominator = "expense_total"
        if m := re.search(r"占(.{1,12}?)(?:的)?(?:比例|比重|多少|百分)", q):
            denominator = find_metric(m.group(1)) or denominator
            # the numerator is what stands before 占 (人员经费占基本支出: 人员经费, not the first keyword found)
            if entity == "department" and metric != "subject" and (before := find_metric(q[:m.start()])):
                return plan("share", denominator=denominator, metric=before)
        return plan("share", denominator=denominator)
    if len(groups) >= 2 and re.search(r"谁|哪个|哪家|差多少|相差|差额|差距|对比|比较|高多少|多多少|低多少|少多少|更高|更多|更低|更少", q):
        return plan("compare")
    if re.search(r"哪个|哪家|哪一个|哪些部门|最高|最低|最多|最少|最大|最小|排名|排行|前[0-9一二两三四五六七八九十]|top", q, re.I):
        return plan("superlative", k=k or 1)
    if re.search(r"多少个|几个|多少家|几家|个数|数量", q):
        return plan("count")
    if re.search(r"一共|总共|合计多少|合计是|总和|加起来|共计|累计", q):
        return plan("sum")
    if entity == "project" and keyword:
        return plan("lookup")
    if re.search(r"各部门|各单位|分别|有哪些|列出|列表|每个|所有", q) or entity == "project" or not flat:
        return plan("list")
    return plan("lookup")
