"""Figures stated in narrative text: '“三公”经费预算数为 22.50 万元，比上年执行数增加 0.58 万元，增长 2.6%'.

Text is read paragraph by paragraph (PDF lines wrap mid-sentence; a paragraph the PDF reader cut in two at a page or
a wrapped line is joined again), then sentence by sentence. A paragraph can go on about its figures:

* '2025年当年预算执行数为1690.69万元' is the last figure's prior, '2026年预算安排1672.67万元，比…减少1.07%' repeats it
  with its change;
* a change names what it is about: '收入比2025年减少86,685.29万元，主要是一般公共预算拨款减少7,885.67万元' changes
  the 收入预算 and 一般公共预算拨款 stated before, '其中：因公出国（境）费支出决算持平' the 因公出国（境）费 figure;
* a reason ('主要原因是…') explains the changes just stated, or the ones it names ('财政拨款收入支出增加的主要原因是…');
* a figure without a name of its own ('2026年预算安排16.32万元', '支出决算为1511.89万元') belongs to the item its
  heading or list item names ('（二）公务接待费', '1、一般公共服务支出（类）财政事务（款）行政运行（项）。').
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from yusuan.model import Block, Fact, Provenance, TextLine, ValueSource

from .numbers import to_wanyuan

_SENTENCE_END = re.compile(r"[。；;！？]")
_SENTENCE_MARK = re.compile(r"[。；;！？（()）]")  # sentence ends, and the brackets whose full stops end none
_WHITESPACE = re.compile(r"\s+")
_LIST_ITEM = re.compile(r"^\s*(?:[(（][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+[、.．]|\d+[、.．](?!\d))")
_NUMBER = r"\d+(?:,\d{3})*(?:\.\d+)?"
# a zero needs no unit ('“三公”经费预算数为0，与2025年预算持平'): 0 is 0 in any unit, once a money word precedes it
_AMOUNT = re.compile(rf"(?P<num>{_NUMBER})(?P<unit>万元|亿元|元)|(?<=[为是])(?P<zero>0(?:\.0+)?)(?=[，,。；;]|$)")
_MONEY_BEFORE_ZERO = re.compile(r"(?:经费|费用?|支出|收入|资金|预算)(?:预算)?数?[为是]$")


def _money_zero(match: re.Match, sentence: str) -> bool:
    return bool(match.group("zero")) and bool(_MONEY_BEFORE_ZERO.search(sentence[: match.start()]))


def _states_money(sentence: str) -> bool:
    return "元" in sentence or any(_money_zero(match, sentence) for match in _AMOUNT.finditer(sentence))
_SUBJECT_STOP = re.compile(r"[，,。；;：:、（）()的]|其中|包括|主要|用于|比上年|较上年|与上年")
# Verbs between a subject and its figure; '预算' and '总额' stay with the subject (部门收入预算为 → 部门收入预算).
_VERBS = re.compile(r"(预算数为|预算数|决算数为|决算数|决算为|预算安排|安排|决算|共计|合计为|为|是|达到|(?<![合总小])计)$")
# What a figure is, when it names no item of its own: '年初预算', '支出决算', '2026年预算安排', '当年预算执行数'.
_MEASURE_ONLY = re.compile(r"^(?:年初|全年|当年|本年|上年|上一年|调整)?(?:支出决算|预算|决算)?(?:数|执行数|安排)?(?:为|是)?$")
_CODE_NOTE = re.compile(r"[(（](\d*[类款项]|境)[)）]")  # 公共安全支出(204类)司法(06款), 因公出国(境)费: one subject
_CHANGE_VERB = re.compile(r"(增加|减少|增长|下降|降低|上升)$")
_COMPARISON = r"(?:比|较|与|同)(?:上年|上一年|\d{4}年度?)"
_ZERO_WORDS = "持平|一致|相同|不变|无变化|无增减变化"
_CHANGE = re.compile(
    rf"^[^。；;元]{{0,24}}?{_COMPARISON}[^，,。；;]{{0,12}}?(?P<dir>增加|减少|增长|下降|降低|上升|{_ZERO_WORDS})"
    rf"(?P<num>{_NUMBER})?(?P<unit>万元|元|%)?"
)
_ZERO_WORD = re.compile(_ZERO_WORDS)
_FROM_COMPARISON_OR_ZERO = re.compile(rf"{_COMPARISON}.*$|(?:{_ZERO_WORDS}).*$")
_COMPARISON_PHRASE = re.compile(rf"{_COMPARISON}(?:预算数?|执行数|决算数?|同期)*(?:相比)?")
_ASIDE = re.compile(r"^[（(][^（()）]*[）)]")
_ASIDE_COMPARISON = re.compile(rf"^[（(]{_COMPARISON}")
_PCT = re.compile(r"^[^。；;]{0,40}?(?P<dir>增长|下降|增加|减少|降低|上升)(?P<num>\d+(?:\.\d+)?)%")
_SHARE = re.compile(r"^[，,]?占[^，,。；;%]{0,20}?(?P<num>\d+(?:\.\d+)?)%")
# A reason: '主要原因是…', '原因：…', '主要是…' (the last also introduces a breakdown, so it explains only a change).
_REASON = re.compile(
    r"(?P<marker>(?:主要)?原因(?:主要)?(?:是|为|系|在于)?[:：]?|主要(?:是|系|由于|因为)[:：]?)(?P<reason>[^。；;:：][^。；;]*)"
)
_PRIOR = re.compile(r"执行数|^上(?:一)?年")
_REPEAT = re.compile(r"(?:^|\d{4}年度?)(?:预算)?安排$")
_YEAR_PREFIX = re.compile(r"^.*?\d{4}年(?:度)?")
_LEADING_WORDS = re.compile(
    r"^(?:其中|主要是|主要为|主要原因是|主要原因为|主要|另外|此外|同时|均|分别|我部门|本部门|部门|单位|全年|今年|本年)+"
)
_COMPARATIVE_TAIL = re.compile(r"(?:相比)?(?:增加|减少|增长|下降|变化|变动|增减变化|(?:小于|大于|低于|高于|超过)(?:年初)?预算数?)$")
_MEASURE_TAIL = re.compile(r"(?:年初预算|预算数|决算数|执行数|预算|决算)$")
_TOPIC_WORDS = re.compile(r"情况|说明|概况|如下|表$|部分|[0-9]")
_DECREASE = ("减少", "下降", "降低")
_THRESHOLD = re.compile(r"^(?:[（(]含[）)])?(?:以上|以下|及以上|及以下)")
_PAGE_NUMBER = re.compile(r"^\s*[-—–－]*\s*(?:第\s*)?\d+\s*(?:页)?\s*[-—–－]*\s*$")
_REACH = 3  # paragraphs back that a named change or reason may refer to


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
            text = _WHITESPACE.sub("", line.text)
            if parts and _LIST_ITEM.match(text) and not _SENTENCE_END.search(parts[-1][-1:]):
                text = "。" + text  # a list item starts a new sentence even when the last one has no full stop
            starts.append(offset)
            parts.append(text)
            offset += len(text)
        return cls("".join(parts), starts, lines)

    def line_at(self, offset: int) -> TextLine:
        return self.lines[max(0, bisect.bisect_right(self.starts, offset) - 1)]

    def sentences(self) -> Iterator[tuple[int, str]]:
        """Sentences, a full stop inside brackets ('（公务用车购置费0万元，比上年增加0万元。）') not ending one."""
        start, depth = 0, 0
        for mark in _SENTENCE_MARK.finditer(self.text):
            char, index = mark.group(), mark.start()
            if char in "（(":
                depth += 1
            elif char in "）)":
                depth = max(0, depth - 1)
            elif depth == 0:
                yield start, self.text[start : index + 1]
                start = index + 1
        if start < len(self.text):
            yield start, self.text[start:]


def extract_facts(blocks: list[Block], source: str) -> list[Fact]:
    reader = _Reader(source)
    for kind, lines in _text_blocks(blocks):
        if kind == "heading":
            reader.heading("".join(line.text for line in lines))
        else:
            reader.paragraph(_Paragraph.of(lines))
    return reader.facts


def _text_blocks(blocks: list[Block]) -> Iterator[tuple[str, list[TextLine]]]:
    """Heading and paragraph blocks; a paragraph whose last line runs to the right margin without ending its sentence
    goes on in the next paragraph block (the PDF reader splits at page breaks and at some wrapped lines)."""
    margins: dict[int | None, float] = {}
    for block in blocks:
        for line in block.lines if block.kind != "table" else []:
            if line.bbox is not None:
                margins[line.page] = max(margins.get(line.page, 0.0), line.bbox[2])
    pending: list[TextLine] = []
    for block in blocks:
        if block.kind == "table" or not block.lines or _PAGE_NUMBER.match(block.text):
            continue
        if block.kind == "paragraph" and pending and _runs_on(pending[-1], margins):
            pending = pending + block.lines
            continue
        if pending:
            yield "paragraph", pending
            pending = []
        if block.kind == "paragraph":
            pending = list(block.lines)
        else:
            yield block.kind, block.lines
    if pending:
        yield "paragraph", pending


def _runs_on(line: TextLine, margins: dict[int | None, float]) -> bool:
    """A line ending in a colon, or one that fills the line up to the last few characters (a figure that did not
    fit went to the next line) without ending its sentence."""
    text = line.text.strip()
    if not text or _SENTENCE_END.search(text[-1]):
        return False
    if text.endswith((":", "：")):
        return True
    if line.bbox is None:
        return False
    _, top, right, bottom = line.bbox
    return right >= margins.get(line.page, right) - 5 * (bottom - top)


@dataclass
class _Reader:
    source: str
    facts: list[Fact] = field(default_factory=list)
    paragraph_of: dict[int, int] = field(default_factory=dict)  # id(fact) → paragraph number
    paragraphs: int = 0
    heading_topic: str | None = None

    def heading(self, text: str) -> None:
        self.heading_topic = _topic(text)

    def paragraph(self, paragraph: _Paragraph) -> None:
        self.paragraphs += 1
        found: list[Fact] = []
        topic = self.heading_topic
        for offset, sentence in paragraph.sentences():
            if not _states_money(sentence):
                sentence_topic = _topic(sentence) if _LIST_ITEM.match(sentence) else None
                topic = sentence_topic or topic
                self._amountless(sentence, found)
                continue
            found.extend(self._sentence(sentence, offset, paragraph, found, topic))

    # ------------------------------------------------------------------ sentences with figures

    def _sentence(self, sentence: str, offset: int, paragraph: _Paragraph, earlier: list[Fact], topic: str | None) -> list[Fact]:
        facts: list[Fact] = []
        touched: list[tuple[int, Fact]] = []  # (position in the sentence, fact) for the reasons that follow
        cause = _REASON.search(sentence)
        cause_start = cause.start() if cause and "原因" in cause.group("marker") else len(sentence)
        for match in _AMOUNT.finditer(sentence):
            before, after = sentence[: match.start()], sentence[match.end() :]
            if match.group("zero") and not _money_zero(match, sentence):
                continue
            value = 0.0 if match.group("zero") else to_wanyuan(float(match.group("num").replace(",", "")), match.group("unit"))
            current = next((fact for fact in reversed(earlier + facts) if fact.metric == "amount"), None)
            verb = _CHANGE_VERB.search(before)
            if verb:
                for target in self._change_targets(before[: verb.start()], current, facts):
                    if target.change is None:  # '…支出减少63.14万元，下降2.10%' about a figure stated before
                        target.change = -value if verb.group(1) in _DECREASE else value
                        _apply_change(target, after, with_amount=False)
                        touched.append((match.start(), target))
                continue
            if match.start() > cause_start or _THRESHOLD.match(after):
                continue  # figures inside a reason ('主要原因是新增了…资金1000万元') or limits ('单价100万元以上设备')
            if current is not None and _REPEAT.search(before) and _restates(current, value, earlier + facts):
                _apply_change(current, after)  # '2026年预算安排1672.67万元，比…减少1.07%' restates the last figure
                touched.append((match.start(), current))
                continue
            subject, measure = _subject(before)
            if subject is None and measure is not None:
                if current is not None and _PRIOR.search(measure):
                    current.prior = current.prior if current.prior is not None else value
                    continue
                subject = _measure_subject(measure, sentence, facts, topic)
                if subject is None and measure.startswith("支出"):
                    subject = _VERBS.sub("", measure)  # '本年支出决算2940.05万元' with nothing before it to belong to
            if subject is None:
                continue
            line = paragraph.line_at(offset + match.start())
            for name in _coordinated(_named_by_topic(subject, topic), before):
                fact = _fact(name, value, sentence, line, self.source, match)
                _apply_change(fact, _skip_aside(after))
                self._add(fact)
                facts.append(fact)
                touched.append((match.start(), fact))
                share = _SHARE.match(after)
                if share:
                    shared = _fact(name, float(share.group("num")), sentence, line, self.source, share, metric="share")
                    self._add(shared)
                    facts.append(shared)
            if _ZERO_ALL.match(after):  # '…公务接待费63.80万元，公务用车购置费0万元，均与上年持平'
                for other in facts:
                    if other.change is None and other.metric == "amount":
                        other.change, other.prior = 0.0, other.prior if other.prior is not None else other.value
        if cause:
            self._explain(cause, sentence, touched, earlier)
        return facts

    def _explain(self, cause: re.Match, sentence: str, touched: list[tuple[int, Fact]], earlier: list[Fact]) -> None:
        """A reason in a sentence with figures explains the figure stated right before it; one opening the sentence
        ('主要原因是基本支出增加1447.63万元、…') explains the changes stated before, as in a sentence of its own."""
        reason = cause.group("reason").strip()
        before = [(position, fact) for position, fact in touched if position < cause.start()]
        if not before:
            self._attach_reason(reason, sentence[: cause.start()], earlier)
            return
        last = max(position for position, _ in before)
        for position, fact in before:
            explains = "原因" in cause.group("marker") or fact.change is not None or fact.change_pct is not None
            if position == last and fact.reason is None and explains:
                fact.reason = reason

    def _add(self, fact: Fact) -> None:
        self.facts.append(fact)
        self.paragraph_of[id(fact)] = self.paragraphs

    def _recent(self) -> Iterator[Fact]:
        """Amount facts of this paragraph and the few before, newest first."""
        for fact in reversed(self.facts):
            if self.paragraphs - self.paragraph_of[id(fact)] > _REACH:
                return
            if fact.metric == "amount":
                yield fact

    def _paragraph_facts(self) -> list[Fact]:
        return [fact for fact in self.facts if self.paragraph_of[id(fact)] == self.paragraphs and fact.metric == "amount"]

    def _named(self, name: str) -> Fact | None:
        key = _match_key(name)
        if len(key) < 2:
            return None
        return next((fact for fact in self._recent() if _names(key, _match_key(fact.subject))), None)

    def _change_targets(self, head: str, current: Fact | None, sentence_facts: list[Fact]) -> list[Fact]:
        """What '…比2025年减少' is about: the figure the clause names ('收入比2025年减少'), else the last figure."""
        clause = re.split(r"[，,：:；;。]", head)[-1]
        each = "各" in clause
        name = _clause_name(clause)
        if not name:
            if current is None or head != clause or any(fact is current for fact in sentence_facts):
                return [current] if current is not None else []
            return _opening_change_target(current, self._paragraph_facts())
        named = self._named(name)
        if named is not None:
            return [named]
        key = _match_key(name)
        if current is not None and len(key) >= 4 and _match_key(current.subject).endswith(key[-4:]):
            # '收入、支出预算总计33172.15万元，与上年相比收、支预算总计各增加4322.77万元'
            twins = [fact for fact in sentence_facts if each and fact.value == current.value and fact is not current]
            return [current, *twins]
        return []

    # ------------------------------------------------------------------ sentences without figures

    def _amountless(self, sentence: str, found: list[Fact]) -> None:
        """'与2025年预算持平，主要原因是…', '因公出国（境）费支出决算持平', '财政拨款收入支出增加的主要原因是工作量增加'."""
        cause = _REASON.search(sentence)
        body = sentence[: cause.start()] if cause else sentence
        current = next((fact for fact in reversed(found) if fact.metric == "amount"), None)
        for clause in re.split(r"[，,：:]", body):
            if not _ZERO_WORD.search(clause):
                continue
            name = _clause_name(_FROM_COMPARISON_OR_ZERO.sub("", clause))
            target = self._named(name) if name else current
            if target is not None and target.change is None:
                target.change = 0.0
                target.prior = target.prior if target.prior is not None else target.value
        if cause:
            self._attach_reason(cause.group("reason").strip(), sentence[: cause.start()], found)

    def _attach_reason(self, reason: str, head: str, found: list[Fact]) -> None:
        name = _clause_name(_COMPARATIVE_TAIL.sub("", re.sub(r"的$", "", re.split(r"[，,：:]", head)[-1])))
        if name:
            names = [name.replace("收入支出", "收入"), name.replace("收入支出", "支出")] if "收入支出" in name else [name]
            targets = [fact for n in names if (fact := self._named(n)) is not None and fact.reason is None]
            if targets:
                for fact in targets:
                    fact.reason = reason
                return
        previous = [fact for fact in self._recent() if self.paragraph_of[id(fact)] == self.paragraphs - 1]
        for fact in found or previous:
            if fact.reason is None and (fact.change is not None or fact.change_pct is not None):
                fact.reason = reason


_ZERO_ALL = re.compile(rf"^[，,]?[均都]{_COMPARISON}[^，,。；;]{{0,12}}?(?:{_ZERO_WORDS})")


def _opening_change_target(current: Fact, paragraph_facts: list[Fact]) -> list[Fact]:
    """'…住房保障支出662.86万元。比2025年增加2,734.52万元' opens a sentence after a breakdown: the change is the total's
    (the paragraph's first figure, when the breakdown adds up to it); after a single figure it is that figure's."""
    listed = [fact for fact in paragraph_facts if fact.sentence == current.sentence]
    if len(listed) == 1:
        return [current]
    total, parts = paragraph_facts[0], [fact for fact in listed if fact is not paragraph_facts[0]]
    if total.value is not None and abs(total.value - sum(fact.value or 0.0 for fact in parts)) <= 0.05:
        return [total]
    return []


def _restates(current: Fact, value: float, paragraph_facts: list[Fact]) -> bool:
    """'2026年预算安排X' after '2025年当年预算执行数为Y' repeats the item's figure (a typo in X included)."""
    if current.value == value:
        return True
    in_paragraph = any(fact is current for fact in paragraph_facts)
    return in_paragraph and current.prior is not None and abs(current.value - value) <= 0.05 * abs(value)


def _coordinated(subject: str, before: str) -> list[str]:
    """'收入、支出预算总计33172.15万元' states two figures: 收入预算总计 and 支出预算总计."""
    if subject.startswith("支出") and before.endswith(subject) and before[: -len(subject)].endswith("收入、"):
        return ["收入" + subject[len("支出") :], subject]
    return [subject]


def _skip_aside(after: str) -> str:
    """'0万元（公务用车购置费0万元，比上年增加0万元…）比上年增加0万元': the change after the bracketed breakdown."""
    match = _ASIDE.match(after)
    if match and _AMOUNT.search(match.group(0)) and not _ASIDE_COMPARISON.match(after):
        return after[match.end() :]
    return after


def _fact(subject: str, value: float, sentence: str, line: TextLine, source: str, match, metric: str = "amount") -> Fact:
    fact = Fact(
        subject=subject, metric=metric, value=value, sentence=sentence.strip(" 。；;"),
        provenance=Provenance(source=source, page=line.page, line=line.line, bbox=line.bbox, raw=line.raw.strip()),
        table_kind="narrative",
    )
    groups = match.groupdict()
    unit = groups.get("unit") or ("万元" if groups.get("zero") else "%")
    fact.values["value"] = ValueSource(raw=match.group(0).strip(" ，,"), unit_original=unit, page=line.page, line=line.line)
    return fact


def _apply_change(fact: Fact, after: str, with_amount: bool = True) -> None:
    """'，比上年执行数增加 1518.51 万元，增长 40.4%' or '与2025年预算持平' right after a figure."""
    rest = after
    change = _CHANGE.match(after) if with_amount else None
    if change:
        direction = change.group("dir")
        sign = -1 if direction in _DECREASE else 1
        if _ZERO_WORD.fullmatch(direction):
            fact.change = 0.0
        elif change.group("num") and change.group("unit") in ("万元", "元"):
            fact.change = sign * to_wanyuan(float(change.group("num").replace(",", "")), change.group("unit"))
        elif change.group("num") and change.group("unit") == "%":
            fact.change_pct = sign * float(change.group("num").replace(",", ""))
        rest = after[change.end() :]
    if change or not with_amount:
        pct = _PCT.match(rest)
        if pct and fact.change_pct is None:
            fact.change_pct = (-1 if pct.group("dir") in _DECREASE else 1) * float(pct.group("num"))
    if fact.change is not None and fact.value is not None and fact.metric == "amount" and fact.prior is None:
        fact.prior = round(fact.value - fact.change, 6)


def _subject(before: str) -> tuple[str | None, str | None]:
    """The item a figure is about, from the text before it; (None, measure) when the text names only a measure."""
    tail = _CODE_NOTE.sub(r"〔\1〕", before[-90:])
    tail = re.sub(r"[（(][^（()）]*[）)](?=(?:为|是)?$)", "", tail)  # '政府采购金额（以合同签订为准）为251.25万元'
    pieces = _SUBJECT_STOP.split(tail)
    candidate = pieces[-1].strip() if pieces else ""
    candidate = _YEAR_PREFIX.sub("", candidate).strip()
    measure_only = _MEASURE_ONLY.match(_VERBS.sub("", candidate).strip()) or _MEASURE_ONLY.match(candidate)
    if len(pieces) > 1 and measure_only and re.search(r"[:：][^:：]*$", tail):
        candidate = pieces[-2].strip()  # '收入预算：2026年年初预算数 186549.30万元' is about 收入预算
    elif measure_only:
        return None, candidate
    candidate = _VERBS.sub("", candidate).strip()
    candidate = _LEADING_WORDS.sub("", candidate)
    candidate = _LIST_ITEM.sub("", candidate)
    if candidate.endswith("预算支出") and len(candidate) > 6:
        candidate = candidate[: -len("预算支出")]  # '公务接待费预算支出' is 公务接待费
    candidate = candidate.replace("〔", "(").replace("〕", ")")
    longest = 80 if "(" in candidate else 40  # a classification path '…支出(类)…(款)…(项)' is long
    if len(candidate) < 2 or len(candidate) > longest or re.fullmatch(r"[\d.()]+", candidate):
        return None, None
    return candidate, None


def _measure_subject(measure: str, sentence: str, sentence_facts: list[Fact], topic: str | None) -> str | None:
    """Whose '年初预算为A万元，支出决算为B万元' these are: the topic's, else the figure just named with a measure
    ('“三公”经费财政拨款支出年初预算为0.95万元，支出决算为0.00万元')."""
    final_account = "决算" in sentence
    budget_of_final = final_account and "决算" not in measure and "预算" in measure
    if topic is not None:
        return topic + "年初预算" if budget_of_final else topic
    previous = next((fact for fact in reversed(sentence_facts) if fact.metric == "amount"), None)
    if previous is not None and "决算" in measure and (base := _MEASURE_TAIL.sub("", previous.subject)) != previous.subject:
        return base if len(base) >= 2 else None
    return None


def _named_by_topic(subject: str, topic: str | None) -> str:
    """'（一）机关运行经费。2026年一般公共预算财政拨款运行经费…': the figure is the topic's when the names end alike."""
    if topic is None or subject == topic:
        return subject
    shared = 0
    while shared < min(len(subject), len(topic)) and subject[-1 - shared] == topic[-1 - shared]:
        shared += 1
    return topic if shared >= 4 and shared < len(topic) else subject


def _topic(text: str) -> str | None:
    """The item a heading or figure-less list item names ('（二）公务接待费', '1、…行政运行（项）。'), if it is one."""
    name = _LIST_ITEM.sub("", re.sub(r"\s+", "", text)).strip("。：:；;，, ")
    name = re.sub(r"^[一二三四五六七八九十\d]+[、.．]", "", name)
    if not name or len(name) > 60 or _TOPIC_WORDS.search(name) or re.search(r"[。，,；;：:]", name):
        return None
    return name if re.search(r"[费支出金款项类]|经费", name) else None


def _clause_name(clause: str) -> str:
    """The item a change or reason clause names: '收入比2025年' → 收入, '主要是一般公共预算拨款' → 一般公共预算拨款."""
    name = _COMPARISON_PHRASE.sub("", clause)
    name = _YEAR_PREFIX.sub("", name) if re.search(r"\d{4}年", name) else name
    name = _LEADING_WORDS.sub("", name.strip())
    return _LIST_ITEM.sub("", re.sub(r"[各均都]$", "", name)).strip()


@lru_cache(maxsize=4096)  # every lookup of a named figure compares it with each recent fact's subject
def _match_key(name: str) -> str:
    """A name as compared with another: no quotes or list numbers, '财政拨款' inside left out, measure word cut."""
    key = unicodedata.normalize("NFKC", name)
    key = re.sub(r"[\"'“”‘’「」\s]", "", key).replace("（", "(").replace("）", ")")
    key = _LIST_ITEM.sub("", key)
    key = re.sub(r"(?<=.)财政拨款(?=支出|收入)", "", key)
    cut = _MEASURE_TAIL.sub("", key)
    return cut if len(cut) >= 2 else key


def _names(key: str, subject_key: str) -> bool:
    """'收入' names 收入预算, '因公出国(境)费支出' names 因公出国(境)费."""
    return subject_key.startswith(key) or key == subject_key + "支出"
