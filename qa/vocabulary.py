"""The question-side vocabulary, built from the store: departments (with generated aliases), regions, years, and
every addressable name — thesaurus concepts (printed terms and colloquial words), 科目 and 收支总表 line names,
project names and narrative subjects. Built once per store version (see engine.StoreView) from the ``facts`` view.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from yusuan.vocab import Concept, normalize, thesaurus

from .plan import Target

if TYPE_CHECKING:
    from .semantic import ParaphraseMatcher

_ADMIN = "省市区县镇乡"
_LINE_MARKERS = re.compile(r"\((类|款|项)\)")
_TARGET_KINDS = ("concept", "line", "project", "subject")


def department_aliases(department: str, region: str | None = None) -> set[str]:
    """Names people use for a department: the full name, without 中共, without leading place names (every level),
    street offices without 人民政府 / 办事处, 委员会 → 委, without 人民 / 高级, and the region's short forms before the
    core name (上海市审计局 → 上海审计局; 上海市普陀区司法局 → 普陀司法局, 普陀区司法局)."""
    base = department.removeprefix("中共")
    names = {department, base}
    if base.startswith("中国共产党"):
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
    if region and base.startswith(region):
        core = base[len(region):]
        for form in region_forms(region):
            names.add(form + core)
        names.add(core)
    names |= {re.sub(r"[(（][^()（）]*[)）]$", "", name) for name in names}  # 无锡市教育局(本级) is also called 无锡市教育局
    names |= {name.replace("人民", "") for name in names}
    names |= {name.replace("高级", "") for name in names if "高级" in name}
    names |= {name.removesuffix("办事处") for name in names if name.endswith("街道办事处")}
    names |= {name.removesuffix("员会") for name in names if name.endswith("委员会")}
    return {name for name in names if len(name) >= 3 and not name.startswith("委")}


def composed_words(concepts: list[Concept]) -> list[tuple[str, Concept]]:
    """Question words composed of a colloquial and a printed piece: a concept's colloquial word stands for its other
    words inside a longer term of another concept (公车 = 公务用车, so 公车购置费 is 公务用车购置费, not the vehicle total)."""
    found = []
    for whole in concepts:
        words = [normalize(w) for w in whole.words(colloquial=True)]
        for short in (normalize(w) for w in whole.colloquial):
            for long in words:
                if long == short or len(long) < 2:
                    continue
                for other in concepts:
                    for term in (normalize(t) for t in other.terms):
                        if other is not whole and term.startswith(long) and len(term) - len(long) >= 2:
                            found.append((short + term[len(long):], other))
    return found


def region_forms(region: str) -> list[str]:
    """上海市普陀区 → 上海市普陀区, 普陀区, 普陀 (…); 湖州市 → 湖州市, 湖州. Longest first."""
    parts = [p for p in re.findall(r".+?[省市区县镇乡]|.+$", region) if p]
    forms = {region, region.rstrip("省市区县"), parts[-1], parts[-1].rstrip("省市区县")}
    return sorted((f for f in forms if len(f) >= 2), key=len, reverse=True)


def _subsequence_gaps(short: str, name: str) -> int | None:
    """Characters of `name` skipped when reading `short` as a subsequence of it (None: not a subsequence); the first
    character must match the start of a word of the name, so 省高院 ⊂ 江苏省高级人民法院."""
    pos = name.find(short[0])
    if pos < 0:
        return None
    gaps, i = 0, pos + 1
    for char in short[1:]:
        j = name.find(char, i)
        if j < 0:
            return None
        gaps += j - i
        i = j + 1
    return gaps


def longest_spans(text: str, words: Container[str], shortest: int, longest: int) -> list[tuple[int, int]]:
    """(start, end) of the longest non-overlapping substrings of ``text`` that are in ``words``, in text order."""
    hits = [(i, j) for i in range(len(text)) for j in range(i + shortest, min(len(text), i + longest) + 1) if text[i:j] in words]
    hits.sort(key=lambda h: (-(h[1] - h[0]), h[0]))
    taken: list[tuple[int, int]] = []
    for start, end in hits:
        if all(end <= s or start >= e for s, e in taken):
            taken.append((start, end))
    return sorted(taken)


@dataclass
class DepartmentMatch:
    names: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    corrected: dict[str, str] = field(default_factory=dict)  # a mistyped name → the department read for it
    rest: str = ""


@dataclass
class Vocabulary:
    departments: dict[str, str | None]  # department → region
    regions: list[str]
    years: list[int]
    names: dict[str, dict[str, str]]  # kind → normalised name → label (line / project / subject)
    line_levels: dict[str, set[str]] = field(default_factory=dict)  # line name → levels (类 / 款 / 项)
    alias_map: dict[str, set[str]] = field(default_factory=dict)
    words: dict[str, list[Target]] = field(default_factory=dict)
    max_word: int = 0
    max_alias: int = 0
    # the paraphrase fallback (qa/semantic.py), attached per store version after loading; never pickled
    paraphrase: ParaphraseMatcher | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "paraphrase": None}

    def __post_init__(self) -> None:
        for department, region in self.departments.items():
            for alias in department_aliases(department, region):
                self.alias_map.setdefault(alias, set()).add(department)
        self.max_alias = max((len(a) for a in self.alias_map), default=0)
        concepts = [c for c in thesaurus().concepts if c.group not in ("measure", "doc_kind")]
        for concept in concepts:
            for word in concept.words(colloquial=True):
                self._add(normalize(word), Target(kind="concept", key=concept.key, label=concept.label))
        for word, concept in composed_words(concepts):
            self._add(word, Target(kind="concept", key=concept.key, label=concept.label))
        for kind in ("line", "project", "subject"):
            for name, label in self.names.get(kind, {}).items():
                self._add(name, Target(kind=kind, key=label, label=label))
                if kind == "project" and len(name) >= 6 and name.endswith(("项目", "经费")):
                    self._add(name[:-2], Target(kind=kind, key=label, label=label))
        self.max_word = max((len(w) for w in self.words), default=0)

    def _add(self, word: str, target: Target) -> None:
        if len(word) < 2:
            return
        existing = self.words.setdefault(word, [])
        if all(t.kind != target.kind for t in existing):
            existing.append(target)
            existing.sort(key=lambda t: _TARGET_KINDS.index(t.kind))

    # ------------------------------------------------------------------------------------------------ departments
    def find_departments(self, q: str) -> DepartmentMatch:
        """Departments named in the question: exact aliases (longest, non-overlapping), then shortened names read as
        a subsequence of one department's name (省高院, 江苏人大, 社工部); an ambiguous name gives candidates, a
        department-like word that matches nothing is reported as unknown."""
        match = DepartmentMatch(rest=q)
        taken = longest_spans(q, self.alias_map, 3, self.max_alias)
        for start, end in taken:
            mention = q[start:end]
            place = self._unknown_place(q[:start])
            if place:
                match.unknown.append(place + mention)  # 嘉兴市卫健委: a place the store does not hold
                continue
            # regions named by the other departments of the question do not narrow this one
            context = "".join("|" if any(s <= i < e for s, e in taken if (s, e) != (start, end)) else c for i, c in enumerate(q))
            group = [mention] if mention in self.departments else self._narrow(sorted(self.alias_map[mention]), context)
            if len(group) > 1:  # still ambiguous: a place named with another department of a list applies to it
                group = self._narrow(group, q)
            if len(group) > 1 and any(form in q for r in self.regions for form in region_forms(r)):
                group = _without_own_units(group)
            self._resolve(match, mention, group)
        # the rest of the question: shortened names (人社局, 省高院, 刑科院), also beside exact names in a list
        masked = "".join("|" if any(s <= i < e for s, e in taken) else c for i, c in enumerate(q))
        for m in _dept_spans(masked):
            text = m.group(0)
            if parts := self._joined_names(text, q):  # 江苏人大和政协, 省法院跟检察院: one name per part
                for span, group in parts:
                    self._resolve(match, span, group)
                continue
            while text:  # a span may hold several names joined by 和/与 (嘉兴市卫健委和湖州市卫健委): read from the end
                span, group = self._shortened_suffix(text, q)
                if not group and (group := self._mistyped(text, q)):
                    span = text
                    if len(group) == 1:
                        match.corrected[text] = group[0]
                if group:
                    self._resolve(match, span, group)
                elif not re.search(r"哪|什么|各|每|所有|全部|其中|部门|单位", text) and (
                        not taken or re.match(r"[\u4e00-\u9fff]{2,4}[省市区县]", text)):
                    match.unknown.append(text)  # beside known names: only a placed name (嘉兴市卫健委) is reported
                head = re.sub(r"(?:和|与|及|跟|同)$", "", text[:len(text) - len(span)]) if group else ""
                text = head if head and _DEPT_SPAN.fullmatch(head) else ""
        for stem, group in self._listed_stems(masked, q):
            self._resolve(match, stem, group)
        for mention in match.mentions:
            match.rest = match.rest.replace(mention, "|")
        if match.candidates:
            match.unknown = []
        return match

    def _joined_names(self, span: str, q: str) -> list[tuple[str, list[str]]]:
        """A span of shortened names joined by 和/与/跟/及/同 (江苏人大和政协): each part read as a name, a place named
        at the start applying to all; empty unless every part is one department."""
        parts = [p for p in _JOINERS.split(span) if p]
        if len(parts) < 2 and not (parts and _JOINERS.match(span)):  # "和省政协" follows a name already found
            return []
        found = []
        for part in parts:
            group = self._shortened(part, q) if len(part) >= 2 else []
            if len(group) > 1:
                group = _without_own_units(group)
            if len(group) != 1:
                return []
            found.append((part, group))
        return found

    def _resolve(self, match: DepartmentMatch, mention: str, group: list[str]) -> None:
        if len(group) == 1:
            if group[0] not in match.names:
                match.names.append(group[0])
            match.mentions.append(mention)
        elif len(group) > 1:
            match.candidates += [name for name in group if name not in match.candidates]
            match.mentions.append(mention)
        else:
            match.unknown.append(mention)

    def _mistyped(self, mention: str, q: str) -> list[str]:
        """Departments one typing slip away from a name that matches nothing: two characters swapped (普陀区法司局), or
        a wrong, missing or extra character where the words around it make the name (a place: 普佗区司法局; a long
        organ name: 人力资源和社会保瘴局) — not in a short organ name, where one character is another department
        (民政局 is not 财政局). Several → the question is asked back."""
        if len(mention) < 6:
            return []
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        near = process.extract(mention, [a for a in self.alias_map if abs(len(a) - len(mention)) <= 1], scorer=OSA.distance,
                               score_cutoff=1, limit=None)
        aliases = [alias for alias, _, _ in near if sorted(alias) == sorted(mention)  # two characters swapped
                   or len(organ := _PLACE_PREFIX.sub("", alias)) >= 6 or (organ != alias and mention.endswith(organ))]
        group = sorted({name for alias in aliases for name in self.alias_map[alias]})
        if len(group) > 1:
            group = self._narrow(group, q)
        if len(group) > 1 and any(form in q for r in self.regions for form in region_forms(r)):
            group = _without_own_units(group)
        return group

    def _narrow(self, group: list[str], q: str) -> list[str]:
        """An ambiguous alias narrowed by a region the question names elsewhere (湖州 … 财政局); a region named that
        none of the candidates has leaves no candidate (普陀区教育局 when only other cities' 教育局 are stored)."""
        named = [region for region in self.regions if any(form in q for form in region_forms(region))]
        if not named:
            return group
        longest = max(len(r) for r in named)
        named = [r for r in named if len(r) == longest]
        narrowed = [name for name in group if self.departments.get(name) in named or any(r in name for r in named)]
        # a region that only repeats part of the name itself (上海市 in 上海市普陀区财政局) does not exclude it
        return narrowed or [name for name in group if any(form in name for r in named for form in region_forms(r))]

    def _shortened_suffix(self, span: str, q: str) -> tuple[str, list[str]]:
        """The longest tail of a span that reads as a shortened department name (a span may start with other words:
        "这几家中的人社局")."""
        for start in [0, *range(1, len(span) - 2)]:  # a tail is at least 3 characters (政局 is no department)
            if start and span[start] in _ADMIN and "\u4e00" <= span[start - 1] <= "\u9fff":  # after a place's 市/区
                continue
            group = self._shortened(span[start:], q)
            if group:
                return (span, []) if self._unknown_place(span[:start]) else (span[start:], group)
        return span, []

    def _unknown_place(self, before: str) -> str | None:
        """A place name right before a department word that is none of the store's regions (嘉兴市 in 嘉兴市卫健委)."""
        place = re.search(r"[\u4e00-\u9fff]{2,3}[省市区县]$", before[-4:])
        if place and not any(place.group(0) in form or form in place.group(0) for r in self.regions for form in region_forms(r)):
            return place.group(0)
        return None

    def _listed_stems(self, masked: str, q: str) -> list[tuple[str, list[str]]]:
        """Bare stems in a list of at least three, with a place named (无锡 统计/人社/商务/应急 …): each read as the
        start of one department's core name in that place, the shortest name on a tie (应急 → 应急管理局)."""
        if not any(any(form in q for form in region_forms(r)) for r in self.regions):
            return []
        found = []
        masked = re.sub(r"[0-9一二两三四五六七八九十]+(?:个|家)?(?:部门|单位|家|局)", "|", masked)  # …水利六部门
        # names already read (masked as "|") still count as items of the list around them
        item = r"(?:[\u4e00-\u9fff]{2,8}|\|+)"
        for m in re.finditer(rf"{item}(?:[/,、]{item}){{2,}}", masked):
            for stem in re.split(r"[/,、]", m.group(0)):
                if "|" in stem:
                    continue
                group = self._shortened(stem, q, head=False)
                if group:
                    found.append((stem, [min(group, key=len)]))
        return found

    def _shortened(self, span: str, q: str, head: bool = True) -> list[str]:
        region_hint = [r for r in self.regions if any(form in q for form in region_forms(r))]
        core = span
        for region in region_hint:
            for form in region_forms(region):
                core = core.replace(form, "")
        if len(core) < 2:
            return []
        scored = []
        for name, region in self.departments.items():
            if region_hint and region not in region_hint and not any(r in name for r in region_hint):
                continue
            gaps = _subsequence_gaps(core, name.removeprefix("中共"))
            if gaps is not None and (not head or core[-1] in name[-4:] or (gaps == 0 and core in name)):
                scored.append((gaps, name))
        if not scored:
            return []
        best = min(g for g, _ in scored)
        return sorted(name for g, name in scored if g == best)

    # ------------------------------------------------------------------------------------------------ regions
    def find_regions(self, q: str) -> list[str]:
        found = []
        for region in sorted(self.regions, key=len, reverse=True):
            if any(form in q for form in region_forms(region)) and not any(region in r for r in found):
                found.append(region)
                break
        return found

    @staticmethod
    def region_forms(region: str) -> list[str]:
        return region_forms(region)

    # ------------------------------------------------------------------------------------------------ targets
    def targets_in(self, q: str) -> list[tuple[int, int, Target]]:
        """(start, end, target) of the longest non-overlapping vocabulary words of `q` (after its 类/款/项 markers are
        dropped), in order."""
        text = _LINE_MARKERS.sub("", q)
        found = [(start, end, self.words[text[start:end]][0]) for start, end in longest_spans(text, self.words, 2, self.max_word)]
        return [(s, e, t) for s, e, t in found if _allowed(t, text)]

    def find_targets(self, q: str, with_share: bool = False) -> tuple[Target | None, Target | None]:
        """The measured thing (and, for a share, the whole): the longest vocabulary words of the question; a 项 line
        qualified by a 类/款 name (行政运行(财政事务)) keeps the 类/款 name as its parent."""
        found = self.targets_in(q)
        if not found:
            return None, None
        text = _LINE_MARKERS.sub("", q)
        share_at = _share_position(text) if with_share else None
        if share_at is not None:
            before = [f for f in found if f[0] < share_at]
            after = [f for f in found if f[0] > share_at]
            numerator = _qualified(before, text, self) if before else None
            whole = _qualified(after, text, self) if after else None
            if whole is None and len(before) >= 2 and re.fullmatch(r"(?:里面?|中|之中|当中)的?", text[before[-1][1]:share_at]):
                return before[0][2], before[-1][2]  # "接待费在三公里占几成": the whole named last, before 里 … 占
            if whole is None and len(before) >= 2 and re.search(r"里|中|其中|当中", text[before[0][1]:before[1][0]]):
                return before[1][2], before[0][2]  # "政府采购中工程类占多少比例": the part of the whole named first
            if numerator is None and whole is not None:
                numerator, whole = whole, None
                if len(after) >= 2:
                    numerator, whole = after[-1][2], after[0][2]
            return numerator, whole
        return _qualified(found, text, self), None

    def summed_whole(self, q: str) -> list[Target]:
        """The items a share's whole adds up (…占三公经费、会议费、培训费合计的比例): two or more named after 占 and
        followed by a word of summing; else empty."""
        text = _LINE_MARKERS.sub("", q)
        share_at = _share_position(text)
        if share_at is None:
            return []
        after = [f for f in self.targets_in(q) if f[0] > share_at]
        if len(after) >= 2 and re.match(r"的?(?:合计|之和|总和|加起来|加总|共计|总计|总额|[两三四五六七八九几]项)", text[after[-1][1]:]):
            return [target for _, _, target in after]
        return []

    def fuzzy_project(self, name: str, min_score: float = 80.0) -> Target | None:
        """The project whose printed name is closest to a name as typed (会计人员考培 → 全市会计人员考培; 信息化建设运维 →
        信息化建设与运维), rapidfuzz similarity ≥ min_score; None when no name is that close."""
        from rapidfuzz import fuzz, process

        projects = self.names.get("project", {})
        if len(name) < 3 or not projects:
            return None
        best = process.extractOne(name, list(projects), scorer=fuzz.ratio, processor=lambda n: n.removesuffix("项目"))
        if best is None or best[1] < min_score:
            return None
        label = projects[best[0]]
        return Target(kind="project", key=label, label=label)

    def any_project(self) -> Target:
        return Target(kind="project", key="*", label="项目")


_PLACE_PREFIX = re.compile(r"^(?:[\u4e00-\u9fff]{1,6}?[省市区县])+")  # 上海市普陀区 of 上海市普陀区司法局


def _without_own_units(group: list[str]) -> list[str]:
    """A department before its own units (无锡市教育局 before 无锡市教育局(本级)) once the place is known."""
    return [name for name in group if re.sub(r"\([^()]*\)$", "", name) not in group or not name.endswith(")")]


def _dept_spans(q: str):
    return _DEPT_SPAN.finditer(q)


_JOINERS = re.compile(r"以及|和|与|跟|及|同|,|/")
_DEPT_SPAN = re.compile(r"[\u4e00-\u9fffA-Za-z()]{0,18}(?:组织部|宣传部|统战部|工作部|检察院|法院|委员会|办公厅|办公室|街道|总队|"
                         r"中心|人大|政协|学院|学校|局|厅|部(?!门)|院|委(?!员)|办(?!法|理|公)|馆|所|站|队)")


def _share_position(text: str) -> int | None:
    m = re.search(r"占(?!用)", text)
    return m.start() if m else None


def _allowed(target: Target, text: str) -> bool:
    """Concepts that need a context word (政府采购 categories need 采购)."""
    if target.kind != "concept":
        return True
    concept: Concept = thesaurus().get(target.key)
    return not concept.requires or any(word in text for word in concept.requires)


def _qualified(found: list[tuple[int, int, Target]], text: str, vocab: Vocabulary) -> Target | None:
    """One target from the words found: a 项 line with a 类/款 parent named beside it; of two concepts, the one after
    里/中/其中 (三公经费里出国经费), else the longest word (机关运行经费财政拨款预算), the later on a tie (head noun last)."""
    if not found:
        return None
    targets = [t for _, _, t in found]
    lines = [t for t in targets if t.kind == "line"]
    if len(lines) >= 2:
        leaf = next((t for t in lines if "项" in vocab.line_levels.get(t.key, set())), None)
        parent = next((t for t in lines if t is not leaf and vocab.line_levels.get(t.key, set()) & {"类", "款"}), None)
        if leaf and parent:
            return leaf.model_copy(update={"parent": parent.key, "label": f"{leaf.label}({parent.label})"})
    if len(found) >= 2:
        first, second = found[0], found[1]
        if re.search(r"里|中|其中|下的|当中", text[first[1]:second[0]]):
            return second[2]
        return max(found, key=lambda f: (f[1] - f[0], f[2].kind != "subject", f[0]))[2]
    return targets[0]
