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
    where: str  # constant SQL over alias t
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


_SG = "t.unit_name = '合计'"
_FL = "t.level = '合计'"
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
                Source("econ_line", "total", "t.level = '合计'")),
               fact_exact=("基本支出", "一般公共预算基本支出"), keywords=("基本支出",)),
        Metric("personnel", "人员经费",
               (Source("econ_line", "personnel", "t.level = '合计'"),
                Source("function_line", "personnel", _FL, ("支出总表", "一般公共预算支出表"))),
               fact_exact=("人员经费", "人员支出"), keywords=("人员经费", "人员支出")),
        Metric("public_expense", "公用经费",
               (Source("econ_line", "public", "t.level = '合计'"),
                Source("function_line", "public", _FL, ("支出总表", "一般公共预算支出表"))),
               fact_exact=("公用经费", "日常公用支出"), keywords=("公用经费", "日常公用")),
        Metric("income_total", "收入总计",
               (Source("budget_total", "amount", "t.name = '收入总计'", ("收支总表", "财政拨款收支总表")),),
               fact_exact=("收入", "预算收入"),
               keywords=("收入总计", "收支总预算", "总收入", "收入预算", "收入总额", "预算总额", "收支预算", "总预算")),
        Metric("expense_total", "支出总计",
               (Source("budget_total", "amount", "t.name = '支出总计'", ("收支总表", "财政拨款收支总表")),),
               fact_exact=("支出", "预算支出"), keywords=("支出总计", "总支出", "支出预算", "支出总额")),
        Metric("project_amount", "项目金额",
               (Source("project", "amount", "t.table_kind IN ('项目支出表', '绩效目标表') AND t.name <> '资金总额'"),),
               keywords=()),
    )
}


class QueryPlan(BaseModel):
    """What the question asks, in a form the executor can run without looking at the question again."""

    intent: Intent
    metric: str | None = Field(None, description="key of METRICS")
    departments: list[str] = Field(default_factory=list, description="resolved documents.department values")
    department_mentions: list[str] = Field(default_factory=list, description="the department words as written")
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


# ---------------------------------------------------------------------------------------------------- departments

_ADMIN = "省市区县镇乡"


def department_aliases(department: str) -> set[str]:
    """Full name, name without 中共, names with leading place names dropped, names without 人民.

    `中共绍兴市委组织部` → 绍兴市委组织部, 市委组织部; `江苏省人民检察院` → 省人民检察院, 省检察院, 江苏省检察院.
    """
    base = department.removeprefix("中共")
    names = {department, base}
    for i in range(1, len(base)):
        if base[i] in _ADMIN:
            names.add(base[i:])
        if base[i - 1] in _ADMIN and base[i] != "委":
            names.add(base[i:])
    names |= {name.replace("人民", "") for name in names}
    return {name for name in names if len(name) >= 3 and not name.startswith("委")}


def resolve_departments(question: str, departments: list[str]) -> tuple[list[list[str]], list[str]]:
    """Departments mentioned in the question: groups of candidate department names (several when ambiguous) and
    the mention strings. Exact alias matches first (longest, non-overlapping), then rapidfuzz for near misses."""
    alias_map: dict[str, set[str]] = {}
    for dept in departments:
        for alias in department_aliases(dept):
            alias_map.setdefault(alias, set()).add(dept)
    hits: list[tuple[int, int, str]] = []
    for alias in alias_map:
        for m in re.finditer(re.escape(alias), question):
            hits.append((m.start(), m.end(), alias))
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

    for m in re.finditer(r"[\u4e00-\u9fff]{2,16}?(?:组织部|宣传部|检察院|法院|委员会|办公室|局|厅|部|院|委)", question):
        span = re.sub(r"^(?:哪个|请问|查询|看看)", "", m.group(0))
        best = process.extractOne(span, list(alias_map), scorer=fuzz.ratio, score_cutoff=80)
        if best:
            groups.append(sorted(alias_map[best[0]]))
            mentions.append(span)
    return groups, mentions


# ---------------------------------------------------------------------------------------------------- the parser

_CN_NUM = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def _num(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    return _CN_NUM.get(text)


def find_metric(question: str) -> str | None:
    q = question.replace("“", "").replace("”", "").replace('"', "")
    for metric in METRICS.values():
        if any(word in q for word in metric.keywords):
            return metric.key
    return None


def parse_question(question: str, departments: list[str], regions: list[str], years: list[int]) -> QueryPlan:
    q = question.strip().replace(" ", "").replace("　", "")
    q = q.replace("（", "(").replace("）", ")").replace("？", "?").replace("，", ",")
    notes: list[str] = []

    groups, mentions = resolve_departments(q, departments)
    flat = [d for group in groups for d in group]

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

    metric = find_metric(q)
    entity: Literal["department", "project"] = "department"
    if metric is None and "项目" in q:
        metric, entity = "project_amount", "project"

    def plan(intent: str, **extra) -> QueryPlan:
        base = dict(intent=intent, metric=metric, departments=flat, department_mentions=mentions, region=region,
                    year=year, unit=unit, k=k, order=order, entity=entity, notes=notes)
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

    if re.search(r"比上年|比去年|较上年|同比|增加多少|减少多少|增长率|增幅|降幅|变化|增长了|下降了|增减", q):
        return plan("change")
    if re.search(r"占比|比例|比重|占.{0,12}(?:多少|百分之|%)", q):
        denominator = "expense_total"
        if m := re.search(r"占(.{1,12}?)(?:的)?(?:比例|比重|多少|百分)", q):
            denominator = find_metric(m.group(1)) or denominator
        return plan("share", denominator=denominator)
    if len(groups) >= 2 and re.search(r"谁|哪个|哪家|差多少|相差|差额|差距|对比|比较|高多少|多多少|低多少|少多少|更高|更多|更低|更少", q):
        return plan("compare")
    if re.search(r"哪个|哪家|哪一个|哪些部门|最高|最低|最多|最少|最大|最小|排名|排行|前[0-9一二两三四五六七八九十]|top", q, re.I):
        return plan("superlative", k=k or 1)
    if re.search(r"多少个|几个|多少家|几家|个数|数量", q):
        return plan("count")
    if re.search(r"一共|总共|合计多少|合计是|总和|加起来|共计|累计", q):
        return plan("sum")
    if re.search(r"各部门|各单位|分别|有哪些|列出|列表|每个|所有", q) or entity == "project" or not flat:
        return plan("list")
    return plan("lookup")
