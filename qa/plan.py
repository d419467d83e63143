"""The typed query plan and the offline rule-based question parser.

A plan is filters (departments, regions, years, doc_kind, measure) × one operation (the intent) over one target — a
thesaurus concept, a printed line name (科目, 收支总表 line), a project or a narrative subject — resolved against the
vocabulary of the store (yusuan.qa.vocabulary). Nothing from the question is ever pasted into SQL: the engine binds
every name, year and threshold as a parameter.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, Self

from yusuan.vocab import normalize

if TYPE_CHECKING:
    from .vocabulary import Vocabulary

Intent = Literal["lookup", "series", "change", "growth", "sum", "average", "median", "count", "list", "share", "rank",
                 "compare", "execution", "why", "unknown"]
INTENTS: tuple[str, ...] = Intent.__args__  # type: ignore[attr-defined]
Unit = Literal["万元", "元", "亿元"]
UNIT_FACTOR = {"万元": 1.0, "元": 10000.0, "亿元": 0.0001}


class PlainModel:
    """The part of pydantic's model API that plans and answers need, on plain dataclasses: importing pydantic and
    building its validators costs more than `yusuan ask` answering a question, so pydantic is used only when a plan
    or an answer is read from or written as JSON (then with its full validation and serialisation)."""

    def model_copy(self, update: dict[str, Any] | None = None) -> Self:
        return dataclasses.replace(self, **(update or {}))  # type: ignore[type-var]

    @classmethod
    def model_validate(cls, data: Any) -> Self:
        """Validated (pydantic.ValidationError on bad input), with pydantic's coercions (an int threshold is a float)."""
        return _adapter(cls).validate_python(data)

    def model_dump(self, mode: Literal["python", "json"] = "python") -> dict[str, Any]:
        return _adapter(type(self)).dump_python(self._validated(), mode=mode)

    def model_dump_json(self, indent: int | None = None) -> str:
        return _adapter(type(self)).dump_json(self._validated(), indent=indent).decode()

    def _validated(self) -> Self:
        # the fields as a pydantic model would hold them (it coerces on construction, a dataclass does not)
        return self.model_validate(dataclasses.asdict(self))  # type: ignore[call-overload]


@cache
def _adapter(cls: type) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(cls)


@dataclass
class Target(PlainModel):
    """What is measured: a thesaurus concept (`concept`), a printed line name (`line`: 科目, 收支总表 or 经济分类 line),
    a project (`project`; key '*' = every project), or a narrative subject (`subject`)."""

    kind: Literal["concept", "line", "project", "subject"]
    key: str
    label: str
    parent: str | None = None  # a 类/款 name qualifying a 科目 line: 行政运行(财政事务)


@dataclass
class QueryPlan(PlainModel):
    """What the question asks, in a form the executor can run without looking at the question again."""

    intent: Intent
    target: Target | None = None
    denominator: Target | None = None  # share: the whole (default 支出总计)
    denominator_parts: list[Target] = field(default_factory=list)  # share: a whole that is these items' sum
    departments: list[str] = field(default_factory=list)  # resolved documents.department values
    department_mentions: list[str] = field(default_factory=list)  # the department words as written
    unknown_departments: list[str] = field(default_factory=list)  # department-like words matching nothing
    candidates: list[str] = field(default_factory=list)  # an ambiguous name: the departments it may mean
    regions: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)  # years asked for (all years when empty)
    # 近N年: the newest N years of the documents in scope (the engine replaces `years`, the store's newest N until then)
    recent: int | None = None
    doc_kind: str | None = None  # 部门预算 / 单位预算 / 部门决算 when the question names one
    doc_kinds: list[str] = field(default_factory=list)  # compare: 部门预算 and 单位预算 of the same department
    measure: Literal["预算数", "决算数"] | None = None
    unit: Unit = "万元"
    k: int | None = None
    order: Literal["desc", "asc"] = "desc"
    operator: Literal[">", "≥", "<", "≤", "="] | None = None
    threshold: float | None = None  # condition value in the plan's unit
    items: Literal["department", "project", "indicator"] = "department"  # what rank/list/count range over
    keyword: str | None = None  # items=indicator: the 三级指标 words (满意度)
    share_condition: bool = False  # count/list: the condition is on the share (占比超过90%的), in %
    change: Literal["increase", "decrease"] | None = None  # count/list: items whose figure rose/fell between the years
    # execution: the 预算 figure the question states (全年预算17.68万元), in the plan's unit; it names the item
    given_budget: float | None = None
    source: Literal["rules", "llm"] = "rules"
    notes: list[str] = field(default_factory=list)

    def label(self) -> str:
        return self.target.label if self.target else ""


# ------------------------------------------------------------------------------------------------ question cues
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_YEAR = r"((?:19|20)\d{2}|(?<![\d.])\d{2}(?=年))"
_DASH = r"(?:到|至|-|~|—|–|－|―|‐|−|〜)+"  # 2023—2025, 2023–2025, 2023~2025, 2023到2025
_RANGE = re.compile(_YEAR + r"年?度?\s*" + _DASH + r"\s*" + _YEAR + r"年?")
_SHORT_RANGE = re.compile(r"(?<![\d.])(\d{2})\s*" + _DASH + r"\s*(\d{2})(?=年)")  # 23到25年
_YEAR_LIST = re.compile(r"(?<![\d.])\d{2}(?:[,/和及与]\d{2})+(?=年|[一二两三四五六七八九十]年)")
_RECENT = re.compile(r"(?:近|最近|过去)([0-9一二两三四五六七八九十]+)(?:个)?年")
_CHANGE_FILTER = re.compile(r"(减少|下降|降低|增加|增长|上升|提高)(?:了)?的")
_WHY = re.compile(r"为什么|为何|为啥|原因|怎么回事|咋|怎么会|怎会|何故|缘何|"
                  r"目标是什么|目标有哪些|主要职能|职能是|职责|主要任务|是做什么|机构设置")
_EXECUTION = re.compile(r"完成率|执行率|完成.{0,6}预算|预算.{0,8}完成|年初预算.{0,12}(决算|实际)|(决算|实际).{0,12}年初预算|"
                        r"少花|多花|超支|结余率|预算执行")
_SHARE = re.compile(r"占(?!用)(.{0,30}?)(?:的)?(?:比例|比重|百分比|百分之几|百分之|份额|多少|几成|%|比)|占比")
_GROWTH = re.compile(r"增长率|增幅|降幅|增速|涨幅|跌幅|减幅|下降率|减少率|变化率|变动率|增减率|变化幅度|变动幅度|增减幅度|"
                     r"(?:增|降|涨|减|长|少|多|跌|缩|升)(?:了)?(?:百分之|几成|多少成|几个点|多少个?百分点|几个百分点|"
                     r"百分比|多少%|几%)|增长(?:了)?(?:百分之|多少%|几%|%)|(?:增长|下降|减少|增加)(?:了)?百分之|"
                     r"(?:增长|下降|减少|增加|涨|降)(?:了)?(?:几成|多少成|(?:多少)?百分比)|"
                     r"(?:增长|下降|减少|增加|涨|降)(?:了)?(?:多少|几)(?:个)?(?:百分点|%)|同比.{0,4}%")
_CHANGE = re.compile(r"比上年|比去年|较上年|较去年|与上年|同上年|上年相比|同比|增加|增长|减少|下降|降了|涨了|多了|少了|变化|增减|变动|变了|"
                     r"差多少|差额|相差|多出|少了多少|降低|提高|压减|压缩|缩减|削减|调减|调增|下调|上调|"
                     r"节约|节省|省了|多花|少花|减了|增了|压降")
_COMPARE = re.compile(r"谁|哪个|哪家|哪一|更高|更多|更低|更少|高多少|多多少|低多少|少多少|相差|差多少|差距|对比|比较|哪年|哪一年|vs|VS|"
                      r"与.*相比")
_RANK = re.compile(r"最高|最低|最多|最少|最大|最小|排名|排行|排第|前\d+|前[一二两三四五六七八九十]+|倒数|top|TOP|Top|第一|垫底|之最")
_AVERAGE = re.compile(r"平均|均值|人均|年均")
_MEDIAN = re.compile(r"中位")
_COUNT = re.compile(r"多少个|几个|多少家|几家|多少项|几项|个数|数量|多少部门|多少单位|单位数|部门数|项目数|家数|有几年|多少年")
_LIST = re.compile(r"哪些|列出|有哪几|列一下|清单|分别|各是多少|各自")
_SUM = re.compile(r"一共|总共|合计多少|合计是|合计为|合计(?:金额|数)?(?=\?|$)|总和|加起来|共计|累计|加总|合起来|之和")
_SERIES = re.compile(r"历年|逐年|每年|各年|趋势|走势|变化情况|年度变化|分年度|这几年|近\d+年|近[一二两三四五六七八九十]+年")
_EVERY = re.compile(r"各部门|各单位|所有部门|全部部门|哪个部门|哪些部门|哪家单位|哪个单位|哪些单位|各个部门|每个部门|部门中|单位中")
_FINAL = re.compile(r"决算|实际|执行数|花了|花掉|用了|真正|最终|完成")
# the basis a budget is compared with (比上年执行数增长…): the prior year's outcome, not the measure asked for
_PRIOR_BASIS = re.compile(r"(?:比|较|与|同|相比|对比)(?:上年|去年|上一年)(?:度)?(?:的)?(?:执行数?|决算数?|实际数?)")
_BUDGETED = re.compile(r"年初预算|预算数|原预算|全年预算|调整预算")
_CONDITION = re.compile(
    r"(超过|高于|大于等于|大于|多于|不低于|不少于|至少|低于|少于|小于等于|小于|不足|不到|不超过|不高于|等于|为|是|在|过)?\s*"
    r"(\d+(?:\.\d+)?)\s*(亿元|万元|元|万|亿|%)?(?:及)?(以上|以下)?的"
)
# without a closing 的, only an explicit comparison word makes a condition (有几年超过600万)
_BARE_CONDITION = re.compile(r"(超过|高于|大于等于|大于|多于|不低于|不少于|至少|低于|少于|小于等于|小于|不足|不到|不超过|不高于)\s*"
                             r"(\d+(?:\.\d+)?)\s*(亿元|万元|元|万|亿|%)?()")
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
    if m := _RECENT.search(rest):
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


def find_condition(q: str, unit: str, bare: bool = False) -> tuple[str | None, float | None]:
    """"超过10万元的" → ('>', 10 in the plan's unit); "为0的" → ('=', 0); with `bare` (a count or list question) also
    "有几年超过600万" without the closing 的."""
    q = re.sub(r"过(亿|万)", r"超过1\1", q).replace("为零的", "为0的").replace("是零的", "是0的")
    m = next((m for m in _CONDITION.finditer(q) if m.group(1) or m.group(4)), None)
    if m is None and bare:
        m = _BARE_CONDITION.search(q)
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


_INDICATOR_VALUE = re.compile(r"([^|]{2,40}?)(?:的)?(?:全年|年度)?(?:绩效)?(?:指标值|目标值|指标(?:是|为)?多少)")


_GIVEN_BUDGET = re.compile(r"(?:年初|全年|本年)?预算(?:数|金额)?(?:为|是|有)?(\d+(?:\.\d+)?)(亿元|万元|元|万|亿)")


def _given_value(m: re.Match[str], unit: str) -> float:
    written = {"亿": "亿元", "万": "万元"}.get(m.group(2), m.group(2))
    return float(m.group(1)) / UNIT_FACTOR[written] * UNIT_FACTOR[unit]


def _project_name(rest: str) -> str | None:
    """The name typed before 项目 (…会计人员考培项目预算安排多少), without the words before it."""
    m = re.search(r"([\u4e00-\u9fff()A-Za-z0-9]{3,40})项目(?!支出|经费|数|个)", rest)
    return re.split(r"的|年度?|有|中", m.group(1))[-1] if m else None


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
    notes += [f"“{typed}”按“{name}”理解" for typed, name in departments.corrected.items()]
    regions = vocab.find_regions(rest) if not departments.names else []
    for region in regions:
        for form in vocab.region_forms(region):
            rest = rest.replace(form, "|")

    doc_kind = None
    doc_kinds = [kind for kind in ("部门预算", "单位预算") if kind in q]  # both: the two documents compared
    if len(doc_kinds) == 1:
        doc_kind = doc_kinds[0]
    measure: Literal["预算数", "决算数"] | None = None
    if _FINAL.search(_PRIOR_BASIS.sub("比上年", q)) and not _BUDGETED.search(q):
        measure = "决算数"
    elif _BUDGETED.search(q) and "决算" in q:
        measure = "预算数"

    target_text = rest
    given = _GIVEN_BUDGET.search(target_text)
    if given:  # 全年预算17.68万元: a figure stated in the question, not the item (全年预算 = the whole budget)
        target_text = target_text.replace(given.group(0), "|")
    if measure == "决算数":  # 收入支出决算总计: the measure word inside a line's name is the measure, not the line
        target_text = target_text.replace("决算", "")
    if len(departments.names) >= 2:  # 三公经费支出合计多少 over a list: 合计 is the operation, not the 支出合计 line
        target_text = _SUM.sub("|", target_text)
    target, denominator = vocab.find_targets(target_text, with_share=bool(_SHARE.search(rest)))
    denominator_parts = vocab.summed_whole(target_text) if _SHARE.search(rest) else []
    if denominator_parts:  # 占三公经费、会议费、培训费合计: the part is named before 占
        denominator = None
    op, threshold = find_condition(rest, unit, bare=bool(_COUNT.search(rest) or _LIST.search(rest) or _EVERY.search(rest)))
    k = _top_k(rest)
    order: Literal["desc", "asc"] = "asc" if re.search(r"最低|最少|最小|倒数|垫底|后\d|后[一二两三四五六七八九十]", rest) else "desc"
    several_departments = len(departments.names) + len(departments.unknown) >= 2
    aggregate_scope = bool(_EVERY.search(rest)) or (not departments.names and not departments.unknown and
                                                     not departments.candidates)
    items: Literal["department", "project", "indicator"] = "department"
    if (named := _project_name(rest)) and (target is None or target.kind != "project" or target.key == "*") and (
            target is None or target.kind != "concept" or target.key == "project"):
        project = vocab.fuzzy_project(named)
        if project is not None and (target is None or target.key == "*" or normalize(target.key) in named or target.kind == "concept"):
            target = project  # 会计人员考培项目预算安排多少: the project as typed, matched to its printed name
    if target is None and "项目" in rest:
        target = vocab.any_project()
    if target is None and vocab.paraphrase is not None and not _WHY.search(rest):
        from .semantic import metric_phrase

        if (phrase := metric_phrase(rest)) and (matched := vocab.paraphrase.match(phrase)):
            target = matched[0]  # 吃喝招待 → 公务接待费: no word of the vocabulary, but one item close in meaning
            notes.append(f"“{phrase}”按“{target.label}”理解")
    if target is not None and target.kind == "project" and target.key == "*":
        items = "project"

    if (value_of := _INDICATOR_VALUE.search(rest)) and not re.search(r"多少个|几个|几项|多少项", rest):
        keyword = value_of.group(1)
        if target is not None and target.kind == "project":
            keyword = keyword.split(normalize(target.key))[-1]
        keyword = re.sub(r"^(?:的|项目|经费)+|(?:的|全年|年度|绩效)+$", "", keyword)
        return QueryPlan(intent="lookup", items="indicator", keyword=keyword, target=target if target and target.kind == "project"
                         else None, departments=departments.names, years=years, regions=regions,
                         department_mentions=departments.mentions, unknown_departments=departments.unknown,
                         candidates=departments.candidates)
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
    elif denominator is not None or denominator_parts or (_SHARE.search(rest) and target is not None):
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
    elif several_departments and _LIST.search(rest) and not _SUM.search(rest):
        intent = "lookup"  # 人大与政协…分别是多少: each department's figure
    elif _SUM.search(rest) or (several_departments and not _COMPARE.search(rest)):
        intent = "sum"
    elif _SERIES.search(rest) or len(years) > 2 or (is_range and len(years) > 1):
        intent = "series"
    elif _EVERY.search(rest) or (items == "project" and not departments.names):
        intent = "list"
    else:
        intent = "lookup"
    if target is None and intent == "why" and re.search(r"预算|收支|收入|支出|盘子|规模", rest) and _CHANGE.search(rest):
        target = Target(kind="concept", key="grand_total", label="收支总计")  # 预算为啥增加了: the whole budget's change
    if target is None and intent != "why":
        intent = "unknown"
    if intent == "lookup" and items == "project" and departments.names:
        intent = "list"
    if len(doc_kinds) == 2 and intent in ("lookup", "change", "compare"):
        intent = "compare"  # 部门预算和单位预算…差多少: the department's two documents side by side
    else:
        doc_kinds = []

    return QueryPlan(
        intent=intent, target=target, denominator=denominator, denominator_parts=denominator_parts, departments=departments.names,
        department_mentions=departments.mentions, unknown_departments=departments.unknown,
        candidates=departments.candidates, regions=regions, years=years, doc_kind=doc_kind, measure=measure, unit=unit,
        doc_kinds=doc_kinds, k=k, order=order, operator=op, threshold=threshold, items=items, notes=notes, change=change,
        share_condition=share_condition, given_budget=_given_value(given, unit) if given else None,
        recent=_cn_number(m.group(1)) if (m := _RECENT.search(q)) else None,
    )
