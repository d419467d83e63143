"""Department, region, level, year, kind and unit of a document, each with how it was inferred."""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise

from yusuan.model import Inference, IngestedDocument

from .classify import DISCLOSURE_TITLE, title_lines

_ORG_SUFFIX = (
    r"(?:委员会办公厅|常务委员会办公厅|常委会办公厅|办公厅|办公室|组织部|宣传部|统战部|政法委员会|人民检察院|高级人民法院|"
    r"中级人民法院|人民法院|街道办事处|委员会|局|厅|院|中心|所|馆|站|部)"
)
_ORG = re.compile(rf"((?:中共|中国共产党)?[\u4e00-\u9fff]{{2,24}}?{_ORG_SUFFIX})")
_TITLE_ORG = re.compile(
    rf"^(?P<org>[\u4e00-\u9fff()]{{2,40}}?{_ORG_SUFFIX})(?:本级|机关)?\s*(?:\d{{4}}|二〇)"
)
_YEAR = re.compile(r"(20\d{2})\s*年")
_YEAR_FIELD = re.compile(r"预算年度[:：]?\s*(20\d{2})")
_PLACE_IN_ORG = re.compile(
    r"^(?:中共|中国共产党)?(?P<prov>[\u4e00-\u9fff]{2,3}省)?(?P<city>[\u4e00-\u9fff]{2,4}?市)?"
    r"(?P<county>[\u4e00-\u9fff]{2,4}?(?:区|县))?"
)
_DOC_KINDS = (
    ("部门整体绩效目标表", ("整体", "绩效目标")),
    ("项目绩效目标表", ("项目", "绩效目标")),
    ("部门决算", ("决算",)),
    ("单位预算", ("单位预算",)),
    ("部门预算", ("部门预算",)),
    ("部门预算", ("预算",)),
)
_MUNICIPALITIES = ("北京市", "上海市", "天津市", "重庆市")
_PROVINCES = (
    "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东",
    "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾",
)


def infer_metadata(doc: IngestedDocument, table_texts: list[str]) -> dict[str, Inference]:
    lines = [line for block in doc.blocks for line in block.lines]
    titles = [line.text for line in lines if line.text and len(line.text) <= 60][:40]
    text = "\n".join(line.text for line in lines)
    all_text = text + "\n" + "\n".join(table_texts)
    cover = cover_title(title_lines(doc))
    result: dict[str, Inference] = {}
    result["department"] = _cover_department(title_lines(doc), cover) or _department(titles, all_text)
    dept = result["department"].value or ""
    result["region"] = _region(dept, all_text)
    if result["department"].value and result["region"].value:
        result["department"] = _qualify_department(result["department"], result["region"].value)
    result["department"] = _party_organ_name(result["department"])
    result["level"] = _level(result["region"].value, all_text)
    result["year"] = _cover_year(cover) or _year(titles, all_text)
    result["doc_kind"] = _cover_doc_kind(cover) or _doc_kind(titles)
    return result


# the cover title: [year] organ [group qualifier] [year] kind — "2026年度苏州市交通运输局部门预算公开",
# "重庆市交通运输委员会及委属单位2026年部门预算情况说明", "国家统计局部门预算(2026)"
_COVER_TITLE = re.compile(
    r"^(?:(?:20\d{2})\s*年度?)?(?P<org>[\u4e00-\u9fff()]{2,60}?)\s*(?:(?P<year>20\d{2})\s*年?度?)?"
    r"(?P<kind>部门预算|单位预算|部门决算|单位决算|预决算|预算|决算)"
)
# the group an organ's title covers, which is not part of its name: 及委属单位, (含下属单位), 部门及所属预算单位, 局属单位
_GROUP = re.compile(
    r"(?:\((?:含|及)?(?:下属|所属|委属|局属|直属)(?:预算)?单位\)|(?:部门)?及(?:其)?(?:所属|下属|委属|局属|直属)(?:预算)?单位"
    r"|[局委厅](?:属|直属)单位|本部门|年度?)$"
)
_COVER_FIELD = re.compile(r"^(?:预算单位|单位名称|编制单位|部门名称|预算部门|编制部门)[:：]\s*(?P<org>[\u4e00-\u9fff()]{4,60})$")
_NOT_A_NAME = re.compile(r"\d|^[(（]|按照|关于|根据|^是|^为|^我|^本|^该|^各|^其|所属|[,，。;；、的]")
_YEAR_ANYWHERE = re.compile(r"(20\d{2})")
_BARE_YEAR = re.compile(r"^[(（]?20\d{2}年?度?[)）]?$")
_COVER_KINDS = (("单位决算", "单位决算"), ("部门决算", "部门决算"), ("决算", "部门决算"), ("单位预算", "单位预算"),
                ("预算", "部门预算"))


def is_organ_name(name: str) -> bool:
    """A proper organ name: ends like one (局, 委员会, 办公厅, 院, 中心 …, optionally (本级)), no sentence fragments."""
    core = re.sub(r"\((?:本级|机关)\)$", "", name)
    return len(core) >= 4 and not _NOT_A_NAME.search(core) and bool(re.search(rf"{_ORG_SUFFIX}(?:\([^)]*\))?$", core))


def cover_title(cover_lines: list[str]) -> str:
    """The disclosure title printed on the cover, joined when it runs over up to three lines ("2018年度江苏省高级" /
    "人民法院预算公开"): of the joins that read as [year] organ [year] kind, the one naming the fullest organ."""
    compact = [_PART_PREFIX.sub("", re.sub(r"\s+", "", line)) for line in cover_lines]
    candidates: list[tuple[int, int, str]] = []
    for size in (1, 2, 3):
        for start in range(len(compact) - size + 1):
            joined = "".join(compact[start:start + size])
            match = _COVER_TITLE.match(joined)
            if match and DISCLOSURE_TITLE.search(joined) and is_organ_name(org := _GROUP.sub("", match.group("org"))):
                candidates.append((-len(org), size, joined + _year_beside(compact, start, start + size)))
    if candidates:
        return min(candidates)[2]
    return next((line for line in compact if DISCLOSURE_TITLE.search(line)), "")


def _year_beside(lines: list[str], start: int, end: int) -> str:
    """A title whose year is printed on its own line above or below it ("…年部门预算情况说明" / "2026")."""
    if _YEAR_ANYWHERE.search("".join(lines[start:end])):
        return ""
    beside = [lines[index] for index in (end, start - 1) if 0 <= index < len(lines)]
    return next((line for line in beside if _BARE_YEAR.match(line)), "")


def _cover_department(cover_lines: list[str], cover: str) -> Inference | None:
    for line in cover_lines:
        field = _COVER_FIELD.match(re.sub(r"\s+", "", line))
        if field and not _NOT_A_NAME.search(field.group("org")):
            return Inference(value=field.group("org"), how="unit named on the cover", evidence=line)
    match = _COVER_TITLE.match(cover)
    if match:
        org = match.group("org")
        while (bare := _GROUP.sub("", org)) != org:
            org = bare
        if is_organ_name(org):
            return Inference(value=org, how="cover title", evidence=cover)
    return None


def _cover_year(cover: str) -> Inference | None:
    match = _YEAR_ANYWHERE.search(cover)
    return Inference(value=int(match.group(1)), how="cover title", evidence=cover) if match else None


def _cover_doc_kind(cover: str) -> Inference | None:
    if "绩效" in cover:
        return None
    for word, kind in _COVER_KINDS:
        if word in cover:
            return Inference(value=kind, how="cover title", evidence=cover)
    return None


_PART_PREFIX = re.compile(r"^(?:第[一二三四五六七八九十]+部分|[一二三四五六七八九十]+[、.．])")
_FIELD_KEYS = ("编制部门", "编制单位", "单位名称", "预算部门", "主管部门", "部门名称", "填报单位", "部门")


def _field_pattern(key: str) -> re.Pattern[str]:
    """'key: organ' with no Chinese character before the key; a bare 部门 needs its colon, or prose matches. The
    look-behind follows the key, so that the regex engine scans for the key's characters instead of trying the
    look-behind at every position of the text."""
    separator = "[:：]\\s*" if key == "部门" else "[:：\\s]*"
    organ = rf"((?:中共)?[\u4e00-\u9fff()（）]{{2,30}}?{_ORG_SUFFIX})(?![\u4e00-\u9fff])"
    return re.compile(rf"{key}(?<![\u4e00-\u9fff]{key}){separator}{organ}")


_FIELDS = tuple((key, _field_pattern(key)) for key in _FIELD_KEYS)
_OWN_UNIT_MARKS = ("本级", "(机关)", "（机关）")
_OWN_UNIT = re.compile(rf"((?:中共)?[\u4e00-\u9fff]{{2,30}}?{_ORG_SUFFIX})(?:{'|'.join(map(re.escape, _OWN_UNIT_MARKS))})")
_OWN_UNIT_REACH = 64  # the most characters a match can have before its mark: 中共, 30 characters, the longest suffix


def _own_unit(text: str) -> re.Match[str] | None:
    """The first 'organ本级' / 'organ(机关)' in the text. No match can begin further than the reach before the first
    mark, so the search starts there instead of trying the pattern at every position before it."""
    marks = [position for mark in _OWN_UNIT_MARKS if (position := text.find(mark)) >= 0]
    return _OWN_UNIT.search(text, max(0, min(marks) - _OWN_UNIT_REACH)) if marks else None


def _department(titles: list[str], text: str) -> Inference:
    head = titles[:8]
    for title in head + [a + b for a, b in pairwise(head)]:  # a cover title over two lines
        compact = _PART_PREFIX.sub("", title.replace(" ", ""))
        match = _TITLE_ORG.match(compact)
        if match and any(word in title for word in ("预算", "决算")) and not _is_generic(match.group("org")):
            return Inference(value=match.group("org"), how="document title", evidence=title)
    spaced = text.replace("\t", " ")
    for key, pattern in _FIELDS:
        fields = Counter(m.group(1) for m in pattern.finditer(spaced) if not _is_generic(m.group(1)))
        if fields:
            name, count = fields.most_common(1)[0]
            return Inference(value=name, how=f"{key} field", evidence=f"{key}:{name} ×{count}")
    own = _own_unit(text)
    if own and not _is_generic(own.group(1)):
        name = own.group(1)
        full = re.search(r"(中共[\u4e00-\u9fff]{2,30})", name)
        return Inference(value=full.group(1) if full else name, how="本级 unit name", evidence=own.group(0))
    counts = Counter(m.group(1) for m in _ORG.finditer(text) if len(m.group(1)) >= 4 and not _is_generic(m.group(1)))
    if counts:
        name, count = counts.most_common(1)[0]
        return Inference(value=name, how="most frequent organisation name in text", evidence=f"{name} ×{count}")
    return Inference(value=None, how="not found")


def _is_generic(name: str) -> bool:
    generic = re.search(r"^\d|^年|级部|^部门|^本部|^我部|^单位|^预算|^其中|^及|^即|所属|本年度|[从的]", name)
    return bool(generic or _NOT_A_NAME.search(name)) or len(name) < 4


def _place(dept: str) -> str:
    match = _PLACE_IN_ORG.match(dept)
    if not match:
        return ""
    return "".join(group for group in (match.group("prov"), match.group("city"), match.group("county")) if group)


def _region(dept: str, text: str) -> Inference:
    place = _place(dept)
    if place and place not in ("市委", "省委", "县委", "区委"):
        return Inference(value=place, how="department name", evidence=dept)
    if dept.startswith("省"):
        provinces = Counter(re.findall(rf"({'|'.join(_PROVINCES)})省", text))
        if provinces:
            name, count = provinces.most_common(1)[0]
            return Inference(value=f"{name}省", how="province named in text", evidence=f"{name}省 ×{count}")
    cities = Counter(re.findall(r"(?<![\u4e00-\u9fff])([\u4e00-\u9fff]{2,3})(?:市(?![委级])|组工|党建)", text))
    if cities:
        name, count = cities.most_common(1)[0]
        return Inference(value=f"{name}市", how="place name mentioned in text", evidence=f"{name} ×{count}")
    return Inference(value=None, how="not found")


def _qualify_department(dept: Inference, region: str) -> Inference:
    """'市委组织部' in a document about 绍兴 is '中共绍兴市委组织部'."""
    value = dept.value
    for prefix, suffix in (("市委", "市"), ("县委", "县"), ("区委", "区"), ("省委", "省")):
        if value.startswith(prefix) and region.endswith(suffix):
            return Inference(value=f"中共{region}{value[1:]}", how=f"{dept.how} + region", evidence=dept.evidence)
    return dept


_PARTY_COMMITTEE = re.compile(r"^[\u4e00-\u9fff]{2,9}?[省市县区]委(?!员会)")


def _party_organ_name(dept: Inference) -> Inference:
    """One name for a party organ however a document spells it: 中国共产党江苏省委员会办公厅, 江苏省委办公厅 and
    中共江苏省委办公厅 are all 中共江苏省委办公厅."""
    value = dept.value
    if not value:
        return dept
    name = re.sub(r"^中国共产党", "中共", value)
    if name.startswith("中共"):
        name = re.sub(r"([省市县区])委员会", r"\1委", name)
    elif _PARTY_COMMITTEE.match(name):
        name = "中共" + name
    if name == value:
        return dept
    return Inference(value=name, how=f"{dept.how}, party organ named as 中共…委", evidence=dept.evidence)


def _level(region: str | None, text: str) -> Inference:
    if region:
        if region.endswith(("街道", "乡", "镇")):
            return Inference(value="乡镇", how="region suffix", evidence=region)
        if region in _MUNICIPALITIES and "区级" not in text:
            return Inference(value="市", how="municipality", evidence=region)
        suffix = region[-1]
        level = {"省": "省", "区": "区", "县": "县", "市": "市"}.get(suffix)
        if level:
            return Inference(value=level, how="region suffix", evidence=region)
    for word, level in (("省级", "省"), ("市级", "市"), ("区级", "区"), ("县级", "县")):
        if word in text:
            return Inference(value=level, how=f"'{word}' in text", evidence=word)
    return Inference(value=None, how="not found")


def _year(titles: list[str], text: str) -> Inference:
    field = _YEAR_FIELD.search(text)
    if field:
        return Inference(value=int(field.group(1)), how="预算年度 field", evidence=field.group(0))
    for title in titles:
        if any(word in title for word in ("预算", "决算", "绩效")):
            match = _YEAR.search(title)
            if match:
                return Inference(value=int(match.group(1)), how="document title", evidence=title)
    counts = Counter(_YEAR.findall(text))
    if counts:
        year, count = counts.most_common(1)[0]
        return Inference(value=int(year), how="most frequent year in text", evidence=f"{year} ×{count}")
    return Inference(value=None, how="not found")


def _doc_kind(titles: list[str]) -> Inference:
    for title in titles:
        compact = title.replace(" ", "")
        for kind, words in _DOC_KINDS:
            if all(word in compact for word in words):
                return Inference(value=kind, how="document title", evidence=title)
    return Inference(value=None, how="not found")
