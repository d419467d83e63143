"""Issue lists as Markdown, CSV, JSON or a self-contained HTML page."""

from __future__ import annotations

import csv
import html
import io
import json

from yusuan.model import DocumentMeta

from .model import FAMILY_NAMES, Issue

FORMATS = ("md", "csv", "json", "html")
_SEVERITY = {"error": "错误", "warning": "警告", "info": "提示"}


def _values(issue: Issue) -> str:
    return "；".join(f"{v.label}：{v.raw or v.value}" + (f"（第{v.page}页）" if v.page else "") for v in issue.values)


def render(issues: list[Issue], meta: DocumentMeta, fmt: str) -> str:
    if fmt == "json":
        payload = {"document": meta.model_dump(include={"doc_id", "source", "department", "year", "doc_kind"}),
                   "issues": [issue.model_dump() for issue in issues]}
        return json.dumps(payload, ensure_ascii=False, indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["rule_id", "family", "severity", "page", "message", "values", "suggestion", "evidence"])
        for issue in issues:
            writer.writerow([issue.rule_id, issue.family, issue.severity, issue.page or "", issue.message, _values(issue),
                             issue.suggestion, issue.evidence])
        return out.getvalue()
    title = f"{meta.department or meta.source} {meta.year or ''} {meta.doc_kind or ''} 审核结果：{len(issues)} 个问题"
    if fmt == "md":
        lines = [f"# {title}", "", "| 规则 | 类别 | 级别 | 页 | 问题 | 比对数值 | 建议 |", "|---|---|---|---|---|---|---|"]
        for issue in issues:
            cells = [issue.rule_id, FAMILY_NAMES[issue.family], _SEVERITY[issue.severity], str(issue.page or ""),
                     issue.message, _values(issue), issue.suggestion]
            lines.append("| " + " | ".join(cell.replace("|", "｜").replace("\n", " ") for cell in cells) + " |")
        return "\n".join(lines) + "\n"
    if fmt == "html":
        rows = "".join(
            f"<tr class='{issue.severity}'><td>{issue.rule_id}</td><td>{FAMILY_NAMES[issue.family]}</td>"
            f"<td>{_SEVERITY[issue.severity]}</td><td>{issue.page or ''}</td><td>{html.escape(issue.message)}</td>"
            f"<td>{html.escape(_values(issue))}</td><td>{html.escape(issue.suggestion)}</td></tr>"
            for issue in issues
        )
        return (
            "<!doctype html><html lang='zh'><meta charset='utf-8'><title>" + html.escape(title) + "</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
            "padding:4px 8px;vertical-align:top}tr.error td:first-child{border-left:4px solid #c00}"
            "tr.warning td:first-child{border-left:4px solid #e90}</style>"
            f"<h1>{html.escape(title)}</h1><table><tr><th>规则</th><th>类别</th><th>级别</th><th>页</th><th>问题</th>"
            f"<th>比对数值</th><th>建议</th></tr>{rows}</table></html>\n"
        )
    raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
