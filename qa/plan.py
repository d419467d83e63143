"""The typed query plan and the offline rule-based question parser.

A plan is filters (departments, regions, years, doc_kind, measure) × one operation (the intent) over one target — a
thesaurus concept, a printed line name (科目, 收支总表 line), a project or a narrative subject — resolved against the
vocabulary of the store (yusuan.qa.vocabulary). Nothing from the question is ever pasted into SQL: the engine binds
every name, year and threshold as a parameter.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from yusuan.vocab import normalize

if TYPE_CHECKING:
    from .vocabulary import Vocabulary

Intent = Literal["lookup", "series", "change", "growth", "sum", "average", "median", "count", "list", "share", "rank",
                 "compare", "execution", "why", "unknown"]
INTENTS: tuple[str, ...] = Intent.__args__  # type: ignore[attr-defined]
Unit = Literal["万元", "元", "亿元"]
UNIT_FACTOR = {"万元": 1.0, "元": 10000.0, "亿元": 0.0001}


class Target(BaseModel):
    """What is measured: a thesaurus concept (`concept`), a printed line name (`line`: 科目, 收支总表 or 经济分类 line),
    a project (`project`; key '*' = every project), or a narrative subject (`subject`)."""

    kind: Literal["concept", "line", "project", "subject"]
    key: str
    label: str
    parent: str | None = Field(None, description="a 类/款 name qualifying a 科目 line: 行政运行(财政事务)")


class QueryPlan(BaseModel):
    """What the question asks, in a form the executor can run without looking at the question again."""

    intent: Intent
    target: Target | None = None
    denominator: Target | None = Field(None, description="share: the whole (default 支出总计)")
    departments: list[str] = Field(default_factory=list, description="resolved documents.department values")
    department_mentions: list[str] = Field(default_factory=list, description="the department words as written")
    unknown_departments: list[str] = Field(default_factory=list, description="department-like words matching nothing")
    candidates: list[str] = Field(default_factory=list, description="an ambiguous name: the departments it may mean")
    regions: list[str] = Field(default_factory=list)
    years: list[int] = Field(default_factory=list, description="years asked for (all years when empty)")
    doc_kind: str | None = Field(None, description="部门预算 / 单位预算 / 部门决算 when the question names one")
    measure: Literal["预算数", "决算数"] | None = None
    unit: Unit = "万元"
    k: int | None = None
    order: Literal["desc", "asc"] = "desc"
    operator: Literal[">", "≥", "<", "≤", "="] | None = None
    threshold: float | None = Field(None, description="condition value in the plan's unit")
    items: Literal["department", "project", "indicator"] = Field("department", description="what rank/list/count range over")
    keyword: str | None = Field(None, description="items=indicator: the 三级指标 words (满意度)")
    share_condition: bool = Field(False, description="count/list: the condition is on the share (占比超过90%的), in %")
    change: Literal["increase", "decrease"] | None = Field(None, description="count/list: items whose figure rose/fell "
                                                           "between the two years asked")
    source: Literal["rules", "llm"] = "rules"
    notes: list[str] = Field(default_factory=list)

    def label(self) -> str:
        return self.target.label if self.target else ""


# ------------------------------------------------------------------------------------------------ question cues
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_YEAR = r"((?:19|20)\d{2}|(?<![\d.])\d{2}(?=年))"
_RANGE = re.compile(_YEAR + r"年?度?\s*(?:到|至|-|~|—|－)\s*" + _YEAR + r"年?")
_SHORT_RANGE = re.compile(r"(?<![\d.])(\d{2})\s*(?:到|至|-|~|—|－)\s*(\d{2})(?=年)")  # 23到25年
_YEAR_LIST = re.compile(r"(?<![\d.])\d{2}(?:[,和及与]\d{2})+(?=年|[一二两三四五六七八九十]年)")
_CHANGE_FILTER = re.compile(r"(减少|下降|降低|增加|增长|上升|提高)(?:了)?的")
_WHY = re.compile(r"为什么|为何|为啥|原因|怎么回事|咋|目标是什么|目标有哪些|主要职能|职能是|职责|主要任务|是做什么|机构设置")
_EXECUTION = re.compile(r"完成率|执行率|完成.{0,6}预算|预算.{0,8}完成|年初预算.{0,12}(决算|实际)|(决算|实际).{0,12}年初预算|"
                        r"少花|多花|超支|结余率|预算执行")
_SHARE = re.compile(r"占(?!用)(.{1,30}?)(?:的)?(?:比例|比重|百分比|百分之几|百分之|份额|多少|几成|%|比)|占比")
_GROWTH = re.compile(r"增长率|增幅|降幅|增速|涨幅|下降率|减少率|增长(?:了)?(?:百分之|多少%|几%|%)|(?:增长|下降|减少|增加)(?:了)?百分之|"
                     r"(?:增长|下降|减少|增加|涨|降)(?:了)?(?:几成|多少成|(?:多少)?百分比)|"
                     r"(?:增长|下降|减少|增加|涨|降)(?:了)?(?:多少|几)(?:个)?(?:百分点|%)|同比.{0,4}%")
_CHANGE = re.compile(r"比上年|比去年|较上年|较去年|与上年|同上年|上年相比|同比|增加|增长|减少|下降|降了|涨了|多了|少了|变化|增减|变动|变了|"
                     r"差多少|差额|相差|多出|少了多少|降低|提高")
_COMPARE = re.compile(r"谁|哪个|哪家|哪一|更高|更多|更低|更少|高多少|多多少|低多少|少多少|相差|差多少|差距|对比|比较|哪年|哪一年|vs|VS|"
                      r"与.*相比")
_RANK = re.compile(r"最高|最低|最多|最少|最大|最小|排名|排行|排第|前\d+|前[一二两三四五六七八九十]+|倒数|top|TOP|Top|第一|垫底|之最")
_AVERAGE = re.compile(r"平均|均值|人均|年均")
_MEDIAN = re.compile(r"中位")
_COUNT = re.compile(r"多少个|几个|多少家|几家|多少项|几项|个数|数量|多少部门|多少单位|单位数|部门数|项目数|家数|有几年|多少年")
_LIST = re.compile(r"哪些|列出|有哪几|列一下|清单|分别|各是多少|各自")
_SUM = re.compile(r"一共|总共|合计多少|合计是|合计为|总和|加起来|共计|累计|加总|合起来|之和")
_SERIES = re.compile(r"历年|逐年|每年|各年|趋势|走势|变化情况|年度变化|分年度|这几年|近\d+年|近[一二两三四五六七八九十]+年")
_EVERY = re.compile(r"各部门|各单位|所有部门|全部部门|哪个部门|哪些部门|哪家单位|哪个单位|哪些单位|各个部门|每个部门|部门中|单位中")
_FINAL = re.compile(r"决算|实际|执行数|花了|花掉|用了|真正|最终|完成")
_BUDGETED = re.compile(r"年初预算|预算数|原预算|全年预算|调整预算")
_CONDITION = re.compile(
    r"(超过|高于|大于等于|大于|多于|不低于|不少于|至少|低于|少于|小于等于|小于|不足|不到|不超过|不高于|等于|为|是|在|过)?\s*"
    r"(\d+(?:\.\d+)?)\s*(亿元|万元|元|万|亿|%)?(?:及)?(以上|以下)?的"
)
_CONDITION_WORD = {"超过": ">", "高于": ">", "大于": ">", "多于": ">", "大于等于": "≥", "不低于": "≥", "不少于": "≥", "至少": "≥",
                   "低于": "<", "少于": "<", "小于": "<", "不足": "<", "不到": "<", "小于等于": "≤", "不超过": "≤", "不高于": "≤",
                   "等于": "=", "为": "=", "是": "=", "在": "=", "过": ">"}
_YEAR_WORDS = {"今年": 0, "本年": 0, "本年度": 0, "去年": -1, "上年": -1, "前年": -2, "明年": 1}


def _cn_number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if text in _CN_DIGITS:
        return _CN_DIGITS[text]
    if len(text) == 2 and text[0] == "十":
        return 10 + _CN_DIGITS.get(text[1], 0)
    return None


def clean(question: str) -> str:
    """NFKC, no spaces or quotes (the vocabulary's normal form), Chinese punctuation as ASCII."""
    return normalize(question).replace("？", "?").replace("，", ",").replace("、", ",")


def _year(text: str) -> int:
    return int(text) if len(text) == 4 else 2000 + int(text)


def find_years(q: str, known: list[int]) -> tuple[list[int], bool, str]:
    """Years the question names (ranges expanded, 今年 = the newest year in the store), whether it names a range,
    and the question with the year words removed."""
    years: list[int] = []
    is_range = False
    for m in [*_RANGE.finditer(q), *_SHORT_RANGE.finditer(q)]:
        a, b = sorted((_year(m.group(1)), _year(m.group(2))))
        years += list(range(a, b + 1))
        is_range = True
    rest = _SHORT_RANGE.sub("|", _RANGE.sub("|", q))
    for m in _YEAR_LIST.finditer(rest):  # 17,18,19三年: two-digit years listed before one 年
        years += [_year(y) for y in re.findall(r"\d{2}", m.group(0))]
    rest = _YEAR_LIST.sub("|", rest)
    for m in re.finditer(_YEAR + r"(?:年度|年)?", rest):
        years.append(_year(m.group(1)))
    rest = re.sub(_YEAR + r"(?:年度|年)?", "|", rest)
    if m := re.search(r"(?:近|最近|过去)([0-9一二两三四五六七八九十]+)年", rest):
        n = _cn_number(m.group(1)) or 0
        years += sorted(known)[-n:]
        is_range = True
    latest = max(known) if known else None
    for word, offset in _YEAR_WORDS.items():
        if word in rest and latest and not years and not (word == "上年" and _CHANGE.search(rest)):
            years.append(latest + offset)
    return sorted(set(years)), is_range, rest


def find_unit(q: str) -> Unit:
    if re.search(r"亿元|亿$|多少亿|几亿|\(亿", q):
        return "亿元"
    if re.search(r"(?<![万亿])元(?!旦)", q) and not re.search(r"万元", q):
        return "元"
    return "万元"


def find_condition(q: str, unit: str) -> tuple[str | None, float | None]:
    """"超过10万元的" → ('>', 10 in the plan's unit); "为0的" → ('=', 0)."""
    q = re.sub(r"过(亿|万)", r"超过1\1", q).replace("为零的", "为0的").replace("是零的", "是0的")
    m = next((m for m in _CONDITION.finditer(q) if m.group(1) or m.group(4)), None)
    if not m:
        return None, None
    op = _CONDITION_WORD[m.group(1) or "在"]
    if m.group(4) == "以上":
        op = "≥" if op == "=" else op
    elif m.group(4) == "以下":
        op = "≤" if op == "=" else op
    value = float(m.group(2))
    if m.group(3) == "%":  # 占比超过90%的: a share condition, in percent
        return op, value
    written = {"亿": "亿元", "万": "万元"}.get(m.group(3) or "", m.group(3) or unit)
    value = value / UNIT_FACTOR[written] * UNIT_FACTOR[unit]
    return op, value


def _top_k(q: str) -> int | None:
    m = (re.search(r"(?:前|top|TOP|Top)\s*([0-9一二两三四五六七八九十]+)", q)
         or re.search(r"([0-9一二两三四五六七八九十]+)(?:个|家|项)(?:部门|单位|项目)?(?:最|排)", q)
         or re.search(r"(?:最高|最低|最多|最少|最大|最小)的?([0-9一二两三四五六七八九十]+)(?:个|家|项|名)", q))
    return _cn_number(m.group(1)) if m else None


def parse_question(question: str, vocab: Vocabulary) -> QueryPlan:
    """Question → plan."""
    q = clean(question)
    notes: list[str] = []
    years, is_range, rest = find_years(q, vocab.years)
    unit = find_unit(q)

    departments = vocab.find_departments(rest)
    rest = departments.rest
    regions = vocab.find_regions(rest) if not departments.names else []
    for region in regions:
        for form in vocab.region_forms(region):
            rest = rest.replace(form, "|")

    doc_kind = None
    if "单位预算" in q:
        doc_kind = "单位预算"
    elif "部门预算" in q:
        doc_kind = "部门预算"
    measure: Literal["预算数", "决算数"] | None = None
    if _FINAL.search(q) and not _BUDGETED.search(q):
        measure = "决算数"
    elif _BUDGETED.search(q) and "决算" in q:
        measure = "预算数"

    target_text = rest
    if measure == "决算数":  # 收入支出决算总计: the measure word inside a line's name is the measure, not the line
        target_text = target_text.replace("决算", "")
    if len(departments.names) >= 2:  # 三公经费支出合计多少 over a list: 合计 is the operation, not the 支出合计 line
        target_text = _SUM.sub("|", target_text)
    target, denominator = vocab.find_targets(target_text, with_share=bool(_SHARE.search(rest)))
    op, threshold = find_condition(rest, unit)
    k = _top_k(rest)
    order: Literal["desc", "asc"] = "asc" if re.search(r"最低|最少|最小|倒数|垫底|后\d|后[一二两三四五六七八九十]", rest) else "desc"
    several_departments = len(departments.names) + len(departments.unknown) >= 2
    aggregate_scope = bool(_EVERY.search(rest)) or (not departments.names and not departments.unknown and
                                                     not departments.candidates)
    items: Literal["department", "project", "indicator"] = "department"
    if target is None and "项目" in rest:
        target = vocab.any_project()
    if target is not None and target.kind == "project" and target.key == "*":
        items = "project"

    indicator = re.search(r"([\u4e00-\u9fff]{0,6}?(?:满意度|满意率|完成率|覆盖率|合格率|知晓率|参训率|达标率))", rest)
    comparator = r"(≥|>=|不低于|不少于|大于等于|>|大于|高于|≤|<=|不高于|<|低于|=)(\d+(?:\.\d+)?)%?"
    if indicator and "指标" in rest and (m := re.search(comparator, rest)):
        op = {"≥": "≥", ">=": "≥", "不低于": "≥", "不少于": "≥", "大于等于": "≥", ">": ">", "大于": ">", "高于": ">", "≤": "≤",
              "<=": "≤", "不高于": "≤", "<": "<", "低于": "<", "=": "="}[m.group(1)]
        return QueryPlan(intent="list", items="indicator", keyword=re.sub(r"^(?:的|哪些|有|是)", "", indicator.group(1)),
                         operator=op, threshold=float(m.group(2)), departments=departments.names, years=years,
                         regions=regions, department_mentions=departments.mentions)
    change_filter = _CHANGE_FILTER.search(rest) if len(years) == 2 else None
    change: Literal["increase", "decrease"] | None = None
    if change_filter and (_COUNT.search(rest) or _LIST.search(rest)):
        change = "decrease" if re.search(r"减|降|少", change_filter.group(1)) else "increase"
    share_condition = bool(op and re.search(r"\d%的", rest) and _SHARE.search(rest) and (_COUNT.search(rest) or _LIST.search(rest)))
    if _WHY.search(rest):
        intent = "why"
    elif share_condition or change:
        intent = "count" if _COUNT.search(rest) else "list"
    elif _EXECUTION.search(q) or (measure == "决算数" and re.search(r"预算", rest) and re.search(r"决算|实际", rest)
                                  and not re.search(r"比上年|比去年", rest)):
        intent = "execution"
    elif denominator is not None or (_SHARE.search(rest) and target is not None):
        intent = "share"
    elif _GROWTH.search(rest):
        intent = "growth"
    elif _RANK.search(rest) and len(departments.names) >= 3:
        intent = "rank"
    elif (several_departments and _COMPARE.search(rest)) or (
            len(years) == 2 and not is_range and re.search(r"哪年|哪一年|哪个年|更高|更多|更低|更少|谁", rest)):
        intent = "compare"
    elif _SERIES.search(rest) and len(years) > 2 and not (_AVERAGE.search(rest) or _MEDIAN.search(rest) or _SUM.search(rest)):
        intent = "series"
    elif _CHANGE.search(rest) and not (op and threshold is not None):
        intent = "change"
    elif _MEDIAN.search(rest):
        intent = "median"
    elif _AVERAGE.search(rest):
        intent = "average"
    elif _RANK.search(rest) or (k and not departments.names):
        intent = "rank"
    elif _COUNT.search(rest):
        intent = "count"
    elif op is not None or (_LIST.search(rest) and (aggregate_scope or items == "project")):
        intent = "list"
    elif _SUM.search(rest) or (several_departments and not _COMPARE.search(rest)):
        intent = "sum"
    elif _SERIES.search(rest) or len(years) > 2 or (is_range and len(years) > 1):
        intent = "series"
    elif _EVERY.search(rest) or (items == "project" and not departments.names):
        intent = "list"
    else:
        intent = "lookup"
    if target is None and intent != "why":
        intent = "unknown"
    if intent == "lookup" and items == "project" and departments.names:
        intent = "list"

    return QueryPlan(
        intent=intent, target=target, denominator=denominator, departments=departments.names,
        department_mentions=departments.mentions, unknown_departments=departments.unknown,
        candidates=departments.candidates, regions=regions, years=years, doc_kind=doc_kind, measure=measure, unit=unit,
        k=k, order=order, operator=op, threshold=threshold, items=items, notes=notes, change=change,
        share_condition=share_condition,
    )
