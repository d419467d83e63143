"""Figures stated in narrative text: '“三公”经费预算数为 22.50 万元，比上年执行数增加 0.58 万元，增长 2.6%'."""

from __future__ import annotations

import re

from yusuan.model import Fact, Provenance, TextLine, ValueSource

from .numbers import to_wanyuan

_SENTENCE_END = re.compile(r"(?<=[。；;])")
_AMOUNT = re.compile(r"(?P<num>\d+(?:,\d{3})*(?:\.\d+)?)\s*(?P<unit>万元|亿元|元)")
_SUBJECT_STOP = re.compile(r"[，,。；;：:、（）()]|其中|包括|主要|用于|安排|比上年|较上年|与上年")
_VERBS = re.compile(r"(预算数为|预算数|决算数为|决算数|预算为|预算|共计|合计|总额|为|是|达到|计)$")
_CHANGE = re.compile(
    r"^[^。；;]{0,24}?(?:比|较|与)(?:上年|上一年|\d{4}年)[^，,。；;]{0,12}?(?P<dir>增加|减少|增长|下降|持平|降低|上升|一致)"
    r"\s*(?P<num>\d+(?:\.\d+)?)?\s*(?P<unit>万元|元|%)?"
)
_PCT = re.compile(r"^[^。；;]{0,40}?(?P<dir>增长|下降|增加|减少|降低|上升)\s*(?P<num>\d+(?:\.\d+)?)\s*%")
_REASON = re.compile(r"主要(?:原因)?(?:是|为|系|用于)(?P<reason>[^。；;]+)")
_YEAR_PREFIX = re.compile(r"^.*?\d{4}\s*年(?:度)?")


def extract_facts(lines: list[TextLine], source: str) -> list[Fact]:
    facts: list[Fact] = []
    for line in lines:
        for sentence in _SENTENCE_END.split(line.text):
            if "万元" not in sentence and "元" not in sentence:
                continue
            facts.extend(_facts_in_sentence(sentence, line, source))
    return facts


def _facts_in_sentence(sentence: str, line: TextLine, source: str) -> list[Fact]:
    facts = []
    reason_match = _REASON.search(sentence)
    for match in _AMOUNT.finditer(sentence):
        before = sentence[: match.start()]
        if re.search(r"(增加|减少|增长|下降|降低|上升)\s*$", before):
            continue  # a change amount, attached to the preceding figure
        subject = _subject(before)
        if not subject:
            continue
        value = to_wanyuan(float(match.group("num").replace(",", "")), match.group("unit"))
        fact = Fact(
            subject=subject, value=value, sentence=sentence.strip(),
            provenance=Provenance(source=source, page=line.page, line=line.line, bbox=line.bbox, raw=line.raw.strip()),
            table_kind="narrative",
        )
        fact.values["value"] = ValueSource(raw=match.group(0), unit_original=match.group("unit"), page=line.page,
                                           line=line.line)
        after = sentence[match.end() :]
        change = _CHANGE.match(after)
        if change:
            direction = change.group("dir")
            sign = -1 if direction in ("减少", "下降", "降低") else 1
            if direction in ("持平", "一致"):
                fact.change = 0.0
            elif change.group("num") and change.group("unit") in ("万元", "元"):
                fact.change = sign * to_wanyuan(float(change.group("num")), change.group("unit"))
            elif change.group("num") and change.group("unit") == "%":
                fact.change_pct = sign * float(change.group("num"))
            rest = after[change.end() :]
            pct = _PCT.match(rest)
            if pct and fact.change_pct is None:
                pct_sign = -1 if pct.group("dir") in ("减少", "下降", "降低") else 1
                fact.change_pct = pct_sign * float(pct.group("num"))
            if fact.change is not None and fact.value is not None:
                fact.prior = round(fact.value - fact.change, 6)
        if reason_match and reason_match.start() > match.start():
            fact.reason = reason_match.group("reason").strip()
        facts.append(fact)
    return facts


def _subject(before: str) -> str | None:
    tail = before[-40:]
    pieces = _SUBJECT_STOP.split(tail)
    candidate = pieces[-1].strip() if pieces else ""
    candidate = _YEAR_PREFIX.sub("", candidate).strip()
    candidate = _VERBS.sub("", candidate).strip()
    candidate = re.sub(r"^(我部门|本部门|部门|单位|其中|另外|全年|今年|本年)", "", candidate).strip()
    candidate = re.sub(r"\s+", "", candidate)
    if len(candidate) < 2 or len(candidate) > 30 or re.fullmatch(r"[\d.]+", candidate):
        return None
    return candidate
