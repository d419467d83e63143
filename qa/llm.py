"""Optional LLM assist: questions the rules cannot parse go to an OpenAI-compatible chat endpoint that must answer
with plan JSON (the same QueryPlan the rules produce); the JSON is validated before anything runs. Off unless
YUSUAN_LLM_BASE_URL is set."""

from __future__ import annotations

import json
import os
import re

import httpx
from pydantic import ValidationError

from yusuan.vocab import thesaurus

from .plan import INTENTS, QueryPlan
from .vocabulary import Vocabulary


def _system() -> str:
    concepts = ", ".join(f"{c.key}={c.label}" for c in thesaurus().concepts if c.group not in ("measure", "doc_kind"))
    return (
        "把中文预算问题转换成JSON查询计划，只输出JSON。字段：intent (" + "/".join(INTENTS) + "), target "
        "{kind: concept|line|project|subject, key, label} (concept 的 key 取自: " + concepts + "; line 为科目或收支总表行名; "
        "project 为项目名称, key='*' 表示所有项目), denominator (share 的分母, 同 target), departments (从给定部门列表中选完整名称), "
        "regions, years (int 列表), doc_kind (部门预算/单位预算/部门决算或null), measure (预算数/决算数或null), "
        "unit (万元/元/亿元), k, order (desc/asc), operator (>, ≥, <, ≤, =), threshold, items (department/project)."
    )


def plan_with_llm(question: str, vocab: Vocabulary, timeout: float = 20.0) -> QueryPlan | None:
    base = os.environ.get("YUSUAN_LLM_BASE_URL")
    if not base:
        return None
    headers = {}
    if key := os.environ.get("YUSUAN_LLM_API_KEY"):
        headers["Authorization"] = f"Bearer {key}"
    departments = sorted(vocab.departments)
    body = {
        "model": os.environ.get("YUSUAN_LLM_MODEL", "default"),
        "temperature": 0,
        "messages": [
            {"role": "system", "content": _system()},
            {"role": "user", "content": json.dumps({"question": question, "departments": departments,
                                                    "years": vocab.years}, ensure_ascii=False)},
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
    if plan.target is not None and plan.target.kind == "concept" and plan.target.key not in {c.key for c in thesaurus().concepts}:
        return None
    plan.departments = [d for d in plan.departments if d in vocab.departments]
    return plan
