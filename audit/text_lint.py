"""Text lint: placeholders and template leftovers, doubled or stray punctuation, sentences cut off, wording of the
wrong document kind, the wrong year or another organ's name, 科目 names that differ from the table's, repeated text."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from functools import cache

from yusuan.model import TextLine
from yusuan.vocab import normalize, thesaurus

from .context import AuditContext, Paragraph
from .items import all_spending_lines, resolve, same_name, text_items
from .model import ComparedValue, Issue
from .registry import rule

_LEVELS = ("类", "款", "项")
_PLACEHOLDER = re.compile(r"(?<![A-Za-z])(?:X{2,}|x{3,}|×{2,}|＊{2,})(?![A-Za-z])|待填写|请填写|待补充|某某")
_PLACEHOLDER_HINT = re.compile(r"[Xx×＊待请某]")  # a cheap test before the placeholder pattern
_DOUBLED = re.compile(r"([。，、；：！？])\1|[，、；：][。，]|。[，、；：]|,。|，\.")
_CUT_OFF = re.compile(r"(?:主要原因(?:是|为|系)?|原因(?:是|为)|主要用于)\s*[:：]?\s*[。；;]")
# '公务接待费1.35万元。比2023年预算持平': a comparison cut from the amount it compares
_COMPARISON_CUT = re.compile(r"(?<=[\d元%])。\s*(?:比|较)\s*(?:上年|上一年|去年|20\d{2}\s*年)")
_TEMPLATE = re.compile(
    r"(增加|减少|增长|下降|上升|降低)\s*[(（/／]\s*(增加|减少|增长|下降|上升|降低)\s*[)）]?|[(（]类[)）][(（]款[)）][(（]项[)）]"
)
_COMPARED_YEAR = re.compile(r"(?:比|较|与)\s*(?P<year>20\d{2})\s*年")
# a plan ('拟从2020年起') dated years before the budget it is printed in
_PLANNED_FROM = re.compile(r"(?:拟|计划|准备)(?:从|自|于|在)\s*(?P<year>20\d{2})\s*年")
_PERIOD = re.compile(r"实施周期.{0,6}?(?P<y1>20\d{2})\s*年[^至到\-—－~]{0,8}[至到\-—－~]+\s*(?P<y2>20\d{2})\s*年")
_ORGAN_LABEL = re.compile(r"^(?:编制部门|编制单位|预算主管部门|预算单位|单位名称|部门名称)\s*[:：]\s*"
                          r"(?P<name>\S{4,})$")
_DEPARTMENT_WORDING = re.compile(
    r"部门预算(?!经济分类|改革|管理|制度)|本部门|部门财务收支|部门收入预算|部门支出预算|部门财政拨款|部门一般公共预算|部门政府性基金|部门国有资本"
    r"|部门“三公”|部门主要职能|部门机构设置"
)


def _lint(ctx: AuditContext, rule_id: str, paragraph: Paragraph, start: int, end: int, message: str, suggestion: str) -> Issue:
    page, bbox = paragraph.place(start, end)
    snippet = paragraph.text[max(0, start - 20) : end + 20]
    return Issue(rule_id=rule_id, family="text_lint", severity="warning", message=message, page=page, bbox=bbox,
                 values=[ComparedValue(label="原文", value=paragraph.text[start:end], raw=snippet, page=page, bbox=bbox)],
                 suggestion=suggestion, evidence=snippet)


def _title_paragraphs(ctx: AuditContext) -> list[Paragraph]:
    """Table titles and the meta lines above tables, as one-line paragraphs (they carry the year and the organ)."""
    found = []
    for grid in ctx.grids:
        lines: list[TextLine] = ([grid.title_line] if grid.title_line else []) + list(grid.context)
        found.extend(Paragraph.of([line], "表格") for line in lines)
    return found


@rule("TL01", "text_lint", "模板占位符（XX、××、待填写）")
def placeholders(ctx: AuditContext) -> Iterator[Issue]:
    for paragraph in ctx.body_paragraphs + _title_paragraphs(ctx):
        if not _PLACEHOLDER_HINT.search(paragraph.text):
            continue
        for match in _PLACEHOLDER.finditer(paragraph.text):
            yield _lint(ctx, "TL01", paragraph, match.start(), match.end(), f"存在模板占位符“{match.group(0)}”",
                        "替换为实际内容")


@rule("TL02", "text_lint", "重复或错用的标点、不成对的引号或括号、全角半角括号混用")
def punctuation(ctx: AuditContext) -> Iterator[Issue]:
    for paragraph in ctx.body_paragraphs:
        for match in _DOUBLED.finditer(paragraph.text):
            yield _lint(ctx, "TL02", paragraph, match.start(), match.end(), f"标点重复或错用“{match.group(0)}”", "删去多余标点")
    # pairs are checked over a heading's whole text: a PDF paragraph may break inside a quotation
    reported: set[tuple[int | None, str]] = set()
    for section in ctx.sections:
        for index, problem in _bracket_problems(section):
            start = section.starts[index]
            issue = _lint(ctx, "TL02", section, start, start + len(section.lines[index].text), problem, "改为成对的同一种括号")
            if (issue.page, problem[:4]) not in reported:
                reported.add((issue.page, problem[:4]))
                yield issue
        at = _unpaired_quote(section)
        if at is not None:
            opened, closed = section.text.count("“"), section.text.count("”")
            yield _lint(ctx, "TL02", section, at, at + 1, f"引号不成对（前引号{opened}个、后引号{closed}个）", "补齐或删去引号")


_QUOTE_MARK = re.compile("[“”]")


def _unpaired_quote(section: Paragraph) -> int | None:
    """The offset of the first quotation mark without its partner; None when all pair up, or when the lone mark
    sits where a page begins or ends (the page's other half of the quotation may not have been read)."""
    opened: list[int] = []
    lone: list[int] = []
    for mark in _QUOTE_MARK.finditer(section.text):
        if mark.group() == "“":
            opened.append(mark.start())
        else:
            (opened.pop() if opened else lone.append(mark.start()))
    for at in sorted(lone + opened):
        index = section.line_index(at)
        line = section.lines[index]
        page_starts = at == section.starts[index] and (index == 0 or section.lines[index - 1].page != line.page)
        page_ends = at == section.starts[index] + len(line.text) - 1 and (
            index + 1 == len(section.lines) or section.lines[index + 1].page != line.page)
        if not (page_starts or page_ends):
            return at
    return None


_MIXED_PAIR = {"（": ")", "(": "）"}
_BRACKET = re.compile(r"[（()）]")


def _bracket_problems(paragraph: Paragraph) -> Iterator[tuple[int, str]]:
    """(line index, problem) for brackets, read in the printed characters (the text folds full-width forms): a
    full-width bracket closed by a half-width one or the reverse, and a bracket never closed in the paragraph."""
    open_brackets: list[tuple[str, int]] = []
    for index, line in enumerate(paragraph.lines):
        for char in _BRACKET.findall(line.raw):
            if char in "（(":
                open_brackets.append((char, index))
            elif char in "）)" and open_brackets:
                opened, at = open_brackets.pop()
                if _MIXED_PAIR[opened] == char:
                    yield at, f"括号全角半角混用“{opened}…{char}”"
    for opened, at in open_brackets[:1]:
        yield at, f"括号“{opened}”未闭合"


@rule("TL03", "text_lint", "句子不完整（“主要原因是。”、原因或用途缺失；句号后以“比/较…”开头，句子被断开）")
def cut_off(ctx: AuditContext) -> Iterator[Issue]:
    for paragraph in ctx.body_paragraphs:
        for match in _CUT_OFF.finditer(paragraph.text):
            yield _lint(ctx, "TL03", paragraph, match.start(), match.end(), f"句子不完整：“{match.group(0)}”后缺少内容",
                        "补写原因或用途")
        for match in _COMPARISON_CUT.finditer(paragraph.text):
            yield _lint(ctx, "TL03", paragraph, match.start(), match.end(),
                        f"句号后以“{match.group(0)[1:].strip()}”开头，比较句缺少主语（句号应为逗号）", "把句号改为逗号")


@rule("TL04", "text_lint", "模板残留（“增加（减少）”、空的类/款/项），每页报一次")
def template_leftovers(ctx: AuditContext) -> Iterator[Issue]:
    pages: set[int | None] = set()
    for paragraph in ctx.body_paragraphs:
        for match in _TEMPLATE.finditer(paragraph.text):
            if match.group(1) and match.group(1) == match.group(2):
                continue
            issue = _lint(ctx, "TL04", paragraph, match.start(), match.end(), f"模板残留“{match.group(0)}”", "按实际情况只保留一种表述")
            if issue.page not in pages:
                pages.add(issue.page)
                yield issue


@rule("TL05", "text_lint", "单位预算中使用了部门预算的表述")
def department_wording_in_unit(ctx: AuditContext) -> Iterator[Issue]:
    if ctx.meta.doc_kind != "单位预算":
        return
    for paragraph in ctx.body_paragraphs + _title_paragraphs(ctx):
        for match in _DEPARTMENT_WORDING.finditer(paragraph.text):
            yield _lint(ctx, "TL05", paragraph, match.start(), match.end(), f"单位预算中出现部门预算表述“{match.group(0)}”",
                        "改为“单位”表述")


@rule("TL06", "text_lint", "年份错误（与本年比较、标题年份不符、实施周期早于预算年度）")
def wrong_year(ctx: AuditContext) -> Iterator[Issue]:
    year = ctx.meta.year
    if not year:
        return
    for paragraph in ctx.body_paragraphs:
        for match in _COMPARED_YEAR.finditer(paragraph.text):
            compared = int(match["year"])
            if compared >= year:
                yield _lint(ctx, "TL06", paragraph, match.start(), match.end(),
                            f"{year}年{'决算' if ctx.is_final_accounts else '预算'}与{compared}年比较，比较年份应为上年",
                            f"改为“{year - 1}年”")
        for match in _PERIOD.finditer(paragraph.text if "实施周期" not in paragraph.section else "实施周期" + paragraph.text):
            if not ctx.is_final_accounts and int(match["y2"]) < year:
                yield _lint(ctx, "TL06", paragraph, match.start(), match.end(),
                            f"{year}年预算的项目实施周期止于{match['y2']}年", f"核对实施周期（应覆盖{year}年）")
        for match in _PLANNED_FROM.finditer(paragraph.text):
            if not ctx.is_final_accounts and int(match["year"]) < year - 1:
                yield _lint(ctx, "TL06", paragraph, match.start(), match.end(),
                            f"{year}年预算仍写“{match.group(0)}”（计划年份已过，往年文字遗留）", "更新为本年度的安排")
    titles = [(p, r"(?P<year>20\d{2})\s*年") for p in _title_paragraphs(ctx)]
    heading_year = r"(?P<year>20\d{2})\s*年度?\s*(?:区级)?(?:部门|单位)?(?:预算|决算)"
    headings = [(p, heading_year) for p in ctx.paragraphs if p.lines and p.lines[0].heading]
    for paragraph, pattern in titles + headings:
        if _ORGAN_LABEL.match(paragraph.text.strip()):
            continue
        for match in re.finditer(pattern, paragraph.text):
            if int(match["year"]) != year:
                yield _lint(ctx, "TL06", paragraph, match.start(), match.end(), f"标题年份{match['year']}年与文件年度{year}年不符",
                            f"改为“{year}年”")


@rule("TL10", "text_lint", "比较句式搭配不当（“比上年…持平”应为“与上年…持平”），每页报一次")
def compared_level(ctx: AuditContext) -> Iterator[Issue]:
    pages: set[int | None] = set()
    for paragraph in ctx.body_paragraphs:
        for match in re.finditer(r"比(?:上年|上一年|20\d{2}\s*年)[^，,。；;\d]{0,10}持平", paragraph.text):
            issue = _lint(ctx, "TL10", paragraph, match.start(), match.end(), f"“{match.group(0)}”搭配不当", "改为“与…持平”")
            if issue.page not in pages:
                pages.add(issue.page)
                yield issue.model_copy(update={"severity": "info"})


@rule("TL07", "text_lint", "编制部门/单位名称前后不一致（出现其他机构名称）")
def organ_names(ctx: AuditContext) -> Iterator[Issue]:
    named: list[tuple[str, Paragraph]] = []
    for paragraph in _title_paragraphs(ctx) + ctx.paragraphs:
        for part in re.split(r"\s{2,}", paragraph.text):
            match = _ORGAN_LABEL.match(part.strip())
            if match:
                named.append((match["name"], paragraph))
    if not named:
        return
    counts = Counter(name for name, _ in named)
    canonical = ctx.meta.department if ctx.meta.department in counts else counts.most_common(1)[0][0]
    for name, paragraph in named:
        if name != canonical and canonical not in name and name not in canonical:
            at = paragraph.text.find(name)
            yield _lint(ctx, "TL07", paragraph, at, at + len(name), f"出现其他机构名称“{name}”，本文件为“{canonical}”",
                        f"改为“{canonical}”")


def _printed(name: str) -> str:
    return re.sub(r"[\s“”\"()（）]", "", name)


def _name_issue(ctx: AuditContext, item, level, codes: str, table_name: str) -> Issue | None:
    if _printed(level.name) == _printed(table_name):
        return None
    issue = _lint(ctx, "TL08", item.paragraph, level.start, level.end,
                  f"科目名称“{level.name}”与表中{codes}科目“{table_name}”不一致", f"改为“{table_name}”")
    # 其它 for 其他 is a variant character, not another 科目
    return issue.model_copy(update={"severity": "info"}) if same_name(level.name, table_name) else issue


_ZERO_AFTER = re.compile(r"^\D{0,8}?(?<![\d.])0(?:\.0+)?\s*万?元")


def _walk_names(ctx: AuditContext, item, lines) -> Iterator[Issue]:
    """An item printed without codes that matches no table line: find its 类 by name, then its 款 among that 类's
    lines, then its 项; report the first level the table does not have there."""
    parent: str | None = None
    for depth, level in enumerate(item.path, start=_LEVELS.index(item.path[0].level) + 1):
        candidates = [line for line in lines if len(line.code or "") == 2 * depth + 1 and (parent is None or line.parent_code == parent)]
        found = next((line for line in candidates if same_name(line.name, level.name)), None)
        shortened = None if found else next((line for line in candidates if same_name(line.name, level.name + "支出")), None)
        if shortened is not None:  # '一般公共服务(类)' for 一般公共服务支出: the 类 is clear, its name cut short
            found = shortened
            issue = _lint(ctx, "TL08", item.paragraph, level.start, level.end,
                          f"科目名称“{level.name}”与表中{found.code}科目“{found.name}”不一致（少“支出”）", f"改为“{found.name}”")
            yield issue.model_copy(update={"severity": "info"})
        if found is None and _ZERO_AFTER.match(item.text[item.path[-1].end - item.start :]):
            return  # an item stated as 0 need not be printed in the tables
        if found is None:
            under = f"表中{parent}下为“{'、'.join(line.name for line in candidates[:4])}”" if parent and candidates else "支出表中没有"
            yield _lint(ctx, "TL08", item.paragraph, level.start, level.end, f"科目名称“{level.name}”与表格不符（{under}）",
                        "核对科目名称与表格一致")
            return
        parent = found.code


@rule("TL08", "text_lint", "说明中的科目名称与表格不一致（如旧科目名、类款项名称错位）")
def subject_names(ctx: AuditContext) -> Iterator[Issue]:
    lines = all_spending_lines(ctx)
    if not lines:  # the tables are published in another file
        return
    by_code = {line.code: line for line in lines}
    for item in text_items(ctx):
        codes = ""
        for level in item.path:
            if level.code is None:
                break
            codes += level.code
            line = by_code.get(codes)
            issue = _name_issue(ctx, item, level, codes, line.name) if line is not None else None
            if issue:
                yield issue
        if item.full_code is not None or len(item.path) < 2:
            continue
        line = resolve(item, lines)
        if line is None:
            yield from _walk_names(ctx, item, lines)
            continue
        chain = []
        while line is not None:
            chain.insert(0, line)
            line = by_code.get(line.parent_code) if line.parent_code else None
        for level, table_line in zip(reversed(item.path), reversed(chain), strict=False):
            issue = _name_issue(ctx, item, level, table_line.code, table_line.name)
            if issue:
                yield issue


# two sections may legitimately say the same (the 基本支出 说明 of 财政拨款 and of 一般公共预算 when the two are the
# same money): a repeat counts under the heading it was first printed under, and is several lines long
_REPEATED_LINES = 4
_NUMBERED_HEADING = re.compile(r"^[一二三四五六七八九十]+、.{2,30}$")


@rule("TL09", "text_lint", "正文重复（同一标题下的一段文字在另一页又印一次，4行以上）")
def repeated_text(ctx: AuditContext) -> Iterator[Issue]:
    seen: dict[str, tuple[int | None, str]] = {}
    repeated: dict[int | None, list[tuple[Paragraph, int]]] = {}
    numbered = ""  # a numbered heading printed as body text ('八、一般公共预算支出预算表情况说明') also starts a section
    for paragraph in ctx.body_paragraphs:
        for index, line in enumerate(paragraph.lines):
            text = line.text.strip()
            if _NUMBERED_HEADING.match(text):
                numbered = text
            if len(text) < 25:
                continue
            section = paragraph.section + numbered
            if text not in seen:
                seen[text] = (line.page, section)
            elif seen[text][0] != line.page and seen[text][1] == section:
                repeated.setdefault(line.page, []).append((paragraph, index))
    for lines in repeated.values():
        if len(lines) < _REPEATED_LINES:
            continue
        paragraph, index = lines[0]
        first = paragraph.lines[index]
        start = paragraph.starts[index]
        yield _lint(ctx, "TL09", paragraph, start, start + len(first.text),
                    f"{len(lines)}行文字与第{seen[first.text.strip()][0]}页重复", "删去重复内容")


_REGION = re.compile(r"^(?P<region>(?:[\u4e00-\u9fff]{2,3}(?:省|自治区))?(?:[\u4e00-\u9fff]{2,3}市)?(?:[\u4e00-\u9fff]{2,3}(?:区|县))?)"
                     r"(?P<core>.*)$")
# a title or heading naming an organ before its year, after its number and a leading 关于 ('(五)关于湖州市财政局2026年…')
_NAME_BEFORE_YEAR = re.compile(r"^(?:第[一二三四五六七八九十]+部分)?(?:[(（][一二三四五六七八九十\d]{1,3}[)）]"
                               r"|[一二三四五六七八九十]{1,3}、)?(?:关于)?(?P<name>[\u4e00-\u9fff()]{3,30}?)\s*\d{4}\s*年")


def _region_and_core(name: str) -> tuple[str, str]:
    match = _REGION.match(name)
    return (match["region"], match["core"]) if match else ("", name)


def _one_letter_off(a: str, b: str) -> bool:
    """Same length, same first and last character, exactly one character different ('规划与自然资源局' vs '规划和自然资源局')."""
    return len(a) == len(b) and a[0] == b[0] and a[-1] == b[-1] and sum(x != y for x, y in zip(a, b, strict=True)) == 1


def _heading_like(ctx: AuditContext) -> list[Paragraph]:
    """Table titles, the lines above tables, headings and short stand-alone lines: where a document names its organ."""
    return _title_paragraphs(ctx) + [p for p in ctx.paragraphs if p.lines and (p.lines[0].heading or len(p.lines) <= 2)]


@rule("TL11", "text_lint", "机构名称错误：标题中出现上级或其他机构的名称，正文中本机构名称写错一字")
def wrong_organ_name(ctx: AuditContext) -> Iterator[Issue]:
    organ = re.sub(r"\s", "", ctx.meta.department or "")
    region, core = _region_and_core(organ)
    if not region or len(core) < 3:
        return
    for paragraph in _heading_like(ctx):
        match = _NAME_BEFORE_YEAR.match(paragraph.text.replace(" ", ""))
        if match is None or match["name"] == organ:
            continue
        name = re.sub(r"(?:部门|单位)$", "", match["name"])
        if name == organ:
            continue
        named_region, named_core = _region_and_core(name)
        higher_level = named_region and named_region != region and (named_core == core or _one_letter_off(named_core, core))
        # a unit of the organ ('…财政局本级', '…财政局会计服务中心') is no other organ
        other_organ = (named_region == region and named_core and core not in named_core and named_core not in core
                       and not _one_letter_off(named_core, core))
        if higher_level or other_organ:
            at = paragraph.text.find(name[:2])
            yield _lint(ctx, "TL11", paragraph, max(at, 0), max(at, 0) + len(name),
                        f"标题中的机构名称“{name}”与本文件机构“{organ}”不符", f"改为“{organ}”")
    if len(core) < 5:
        return
    pages: set[int | None] = set()
    for paragraph in ctx.body_paragraphs:
        text = paragraph.text
        for start in range(len(text) - len(organ) + 1):
            window = text[start : start + len(organ)]
            if window[len(region) :] != core and _one_letter_off(window, organ) and window[: len(region)] == region:
                issue = _lint(ctx, "TL11", paragraph, start, start + len(organ), f"机构名称写成“{window}”，应为“{organ}”",
                              f"改为“{organ}”")
                if issue.page not in pages:
                    pages.add(issue.page)
                    yield issue


_UNITLESS_CHANGE = re.compile(r"(?:增长|下降|上升|降低|增加|减少)\s*\d+(?:,\d{3})*(?:\.\d+)?(?=\s*[。，,;；](?!\d)|$)")
_UNITLESS_WAN = re.compile(r"(?<![\d.])\d+(?:,\d{3})*(?:\.\d+)?\s*万(?=\s*[(（，,。；;、]|$)")


@rule("TL12", "text_lint", "数字缺少单位（“增长13.95。”缺%；一节中写“万元”、只一处写成“0.39万”）")
def missing_unit(ctx: AuditContext) -> Iterator[Issue]:
    for paragraph in ctx.body_paragraphs:
        for match in _UNITLESS_CHANGE.finditer(paragraph.text):
            yield _lint(ctx, "TL12", paragraph, match.start(), match.end(), f"“{match.group(0)}”缺少单位", "补上单位（%、万元）")
    # a section that writes its amounts as “X万” throughout follows a style; one “万” among “万元” is a slip
    for section in ctx.sections:
        slips = list(_UNITLESS_WAN.finditer(section.text))
        if len(slips) == 1 and "万元" in section.text:
            match = slips[0]
            yield _lint(ctx, "TL12", section, match.start(), match.end(), f"“{match.group(0)}”缺少单位“元”", "改为“万元”")


# phrases of the template that are not in the thesaurus, with the variants that are not misprints; only a dropped
# character is a misprint of these ('上下年度' is another phrase, '上一度' is 上一年度 cut short)
_TEMPLATE_PHRASES = {"上一年度": ("上年度",)}
# a particle put into a name is prose about it ('机关运行的经费'), not a misprint of it
_PARTICLES = set("的之等和及与、")


@cache
def _standard_names() -> dict[str, tuple[str, ...]]:
    """The standard names a 说明 must print exactly (the 三公 items and 机关运行经费, by the thesaurus), each with
    the other terms of the same vocabulary that are accepted as written."""
    vocab = thesaurus()
    concepts = [*vocab.in_group("sangong"), vocab.label_concept("机关运行经费")]
    accepted = tuple(normalize(term) for concept in concepts if concept for term in concept.terms)
    # the item names themselves ('…费'): a shorter term ('公务用车购置') is also a phrase of prose ('公务车购置使用…')
    names = {normalize(term): accepted for concept in concepts if concept for term in concept.terms
             if len(normalize(term)) >= 5 and term.endswith("费")}
    return names | _TEMPLATE_PHRASES


@cache
def _names_by_first_character() -> dict[str, list[str]]:
    by_first: dict[str, list[str]] = {}
    for name in _standard_names():
        by_first.setdefault(name[0], []).append(name)
    return by_first


@cache
def _candidate_starts() -> re.Pattern:
    """Where a misprint of a standard name may start: its first character, and its last one 1–2 characters from the
    name's length further on (a character replaced, dropped or added)."""
    windows = {f"{re.escape(name[0])}.{{{max(len(name) - 3, 0)},{len(name) - 1}}}{re.escape(name[-1])}" for name in _standard_names()}
    return re.compile("(?=" + "|".join(sorted(windows)) + ")")


@cache
def _written_terms() -> re.Pattern:
    """Every standard name and accepted term as printed, found at every position (a lookahead: terms overlap)."""
    terms = sorted({term for name, accepted in _standard_names().items() for term in (name, *accepted)}, key=len, reverse=True)
    return re.compile("(?=(" + "|".join(map(re.escape, terms)) + "))")


def _misprint_of(written: str, name: str) -> bool:
    """The name with one character replaced, added (not a particle) or dropped; a template phrase only dropped."""
    if abs(len(written) - len(name)) > 1 or written == name:
        return False
    if name in _TEMPLATE_PHRASES:
        return len(written) == len(name) - 1 and any(name[:i] + name[i + 1 :] == written for i in range(len(name)))
    if len(written) == len(name):
        return sum(x != y for x, y in zip(written, name, strict=True)) == 1
    if len(written) > len(name):
        return any(written[:i] + written[i + 1 :] == name and written[i] not in _PARTICLES for i in range(len(written)))
    return any(name[:i] + name[i + 1 :] == written for i in range(len(name)))


def _spans_of(text: str) -> list[bool]:
    """For each character: is it part of a standard name or accepted term as printed (a window inside '公务用车购置费'
    is no misprint)."""
    covered = [False] * len(text)
    for match in _written_terms().finditer(text):
        covered[match.start() : match.start() + len(match[1])] = [True] * len(match[1])
    return covered


@rule("TL13", "text_lint", "规范名称写错一个字（“公务车用车运行费”“公务车购置及运行费”“较上一度”）")
def misprinted_names(ctx: AuditContext) -> Iterator[Issue]:
    by_first = _names_by_first_character()
    for paragraph in ctx.body_paragraphs:
        text = paragraph.text
        written: list[bool] | None = None
        reported_until = 0
        for first in _candidate_starts().finditer(text):
            start = first.start()
            if start < reported_until:
                continue
            for name in by_first[text[start]]:
                window = next((text[start : start + length] for length in (len(name) - 1, len(name), len(name) + 1)
                               if text[start + length - 1 : start + length] == name[-1]
                               and _misprint_of(text[start : start + length], name)), None)
                if window is None:
                    continue
                written = written or _spans_of(text)
                if not any(written[start : start + len(window)]):
                    yield _lint(ctx, "TL13", paragraph, start, start + len(window), f"“{window}”应为“{name}”", f"改为“{name}”")
                    reported_until = start + len(window)
                    break


# what a 用途 or 原因 clause names: '主要用于城乡社区管理事务一般行政管理事务', '主要原因是:事业单位离退休经费增加'
_CLAUSE = re.compile(r"(?:主要用于|主要原因(?:是|为))\s*[:：]?\s*(?P<what>[^。；;，,:：]+)")
_CLAUSE_TAIL = re.compile(r"(?:的?(?:经费|支出|费用))?(?:增加|减少|增长|下降|持平|保持不变|不变)?(?:等)?(?:支出)?$")


def _item_names(item) -> set[str]:
    """The names an item may go by: its 项, and its 款 with its 项 ('城乡社区管理事务一般行政管理事务')."""
    names = {_printed(item.path[-1].name)}
    if len(item.path) >= 2:
        names.add(_printed(item.path[-2].name + item.path[-1].name))
    return {name for name in names if len(name) >= 4}


@rule("TL14", "text_lint", "科目的用途或原因写的是另一科目的名称（沿用上一项的文字）")
def borrowed_clause(ctx: AuditContext) -> Iterator[Issue]:
    """Items written from a template name the 科目 in their 用途 and 原因 ('主要用于X', '主要原因是:X经费增加'); a clause
    that names exactly another item of the 说明 and not this one was copied from that item."""
    items = text_items(ctx)
    others = [(item, _item_names(item)) for item in items]
    for item, own in others:
        for clause in _CLAUSE.finditer(item.text):
            named = _printed(_CLAUSE_TAIL.sub("", clause["what"].strip()))
            if len(named) < 4 or named in own or any(name in named for name in own):
                continue
            source = next((other for other, names in others if other is not item and named in names), None)
            if source is None:
                continue
            start = item.start + clause.start()
            yield _lint(ctx, "TL14", item.paragraph, start, item.start + clause.end(),
                        f"“{item.path[-1].name}”的{'用途' if '用于' in clause.group(0) else '原因'}写作“{clause['what'].strip()}”，"
                        f"是“{source.path[-1].name}”的内容", f"改写为“{item.path[-1].name}”的实际用途或原因")
            break


# an economic classification code printed in two columns: 类 (3 digits) and 款 (2 digits: '02', not '2')
_CODE_COLUMNS = 4
_CLASS_CODE, _ITEM_CODE, _SHORT_CODE = re.compile(r"\d{3}"), re.compile(r"\d{2}"), re.compile(r"\d")


@rule("TL15", "text_lint", "表中科目编码格式错误（款级编码应为两位，如“301 2”应为“301 02”），每表报一次")
def malformed_codes(ctx: AuditContext) -> Iterator[Issue]:
    for grid in ctx.grids:
        short: list[tuple[list, int]] = []
        # codes stand in a table's first columns
        heads = [[cell.text.strip() for cell in row[:_CODE_COLUMNS]] for row in grid.rows]
        for column in range(1, min(_CODE_COLUMNS, max((len(row) for row in grid.rows), default=0))):
            coded = [(row, head) for row, head in zip(grid.rows, heads, strict=True)
                     if len(head) > column and _CLASS_CODE.fullmatch(head[column - 1])]
            if sum(bool(_ITEM_CODE.fullmatch(head[column])) for _, head in coded) >= 3:
                short += [(row, column) for row, head in coded if _SHORT_CODE.fullmatch(head[column])]
        if not short:
            continue
        printed = []
        for row, column in short:
            name = next((c.text for c in row[column + 1 :] if re.search(r"[\u4e00-\u9fff]", c.text)), "")
            printed.append(f"{row[column - 1].text.strip()} {row[column].text.strip()} {name}".strip())
        cell = short[0][0][short[0][1]]
        page = cell.page or grid.page
        yield Issue(rule_id="TL15", family="text_lint", severity="warning", page=page, bbox=cell.bbox,
                    message=f"科目编码款级只有一位：{'、'.join(f'“{code}”' for code in printed)}（款级编码应为两位，如“01”）",
                    suggestion="款级编码补足两位", evidence=" ".join(c.text for c in short[0][0]),
                    values=[ComparedValue(label="编码", value=code, page=page) for code in printed])


_GLOSSARY = re.compile(r"名词解释|术语解释|名词说明|专业名词")
_LEVEL_WORDING = re.compile(r"(?P<level>省级|市级|区级|县级)(?=预算主管部门|预算单位|部门|财政)")


def _government_level(organ: str) -> str | None:
    """The level of government an organ belongs to, by the last part of its region: 区级, 县级, 市级 or 省级."""
    region, _ = _region_and_core(organ)
    return {"区": "区级", "县": "县级", "市": "市级", "省": "省级"}.get(region[-1:]) if region else None


@rule("TL16", "text_lint", "名词解释沿用其他层级的模板（区级文件写“市级预算主管部门”“市级财政”）")
def other_level_wording(ctx: AuditContext) -> Iterator[Issue]:
    level = _government_level(re.sub(r"\s", "", ctx.meta.department or ""))
    if level is None:
        return
    pages: set[int | None] = set()
    for paragraph in ctx.body_paragraphs:
        if not _GLOSSARY.search(paragraph.section):
            continue
        for match in _LEVEL_WORDING.finditer(paragraph.text):
            if match["level"] == level:
                continue
            issue = _lint(ctx, "TL16", paragraph, match.start(), match.end() + 6,
                          f"{level}文件的名词解释写“{match['level']}…”（沿用{match['level']}模板）", f"改为“{level}”或“本级”")
            if issue.page not in pages:
                pages.add(issue.page)
                yield issue
