"""Figures stated in narrative text: '“三公”经费预算数为 22.50 万元，比上年执行数增加 0.58 万元，增长 2.6%'.

Text is read paragraph by paragraph (PDF lines wrap mid-sentence), then sentence by sentence. A paragraph can go on
about its last figure: '2025年当年预算执行数为1690.69万元' is that figure's prior, '2026年预算安排1672.67万元，比…减少
1.07%' repeats it with its change, and a following '主要原因是…' sentence gives the reason.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from yusuan.model import Block, Fact, Provenance, TextLine, ValueSource

from .numbers import to_wanyuan

_SENTENCE_END = re.compile(r"[。；;！？]")
_LIST_ITEM = re.compile(r"^\s*(?:[(（][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+[、.．]|\d+[、.．](?!\d))")
_AMOUNT = re.compile(r"(?P<num>\d+(?:,\d{3})*(?:\.\d+)?)\s*(?P<unit>万元|亿元|元)")
_SUBJECT_STOP = re.compile(r"[，,。；;：:、（）()的]|其中|包括|主要|用于|比上年|较上年|与上年")
# Verbs between a subject and its figure; '预算' and '总额' stay with the subject (部门收入预算为 → 部门收入预算).
_VERBS = re.compile(r"(预算数为|预算数|决算数为|决算数|预算安排|安排|决算|共计|合计为|为|是|达到|(?<![合总小])计)$")
_MEASURE_ONLY = re.compile(r"^(?:年初|全年|当年|本年)?(?:预算数?|决算数?|执行数)?$")
_CODE_NOTE = re.compile(r"[(（](\d*[类款项]|境)[)）]")  # 公共安全支出(204类)司法(06款), 因公出国(境)费: one subject
_CHANGE_VERB = re.compile(r"(增加|减少|增长|下降|降低|上升)\s*$")
_CHANGE = re.compile(
    r"^[^。；;]{0,24}?(?:比|较|与)(?:上年|上一年|\d{4}年)[^，,。；;]{0,12}?(?P<dir>增加|减少|增长|下降|持平|降低|上升|一致)"
    r"\s*(?P<num>\d+(?:\.\d+)?)?\s*(?P<unit>万元|元|%)?"
)
_PCT = re.compile(r"^[^。；;]{0,40}?(?P<dir>增长|下降|增加|减少|降低|上升)\s*(?P<num>\d+(?:\.\d+)?)\s*%")
_SHARE = re.compile(r"^\s*[，,]?\s*占[^，,。；;%]{0,20}?(?P<num>\d+(?:\.\d+)?)\s*%")
_REASON = re.compile(r"(?P<reason>主要(?:原因)?(?:是|为|系|用于)[:：]?[^。；;]+)")
_PRIOR = re.compile(r"^(?:当年|上年|上一年)?(?:预算)?执行数$|^上年(?:预算数|决算数)$")
_REPEAT = re.compile(r"(?:^|\d{4}\s*年度?)(?:预算)?安排\s*$")
_YEAR_PREFIX = re.compile(r"^.*?\d{4}\s*年(?:度)?")
_DECREASE = ("减少", "下降", "降低")


@dataclass
class _Paragraph:
    """The lines of one text block joined into one string, with the line each character came from."""

    text: str
    starts: list[int]
    lines: list[TextLine]

    @classmethod
    def of(cls, lines: list[TextLine]) -> _Paragraph:
        parts, starts, offset = [], [], 0
        for line in lines:
            text = line.text.strip()
            if parts and _LIST_ITEM.match(text) and not _SENTENCE_END.search(parts[-1][-1:]):
                text = "。" + text  # a list item starts a new sentence even when the last one has no full stop
            starts.append(offset)
            parts.append(text)
            offset += len(text)
        return cls("".join(parts), starts, lines)

    def line_at(self, offset: int) -> TextLine:
        return self.lines[max(0, bisect.bisect_right(self.starts, offset) - 1)]

    def sentences(self):
        start = 0
        for match in _SENTENCE_END.finditer(self.text):
            yield start, self.text[start : match.end()]
            start = match.end()
        if start < len(self.text):
            yield start, self.text[start:]


def extract_facts(blocks: list[Block], source: str) -> list[Fact]:
    facts: list[Fact] = []
    previous: list[Fact] = []
    for block in blocks:
        if block.kind == "table" or not block.lines:
            continue
        paragraph = _Paragraph.of(block.lines)
        found = _paragraph_facts(paragraph, source, previous)
        facts.extend(found)
        previous = found or previous
    return facts


def _paragraph_facts(paragraph: _Paragraph, source: str, previous: list[Fact]) -> list[Fact]:
    facts: list[Fact] = []
    for offset, sentence in paragraph.sentences():
        if "元" not in sentence:
            _attach_reason(sentence, facts or previous)
            continue
        facts.extend(_sentence_facts(sentence, offset, paragraph, source, facts))
    return facts


def _attach_reason(sentence: str, facts: list[Fact]) -> None:
    """'财政拨款收入支出增加的主要原因是工作量增加': the reason for the changes just stated."""
    match = _REASON.search(sentence)
    if not match:
        return
    for fact in facts:
        if fact.reason is None and (fact.change is not None or fact.change_pct is not None):
            fact.reason = match.group("reason").strip()


def _sentence_facts(sentence: str, offset: int, paragraph: _Paragraph, source: str, earlier: list[Fact]) -> list[Fact]:
    facts: list[Fact] = []
    reason = _REASON.search(sentence)
    for match in _AMOUNT.finditer(sentence):
        value = to_wanyuan(float(match.group("num").replace(",", "")), match.group("unit"))
        before, after = sentence[: match.start()], sentence[match.end() :]
        current = next((fact for fact in reversed(earlier + facts) if fact.metric == "amount"), None)
        if _CHANGE_VERB.search(before):
            if current is not None and current.change is None:  # '…支出减少63.14万元，下降2.10%' about the last figure
                current.change = -value if _CHANGE_VERB.search(before).group(1) in _DECREASE else value
                _apply_change(current, after, with_amount=False)
            continue
        if current is not None and current.value == value and _REPEAT.search(before):
            _apply_change(current, after)  # '2026年预算安排1672.67万元，比…减少1.07%' restates the last figure
            continue
        subject = _subject(before)
        if subject is None:
            continue
        if current is not None and _PRIOR.match(subject):
            current.prior = current.prior if current.prior is not None else value
            continue
        line = paragraph.line_at(offset + match.start())
        fact = _fact(subject, value, sentence, line, source, match)
        _apply_change(fact, after)
        if reason and reason.start() > match.start():
            fact.reason = reason.group("reason").strip()
        facts.append(fact)
        share = _SHARE.match(after)
        if share:
            facts.append(_fact(subject, float(share.group("num")), sentence, line, source, share, metric="share"))
    return facts


def _fact(subject: str, value: float, sentence: str, line: TextLine, source: str, match, metric: str = "amount") -> Fact:
    fact = Fact(
        subject=subject, metric=metric, value=value, sentence=sentence.strip(" 。；;"),
        provenance=Provenance(source=source, page=line.page, line=line.line, bbox=line.bbox, raw=line.raw.strip()),
        table_kind="narrative",
    )
    unit = match.groupdict().get("unit") or "%"
    fact.values["value"] = ValueSource(raw=match.group(0).strip(" ，,"), unit_original=unit, page=line.page, line=line.line)
    return fact


def _apply_change(fact: Fact, after: str, with_amount: bool = True) -> None:
    """'，比上年执行数增加 1518.51 万元，增长 40.4%' or '与2025年预算持平' right after a figure."""
    rest = after
    change = _CHANGE.match(after) if with_amount else None
    if change:
        direction = change.group("dir")
        sign = -1 if direction in _DECREASE else 1
        if direction in ("持平", "一致"):
            fact.change = 0.0
        elif change.group("num") and change.group("unit") in ("万元", "元"):
            fact.change = sign * to_wanyuan(float(change.group("num")), change.group("unit"))
        elif change.group("num") and change.group("unit") == "%":
            fact.change_pct = sign * float(change.group("num"))
        rest = after[change.end() :]
    if change or not with_amount:
        pct = _PCT.match(rest)
        if pct and fact.change_pct is None:
            fact.change_pct = (-1 if pct.group("dir") in _DECREASE else 1) * float(pct.group("num"))
    if fact.change is not None and fact.value is not None and fact.metric == "amount" and fact.prior is None:
        fact.prior = round(fact.value - fact.change, 6)


def _subject(before: str) -> str | None:
    tail = _CODE_NOTE.sub(r"〔\1〕", before[-60:])
    pieces = _SUBJECT_STOP.split(tail)
    candidate = pieces[-1].strip() if pieces else ""
    candidate = _YEAR_PREFIX.sub("", candidate).strip()
    if len(pieces) > 1 and _MEASURE_ONLY.match(_VERBS.sub("", candidate).strip()) and re.search(r"[:：]\s*[^:：]*$", tail):
        candidate = pieces[-2].strip()  # '收入预算：2026年年初预算数 186549.30万元' is about 收入预算
    candidate = _VERBS.sub("", candidate).strip()
    candidate = re.sub(r"^(我部门|本部门|部门|单位|其中|另外|全年|今年|本年)", "", candidate).strip()
    candidate = _LIST_ITEM.sub("", re.sub(r"\s+", "", candidate)).replace("〔", "(").replace("〕", ")")
    if len(candidate) < 2 or len(candidate) > 40 or re.fullmatch(r"[\d.()]+", candidate):
        return None
    return candidate
