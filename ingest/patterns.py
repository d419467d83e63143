"""Line patterns shared by the PDF and office readers (what a unit/meta line, a note, a table title looks like)."""

from __future__ import annotations

import re

# "单位：万元", "编制部门：XX", "部门名称：XX", "预算年度：2025", "（2023年度）"
UNIT_LINE = re.compile(
    r"^(金额)?单位\s*[:：]|(编制|填报|预算|主管)?(部门|单位)(名称)?\s*[:：]|^部门\s*[:：]|预算年度|截止时间"
    r"|单位\s*[:：]\s*(万?元|亿元)|^[（(]?\s*\d{4}\s*年度?\s*[)）]?$"
)
# lines under a table that comment on it: "注：…", "（无政府性基金支出）", "本表无数据", "故本表为空表"
NOTE_LINE = re.compile(r"^(注|说明|备注)\s*\d*\s*[:：]|本表无|空表|^[（(]\s*无|无.{0,20}(收支|支出|收入|预算|数据|经费)")
# a table title ends in 表 (or 表（续）), or names a kind of table
TITLE_WORD = re.compile(r"表\s*([（(]\s*续\s*[)）])?\s*\d*$|表[（(]|一览表|明细表|总表|情况表|预算表|决算表")


def is_unit_line(text: str) -> bool:
    return bool(UNIT_LINE.search(text)) and len(text) < 80
