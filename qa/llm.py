"""Optional LLM assist: questions the rules cannot parse go to an OpenAI-compatible chat endpoint that must answer
with plan JSON; the JSON is validated against QueryPlan before anything runs. Off unless YUSUAN_LLM_BASE_URL is set."""

from __future__ import annotations

import json
import os
import re

import httpx
from pydantic import ValidationError

from .plan import METRICS, QueryPlan

SYSTEM = (
    "把中文预算问题转换成JSON查询计划，只输出JSON。字段：intent (lookup/superlative/list/sum/count/compare/share/change/"
    "indicator_filter/narrative), metric (" + ", ".join(f"{k}={m.label}" for k, m in METRICS.items()) + "), departments "
    "(从给定部门列表中选完整名称), year (int或null), unit (万元/元/亿元), k (int或null), order (desc/asc), keyword "
    "(metric=subject 时为科目名称如住房保障支出; entity=project 时为项目名称; 绩效指标关键词), entity (department/project), "
    "operator, threshold."
)


def plan_with_llm(question: str, departments: list[str], years: list[int], timeout: float = 20.0) -> QueryPlan | None:
    base = os.environ.get("YUSUAN_LLM_BASE_URL")
    if not base:
        return None
    model = os.environ.get("YUSUAN_LLM_MODEL", "default")
    headers = {}
    if key := os.environ.get("YUSUAN_LLM_API_KEY"):
        headers["Authorization"] = f"Bearer {key}"
    body = {
        "model": model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": json.dumps({"question": question, "departments": departments, "years": years},
                                                   ensure_ascii=False)},
        ],
    }
    try:
        resp = httpx.post(base.rstrip("/") + "/chat/completions", json=body, headers=headers, timeout=timeout)
        resp.raise_for_status()
        content = resp.json()["choices"][0]["message"]["content"]
        match = re.search(r"\{.*\}", content, re.S)
        if not match:
            return None
        data = json.loads(match.group(0))
        data["source"] = "llm"
        plan = QueryPlan.model_validate(data)
    except (httpx.HTTPError, KeyError, IndexError, ValueError, ValidationError, TypeError):
        return None
    if plan.metric is not None and plan.metric not in METRICS:
        return None
    plan.departments = [d for d in plan.departments if d in departments]
    return plan
