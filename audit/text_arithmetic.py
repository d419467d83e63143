"""Arithmetic in the text: 同比 changes and percentages, 完成率, shares, parts that add up to a stated total,
决算/预算 comparison wording, and an item's opening figure against its later 预算安排 figure — recomputed from the
figures the text itself prints, within their printed precision."""

from __future__ import annotations

import re
from collections.abc import Iterator

from yusuan.extract.numbers import UNIT_FACTORS

from .context import AuditContext, Figure, Paragraph, figures, money_figures, to_number
from .items import text_items
from .model import ComparedValue, Issue
from .registry import rule
from .text_table import stated_target, table_value

_UP = ("增加", "增长", "上升", "提高")
_DOWN = ("减少", "下降", "降低")
_DIRECTION = "|".join(_UP + _DOWN)
_CHANGE_PAIR = re.compile(
    rf"(?P<w1>{_DIRECTION})\s*(?P<d>\d+(?:,\d{{3}})*(?:\.\d+)?)\s*万元\s*[，,]?\s*"
    rf"(?:同比)?(?P<w2>{_DIRECTION})\s*(?P<p>\d+(?:\.\d+)?)\s*%"
)
_COMPARED = re.compile(r"^[^。；;%]{0,30}?(?:比|较|与)[^。；;%万元]{0,20}$")
_COMPARED_OPENING = re.compile(r"^\s*(?:与|比|较)[^。；;%万元]{0,16}$")
_PRIOR_LABEL = re.compile(r"(?:执行数|上年预算数|上年决算数|上年数)\s*为?\s*$")
_CURRENT_LABEL = re.compile(r"(?:预算安排|安排|预算数为|预算为)\s*$")
_PCT_CHANGE = re.compile(rf"(?:比|较|与)[^。；;，,]{{0,20}}?(?P<w>{_DIRECTION}|持平)\s*(?P<p>\d+(?:\.\d+)?)?\s*%?")
_COMPLETION = re.compile(r"完成(?:年初)?预算的\s*(?P<p>\d+(?:\.\d+)?)\s*%")
_WORDING = re.compile(
    r"决算数?(?P<w>大于|高于|多于|小于|低于|少于|等于)(?:年初)?预算数?|决算数?与(?:年初)?预算数?(?P<same>基本持平|持平|一致|相等)"
)
_SHARE = re.compile(r"^\s*[，,]?\s*占(?P<what>[^%，,。；;\d]{0,12}?)\s*(?P<p>\d+(?:\.\d+)?)\s*%")
_WHOLE_MARK = re.compile(r"^[^\d]{0,4}(?:其中|主要用于)")
_PART_GROUPS = {
    "政府采购": ("货物", "工程", "服务"),
    "“三公”经费": ("因公出国", "公务用车购置及运行", "公务接待费"),
    "三公经费": ("因公出国", "公务用车购置及运行", "公务接待费"),
    "基本支出": ("人员经费", "公用经费"),
}


def _printed_unit(text: str) -> float:
    """One unit of the last printed digit: a percentage may be truncated rather than rounded, which is no error."""
    return 10 ** -len([*text.split("."), ""][1])


def _sign(word: str) -> int:
    return 1 if word in _UP else -1


def _pct_range(current: float, current_tol: float, prior: float, prior_tol: float) -> tuple[float, float] | None:
    """Lowest and highest (current - prior) / prior × 100 the printed figures allow."""
    corners = []
    for c in (current - current_tol, current + current_tol):
        for p in (prior - prior_tol, prior + prior_tol):
            if p <= 0:
                return None
            corners.append((c - p) / p * 100)
    return min(corners), max(corners)


def _ratio_range(part: Figure, whole: Figure) -> tuple[float, float] | None:
    corners = []
    for n in (part.value - part.tolerance, part.value + part.tolerance):
        for d in (whole.value - whole.tolerance, whole.value + whole.tolerance):
            if d <= 0:
                return None
            corners.append(n / d * 100)
    return min(corners), max(corners)


def _issue(ctx: AuditContext, rule_id: str, paragraph: Paragraph, start: int, end: int, message: str, suggestion: str,
           shown: list[tuple[Figure, str]], evidence: str) -> Issue:
    page, bbox = paragraph.place(start, end)
    return Issue(rule_id=rule_id, family="text_arithmetic", severity="error", message=message, page=page, bbox=bbox,
                 values=[ctx.text_value(paragraph, figure, label) for figure, label in shown], suggestion=suggestion,
                 evidence=evidence)


def _labelled(paragraph: Paragraph, begin: int, end: int, label: re.Pattern) -> Figure | None:
    for figure in figures(paragraph.text[begin:end], begin):
        if figure.unit != "%" and label.search(paragraph.text[max(begin, figure.start - 12) : figure.start]):
            return figure
    return None


@rule("TA01", "text_arithmetic", "同比增减额、增减幅度与增减方向按说明自身的数字重算")
def year_on_year(ctx: AuditContext) -> Iterator[Issue]:
    for paragraph in ctx.body_paragraphs:
        for begin, segment in paragraph.segments():
            if "%" not in segment:  # every rate this rule recomputes is printed as a percentage
                continue
            end = begin + len(segment)
            yield from _change_pairs(ctx, paragraph, begin, segment)
            prior = _labelled(paragraph, begin, end, _PRIOR_LABEL)
            current = _labelled(paragraph, begin, end, _CURRENT_LABEL)
            if prior is None or current is None or current.start < prior.start:
                continue
            match = _PCT_CHANGE.search(paragraph.text, current.end, end)
            if match is None or match["p"] is None:
                continue
            printed = float(match["p"]) * _sign(match["w"])
            allowed = _pct_range(current.value, current.tolerance, prior.value, prior.tolerance)
            if allowed is None:
                continue
            slack = _printed_unit(match["p"])
            if allowed[0] - slack <= printed <= allowed[1] + slack:
                continue
            actual = (current.value - prior.value) / prior.value * 100
            wrong_direction = (actual > 0) != (printed > 0) and abs(actual) > slack
            message = (f"说明称比上年{match['w']}{match['p']}%，按{prior.raw}与{current.raw}计算应为"
                       f"{'增加' if actual > 0 else '减少'}{abs(actual):.2f}%")
            yield _issue(ctx, "TA01", paragraph, match.start(), match.end(), message + ("（增减方向相反）" if wrong_direction else ""),
                         "核对上年数、本年数与增减幅度", [(prior, "上年数"), (current, "本年数")], segment[:160])


def _change_pairs(ctx: AuditContext, paragraph: Paragraph, begin: int, segment: str) -> Iterator[Issue]:
    for match in _CHANGE_PAIR.finditer(segment):
        s1, s2 = _sign(match["w1"]), _sign(match["w2"])
        start, end = begin + match.start(), begin + match.end()
        if s1 != s2:
            yield _issue(ctx, "TA01", paragraph, start, end, f"同一处先说“{match['w1']}”后说“{match['w2']}”，增减方向自相矛盾",
                         "统一增减方向的表述", [], segment[:160])
            continue
        sentence_start = max(segment.rfind(mark, 0, match.start()) for mark in "。；;") + 1
        before = money_figures(segment[sentence_start : match.start()], begin + sentence_start)
        if before and _COMPARED.search(segment[before[-1].end - begin : match.start()]):
            current = before[-1]
        elif not before and _COMPARED_OPENING.match(segment[sentence_start : match.start()]):
            current = _sole_amount_before(segment, begin, sentence_start)
        else:
            continue
        if current is None:
            continue
        change = next(f for f in figures(segment[match.start() :], start) if f.unit != "%")
        prior_value = current.value - s1 * change.value
        prior = Figure(prior_value, f"{prior_value:.2f}万元", "万元", current.start, current.end)
        prior_tol = current.tolerance + change.tolerance
        allowed = _pct_range(current.value, current.tolerance, prior_value, prior_tol)
        if allowed is None:
            continue
        printed = float(match["p"]) * s2
        slack = _printed_unit(match["p"])
        if allowed[0] - slack <= printed <= allowed[1] + slack:
            continue
        actual = s1 * change.value / prior_value * 100
        yield _issue(ctx, "TA01", paragraph, start, end,
                     f"说明称{match['w1']}{change.raw}、{match['w2']}{match['p']}%，"
                     f"按本年{current.raw}与上年{prior.raw}计算幅度应为{abs(actual):.2f}%",
                     "核对增减额与增减幅度", [(current, "本年数"), (change, "增减额")], segment[:160])


def _sole_amount_before(segment: str, begin: int, sentence_start: int) -> Figure | None:
    """The amount a sentence opening with its comparison ('。与上年相比增加…') compares: the one amount of the sentence
    before it ('住房保障(类)支出 7344.46万元,主要用于…。'); None when that sentence prints none or several."""
    previous_start = max(segment.rfind(mark, 0, max(sentence_start - 1, 0)) for mark in "。；;") + 1
    money = money_figures(segment[previous_start:sentence_start], begin + previous_start)
    return money[0] if len(money) == 1 else None


def _budget_and_final(paragraph: Paragraph, begin: int, segment: str) -> tuple[Figure, Figure] | None:
    end = begin + len(segment)
    budget = _labelled(paragraph, begin, end, re.compile(r"全年预算(?:数)?\s*为?\s*$")) or _labelled(
        paragraph, begin, end, re.compile(r"年初预算(?:数)?\s*为?\s*$"))
    final = _labelled(paragraph, begin, end, re.compile(r"决算(?:数)?\s*为?\s*$"))
    if budget is None or final is None or final.start < budget.start:
        return None
    return budget, final


@rule("TA02", "text_arithmetic", "完成（年初）预算的百分比按年初预算数与决算数重算")
def completion_rate(ctx: AuditContext) -> Iterator[Issue]:
    for paragraph in ctx.body_paragraphs:
        for begin, segment in paragraph.segments():
            match = _COMPLETION.search(segment)
            pair = _budget_and_final(paragraph, begin, segment) if match else None
            if pair is None or match is None:
                continue
            budget, final = pair
            allowed = _ratio_range(final, budget)
            if allowed is None:
                continue
            printed = float(match["p"])
            slack = _printed_unit(match["p"])
            if allowed[0] - slack <= printed <= allowed[1] + slack:
                continue
            yield _issue(ctx, "TA02", paragraph, begin + match.start(), begin + match.end(),
                         f"说明称完成预算的{match['p']}%，按预算{budget.raw}、决算{final.raw}计算应为"
                         f"{final.value / budget.value * 100:.2f}%",
                         "核对完成率", [(budget, "年初预算"), (final, "决算数")], segment[:160])


@rule("TA03", "text_arithmetic", "“决算数大于/小于/等于预算数”的表述与两个数字一致")
def budget_final_wording(ctx: AuditContext) -> Iterator[Issue]:
    for paragraph in ctx.body_paragraphs:
        for begin, segment in paragraph.segments():
            match = _WORDING.search(segment)
            pair = _budget_and_final(paragraph, begin, segment) if match else None
            if pair is None or match is None:
                continue
            budget, final = pair
            difference = final.value - budget.value
            tolerance = budget.tolerance + final.tolerance
            word = match["w"] or match["same"]
            if word in ("大于", "高于", "多于"):
                wrong = difference <= tolerance
            elif word in ("小于", "低于", "少于"):
                wrong = difference >= -tolerance
            elif word == "基本持平":
                wrong = abs(difference) > max(tolerance, 0.05 * budget.value)
            else:
                wrong = abs(difference) > tolerance
            if not wrong:
                continue
            relation = "大于" if difference > tolerance else "小于" if difference < -tolerance else "等于"
            yield _issue(ctx, "TA03", paragraph, begin + match.start(), begin + match.end(),
                         f"说明称决算数{word}预算数，但年初预算{budget.raw}、决算{final.raw}，决算数{relation}预算数",
                         f"改为“决算数{relation}预算数”并说明原因", [(budget, "年初预算"), (final, "决算数")], segment[:160])


@rule("TA04", "text_arithmetic", "科目开头的金额与其后“预算安排”金额一致")
def opening_vs_arranged(ctx: AuditContext) -> Iterator[Issue]:
    label = re.compile(r"预算安排\s*$")
    for item in text_items(ctx):
        if item.amount is None:
            continue
        arranged = _labelled(item.paragraph, item.amount.end, item.start + len(item.text), label)
        if arranged is None or abs(arranged.value - item.amount.value) <= arranged.tolerance + item.amount.tolerance + 1e-9:
            continue
        name = item.path[-1].name
        yield _issue(ctx, "TA04", item.paragraph, arranged.start, arranged.end,
                     f"“{name}”开头列{item.amount.raw}，后文预算安排为{arranged.raw}，前后不一致",
                     "核对该科目金额，前后应一致", [(item.amount, "开头金额"), (arranged, "预算安排")], item.text[:160])


def _named_whole(ctx: AuditContext, what: str) -> tuple[Figure, ComparedValue] | None:
    """The table figure of the whole a share names ('占“三公”经费的18.85%', '占本年支出合计的99.86%')."""
    subject = re.sub(r"(?:的|比重|比例)$", "", what.strip())
    target = stated_target(subject, ctx.is_final_accounts)
    found = table_value(ctx, target, "决算数" if ctx.is_final_accounts else "预算数") if target else None
    if found is None or not found[2]:
        return None
    record, field, value = found
    shown = ctx.record_value(record, field, record.table_title or record.table_kind, value)
    return Figure(value, shown.raw or f"{value:.2f}万元", "万元", 0, 0), shown


_STATED_AS = re.compile(r"(?:预算数?|决算数?|支出)?(?:为|是|安排)?\s*[:：]?\s*$")


def _as_tabled(ctx: AuditContext, paragraph: Paragraph, figure: Figure) -> Figure:
    """A text figure that names a table quantity ('因公出国(境)费110万元') at the table's printed precision (110.00),
    when the table agrees with it: a share of '110' is then recomputed from 110.00, not from anything in 109.5–110.5."""
    before = _STATED_AS.sub("", paragraph.text[max(0, figure.start - 24) : figure.start])
    target = next((t for k in range(len(before) - 1) if (t := stated_target(before[k:], ctx.is_final_accounts))), None)
    found = table_value(ctx, target, "决算数" if ctx.is_final_accounts else "预算数") if target else None
    if found is None:
        return figure
    record, field, value = found
    if abs(value - figure.value) > figure.tolerance + ctx.record_tolerance(record, field) + 1e-9:
        return figure
    source = record.values.get(field)
    if source is None or not source.raw:
        return figure
    return Figure(value, source.raw, source.unit_original or "万元", figure.start, figure.end)


@rule("TA05", "text_arithmetic", "“占X%”按所占的总额重算（总额为前文“其中/主要用于”之前的数，或“占…的”所指的表中总额）")
def shares(ctx: AuditContext) -> Iterator[Issue]:
    for paragraph in ctx.body_paragraphs:
        whole: Figure | None = None
        money = money_figures(paragraph.text)
        unstated: list[tuple[Figure, re.Match]] = []  # shares of a whole the paragraph does not print
        for index, figure in enumerate(money):
            following = paragraph.text[figure.end : money[index + 1].start if index + 1 < len(money) else len(paragraph.text)]
            match = _SHARE.match(following)
            named = _named_whole(ctx, match["what"]) if match and match["what"] else None
            if match and not named and not match["what"] and whole is None:
                unstated.append((figure, match))
            elif match and (named or (not match["what"] and whole is not None)):
                base = named[0] if named else whole
                allowed = _ratio_range(_as_tabled(ctx, paragraph, figure), base)
                printed = float(match["p"])
                slack = _printed_unit(match["p"])
                if allowed and not allowed[0] - slack <= printed <= allowed[1] + slack:
                    start = figure.end + match.start()
                    issue = _issue(ctx, "TA05", paragraph, start, figure.end + match.end(),
                                   f"说明称{figure.raw}占{match['what'] or ''}{match['p']}%，按总额{base.raw}"
                                   f"{'（' + named[1].label + '）' if named else ''}计算应为{figure.value / base.value * 100:.2f}%",
                                   "核对占比", [(figure, "分项")] + ([] if named else [(base, "总额")]),
                                   paragraph.text[max(0, figure.start - 30) : start + 12])
                    if named:
                        issue.values.append(named[1])
                    yield issue
            elif _WHOLE_MARK.match(following):
                whole = figure
        yield from _shares_of_listed_parts(ctx, paragraph, unstated)


def _shares_of_listed_parts(ctx: AuditContext, paragraph: Paragraph, shares: list[tuple[Figure, re.Match]]) -> Iterator[Issue]:
    """'人员支出4944.99万元,占72.3%;日常公用支出626.67万元,占9.2%;项目支出1266.75万元,占18.5%': the whole is the
    sum of the parts when the list is complete, which at least two of its shares must confirm (a partial list's
    shares agree with no sum); the shares that disagree with it are reported."""
    if len(shares) < 3:
        return
    parts = [figure for figure, _ in shares]
    total = sum(f.value for f in parts)
    summed = Figure(total, f"{total:.2f}万元（各分项之和）", "万元", 0, 0)
    tolerance = sum(f.tolerance for f in parts)
    wrong = []
    for figure, match in shares:
        corners = [n / d * 100 for n in (figure.value - figure.tolerance, figure.value + figure.tolerance)
                   for d in (summed.value - tolerance, summed.value + tolerance) if d > 0]
        slack = _printed_unit(match["p"])
        if corners and not min(corners) - slack <= float(match["p"]) <= max(corners) + slack:
            wrong.append((figure, match))
    if len(shares) - len(wrong) < 2:
        return
    for figure, match in wrong:
        start = figure.end + match.start()
        yield _issue(ctx, "TA05", paragraph, start, figure.end + match.end(),
                     f"说明称{figure.raw}占{match['p']}%，按所列各项之和{summed.value:,.2f}万元计算应为"
                     f"{figure.value / summed.value * 100:.2f}%", "核对占比",
                     [(figure, "分项"), (summed, "各分项之和")], paragraph.text[max(0, figure.start - 30) : start + 12])


@rule("TA06", "text_arithmetic", "说明中的总额等于其列出的分项之和（政府采购、三公经费、基本支出）")
def parts_sum(ctx: AuditContext) -> Iterator[Issue]:
    for paragraph in ctx.sections:
        text = paragraph.text
        for total_word, parts in _PART_GROUPS.items():
            at = text.find(total_word)
            if at < 0:
                continue
            money = money_figures(text[at:], at)
            if not money or "其中" not in text[money[0].end : money[0].end + 20]:
                continue
            total = money[0]
            found: list[Figure] = []
            for part in parts:
                position = text.find(part, total.end)
                part_figures = money_figures(text[position:], position) if position >= 0 else []
                if not part_figures or part_figures[0].start - position > len(part) + 12:
                    break
                found.append(part_figures[0])
            if len(found) != len(parts):
                continue
            tolerance = total.tolerance + sum(f.tolerance for f in found)
            summed = sum(f.value for f in found)
            if abs(summed - total.value) <= tolerance + 1e-9:
                continue
            yield _issue(ctx, "TA06", paragraph, total.start, total.end,
                         f"{total_word}总额{total.raw}，但所列分项之和为{summed:,.2f}万元",
                         "核对总额与各分项", [(total, "总额"), *((f, p) for f, p in zip(found, parts, strict=True))],
                         text[max(0, at) : at + 160])


_STATED_CHANGE = re.compile(rf"(?:比|较|与)[^。；;]{{0,30}}?(?P<w>{_DIRECTION})")
_REASON = re.compile(r"主要(?:原因)?(?:是|为|系)\s*[:：]?(?P<reason>[^。；;]+)")
# the reason's own verdict is its last word: '…宣传事务一般行政管理事务经费增加'
_REASON_VERDICT = re.compile(rf"(?P<w>{_DIRECTION})了?(?:的?(?:支出|经费|费用|预算|资金))?\s*[，,]?$")


@rule("TA07", "text_arithmetic", "原因与所解释的增减方向一致（“减少…主要原因是…经费增加”为方向相反）")
def reason_direction(ctx: AuditContext) -> Iterator[Issue]:
    """A 说明 that states a change and gives its reason: a reason whose verdict (its last word) is the opposite
    direction, with no word of the stated direction in it, contradicts the change it explains."""
    for paragraph in ctx.body_paragraphs:
        for begin, segment in paragraph.segments():
            for reason in _REASON.finditer(segment):
                changes = list(_STATED_CHANGE.finditer(segment, 0, reason.start()))
                verdict = _REASON_VERDICT.search(reason["reason"])
                if not changes or verdict is None:
                    continue
                stated = changes[-1]["w"]
                if segment[changes[-1].end() :].lstrip().startswith(("(", "（")):  # '增加(减少)': the template's two words
                    continue
                if _sign(stated) == _sign(verdict["w"]) or any(word in reason["reason"] for word in (_UP if _sign(stated) > 0 else _DOWN)):
                    continue
                yield _issue(ctx, "TA07", paragraph, begin + reason.start(), begin + reason.end(),
                             f"说明称{stated}，给出的原因却是“{reason['reason'].strip()}”（方向相反）",
                             "核对增减方向与原因，二者应一致", [], segment[:200])


_QUANTITY = re.compile(r"(?<![\d.])(?P<num>\d+(?:,\d{3})*(?:\.\d+)?)\s*"
                       r"(?P<unit>万平方米|平方米|万元|亿元|元|辆|人|名|个|台|套|亩|公顷|公里|千米|吨|件|所|户|间|张)")
# a figure right after these is a change or another year's figure, not a part of the total before 其中
_NOT_A_PART = re.compile(rf"(?:{_DIRECTION}|比|较|上年|去年|同期|执行数|单价)[^，,、；;。\d]{{0,10}}$")
_OPENING, _CLOSING = "(（", ")）"


def _depth_zero_quantities(text: str, start: int, end: int) -> list[re.Match]:
    """The quantities of text[start:end] outside any bracket opened in it ('8013平方米(其中计容面积7998平方米…)'
    holds 8013 only)."""
    found, depth, position = [], 0, start
    for match in _QUANTITY.finditer(text, start, end):
        for char in text[position : match.start()]:
            depth += char in _OPENING
            depth -= char in _CLOSING and depth > 0
        position = match.start()
        if depth == 0:
            found.append(match)
    return found


def _scope_end(text: str, at: int) -> int:
    """Where the list after 其中 ends: the bracket it opens in closes, or its sentence ends."""
    if at and text[at - 1] in _OPENING:
        depth = 1
        for index in range(at, len(text)):
            depth += (text[index] in _OPENING) - (text[index] in _CLOSING)
            if depth == 0:
                return index
        return len(text)
    ends = [index for mark in "。；;" if (index := text.find(mark, at)) >= 0]
    return min(ends, default=len(text))


@rule("TA08", "text_arithmetic", "“X，其中A、B…”的分项之和不超过总数（任何单位：万元、平方米、辆、人…）")
def parts_within_total(ctx: AuditContext) -> Iterator[Issue]:
    """'地上建筑面积为8013平方米(其中计容面积7998平方米,不计容面积105平方米)': parts listed after 其中 in the total's
    unit add up to at most the total (a list after 其中 may be partial, so only an excess is certain)."""
    for paragraph in ctx.body_paragraphs:
        text = paragraph.text
        for mark in re.finditer(r"其中", text):
            totals = [m for m in _QUANTITY.finditer(text, max(0, mark.start() - 30), mark.start())
                      if re.fullmatch(r"[\s，,:：(（]*", text[m.end() : mark.start()])]
            if not totals or _NOT_A_PART.search(text[max(0, totals[-1].start() - 12) : totals[-1].start()]):
                continue
            total = _figure(totals[-1])
            parts = [_figure(m) for m in _depth_zero_quantities(text, mark.end(), _scope_end(text, mark.start()))
                     if m["unit"] == totals[-1]["unit"] and not _NOT_A_PART.search(text[max(0, m.start() - 12) : m.start()])]
            summed = sum(part.value for part in parts)
            if not parts or summed <= total.value + total.tolerance + sum(part.tolerance for part in parts) + 1e-9:
                continue
            unit = totals[-1]["unit"]
            yield _issue(ctx, "TA08", paragraph, total.start, total.end,
                         f"{total.raw}，其中所列分项之和为{summed:,.{_decimals([*parts, total])}f}{unit}，超过总数",
                         "核对总数与各分项", [(total, "总数"), *((part, "分项") for part in parts)],
                         text[max(0, total.start - 20) : _scope_end(text, mark.start()) + 1][:200])


def _figure(match: re.Match) -> Figure:
    return Figure(to_number(match["num"]) * UNIT_FACTORS.get(match["unit"], 1.0), match.group(0), match["unit"], match.start(), match.end())


def _decimals(shown: list[Figure]) -> int:
    return max((len(raw.split(".")[1]) for f in shown if "." in (raw := re.sub(r"[^\d.]", "", f.raw))), default=0)
