"""Split an indicator target cell ("≥90%", "400元/人以内", "及时") into operator, value and unit."""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPERATORS = {
    "≥": "≥", ">=": "≥", "大于等于": "≥", "不低于": "≥", "不少于": "≥", "至少": "≥",
    "≤": "≤", "<=": "≤", "小于等于": "≤", "不高于": "≤", "不超过": "≤", "不多于": "≤",
    ">": ">", "大于": ">", "<": "<", "小于": "<", "=": "=", "等于": "=",
}
_SUFFIX_OPERATORS = {"以上": "≥", "及以上": "≥", "以内": "≤", "以下": "≤", "及以下": "≤"}
_OPERATOR_PATTERN = "|".join(sorted(map(re.escape, _OPERATORS), key=len, reverse=True))
_SUFFIX_PATTERN = "|".join(sorted(map(re.escape, _SUFFIX_OPERATORS), key=len, reverse=True))
_VALUE = re.compile(
    rf"^(?P<op>{_OPERATOR_PATTERN})?\s*(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>[^\d\s]{{0,8}}?)\s*(?P<suffix>{_SUFFIX_PATTERN})?$"
)
_PREFIXED = re.compile(r"^([\u4e00-\u9fff]{1,4})(?=\d)(.+)$")
_LOOSE = re.compile(rf"^(?P<op>{_OPERATOR_PATTERN})?\s*(?P<num>\d+(?:\.\d+)?)(?P<rest>.+)$")
_UNIT = re.compile(r"^(%|‰|[\u4e00-\u9fff]{1,3}(?:/[\u4e00-\u9fff]{1,2})?|[a-zA-Z]{1,4})$")


@dataclass(frozen=True)
class IndicatorValue:
    operator: str | None
    value: str | None
    value_num: float | None
    unit: str | None


def parse_indicator_value(raw: str | None, name: str | None = None) -> IndicatorValue:
    text = (raw or "").strip().replace(" ", "")
    if not text:
        return IndicatorValue(None, None, None, None)
    match = _VALUE.match(text)
    if match:
        operator = _OPERATORS.get(match.group("op") or "")
        if match.group("suffix"):
            operator = _SUFFIX_OPERATORS[match.group("suffix")]
        unit = match.group("unit") or None
        if unit and (not _UNIT.match(unit) or (name and unit in name and len(unit) > 2)):
            return _qualitative_or_number_with_label(text, match, operator)
        return IndicatorValue(operator or "=", match.group("num"), float(match.group("num")), unit)
    prefixed = _PREFIXED.match(text)
    if prefixed and prefixed.group(1) not in _OPERATORS:
        rest = parse_indicator_value(prefixed.group(2), name)
        if rest.value_num is not None and rest.unit:
            return rest
    loose = _LOOSE.match(text)
    if loose and ((name and _same_words(loose.group("rest"), name)) or _is_description(loose)):
        # "≥90投保车辆数" repeats the indicator name, "≥90正常运行站点占总站点比率" describes it: neither is a unit.
        operator = _OPERATORS.get(loose.group("op") or "", "=")
        return IndicatorValue(operator, loose.group("num"), float(loose.group("num")), None)
    return IndicatorValue("定性", text, None, None)


def _qualitative_or_number_with_label(text: str, match: re.Match[str], operator: str | None) -> IndicatorValue:
    if match.group("op"):
        return IndicatorValue(operator or "=", match.group("num"), float(match.group("num")), None)
    return IndicatorValue("定性", text, None, None)


def _same_words(rest: str, name: str) -> bool:
    rest = rest.strip()
    if not rest or not ("\u4e00" <= rest[0] <= "\u9fff"):
        return False
    return len(rest) >= 2 and (rest in name or name in rest or len(set(rest) & set(name)) >= max(2, len(rest) // 2))


def _is_description(loose: re.Match[str]) -> bool:
    """An explicit comparison, a number, then words too long for a unit."""
    rest = loose.group("rest").strip()
    return bool(loose.group("op")) and len(rest) >= 5 and "\u4e00" <= rest[0] <= "\u9fff"
