"""Retrieval evaluation against hand-labelled queries (``eval/search_queries.jsonl``).

A query's labels are ``{"source": "corpus/….txt", "line": N}`` or ``{"source": "realdocs/….pdf", "page": N}``.
A search hit *covers* a label when its source is the same document (compared by the path from ``corpus/`` or
``realdocs/`` on) and its line (or page) range contains the labelled line (page). Relevance is binary per label:
each label is credited once, to the first hit covering it.

* nDCG@10 = DCG of the credited hits / ideal DCG with min(#labels, 10) relevant hits at the top.
* Recall@5 = labels covered in the top 5 / labels.
* Hit@5 = 1 if any label is covered in the top 5 (reported alongside: most queries have one or two labels).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .search import MODES, Searcher, SearchHit

QUERIES_PATH = Path(__file__).resolve().parents[1] / "eval" / "search_queries.jsonl"


def canonical_source(source: str | None) -> str:
    text = (source or "").replace("\\", "/")
    for marker in ("realdocs/", "corpus/"):
        if marker in text:
            return text[text.index(marker) :]
    return text


def covers(hit: SearchHit | dict[str, Any], label: dict[str, Any]) -> bool:
    get = hit.get if isinstance(hit, dict) else lambda key: getattr(hit, key)
    if canonical_source(get("source")) != canonical_source(label["source"]):
        return False
    for key in ("page", "line"):
        if label.get(key) is not None:
            start = get(key)
            end = get(f"{key}_end")
            if start is None:
                return False
            end = start if end is None else end
            return start <= int(label[key]) <= end
    return True  # a label without page/line: any passage of the document


def load_queries(path: str | Path | None = None) -> list[dict[str, Any]]:
    path = Path(path or QUERIES_PATH)
    queries = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        raw = raw.strip()
        if not raw or raw.startswith("//"):
            continue
        item = json.loads(raw)
        if not item.get("query") or not item.get("relevant"):
            raise ValueError(f"{path}:{number}: a query needs 'query' and a non-empty 'relevant' list")
        queries.append(item)
    return queries


def score_ranking(hits: list[SearchHit], labels: list[dict[str, Any]], k_ndcg: int = 10, k_recall: int = 5) -> dict:
    credited: set[int] = set()
    gains = []
    for hit in hits[:k_ndcg]:
        gain = 0
        for i, label in enumerate(labels):
            if i not in credited and covers(hit, label):
                credited.add(i)
                gain = 1
                break
        gains.append(gain)
    dcg = sum(g / math.log2(rank + 2) for rank, g in enumerate(gains))
    ideal = sum(1 / math.log2(rank + 2) for rank in range(min(len(labels), k_ndcg)))
    top = hits[:k_recall]
    covered = {i for i, label in enumerate(labels) for hit in top if covers(hit, label)}
    first = next((rank for rank, hit in enumerate(hits, start=1) if any(covers(hit, lb) for lb in labels)), None)
    return {
        "ndcg@10": dcg / ideal if ideal else 0.0,
        "recall@5": len(covered) / len(labels),
        "hit@5": 1.0 if covered else 0.0,
        "first_relevant_rank": first,
    }


@dataclass
class EvalReport:
    modes: dict[str, dict[str, float]] = field(default_factory=dict)
    per_query: list[dict[str, Any]] = field(default_factory=list)
    missing_sources: list[str] = field(default_factory=list)
    n_queries: int = 0
    embedder: str = ""
    expand: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "n_queries": self.n_queries,
            "embedder": self.embedder,
            "expand": self.expand,
            "modes": self.modes,
            "missing_sources": self.missing_sources,
            "per_query": self.per_query,
        }


def eval_search(
    queries_path: str | Path | None = None,
    data: str | Path | None = None,
    embedder: str | None = None,
    modes: Iterable[str] = ("bm25", "dense", "hybrid"),
    k: int = 10,
    expand: bool = True,
) -> EvalReport:
    """nDCG@10 / Recall@5 / Hit@5 per mode over the labelled queries, against the index in ``data``."""
    queries = load_queries(queries_path)
    modes = [m for m in modes if m in MODES]
    report = EvalReport(n_queries=len(queries), expand=expand)
    with Searcher(data, embedder, expand=expand) as searcher:
        indexed = {canonical_source(source) for source in searcher.indexed_sources()}
        labelled = {canonical_source(label["source"]) for q in queries for label in q["relevant"]}
        report.missing_sources = sorted(labelled - indexed)
        totals = {mode: {"ndcg@10": 0.0, "recall@5": 0.0, "hit@5": 0.0, "ms": 0.0} for mode in modes}
        for query in queries:
            row: dict[str, Any] = {"id": query.get("id"), "query": query["query"]}
            for mode in modes:
                started = time.perf_counter()
                hits = searcher.search(query["query"], k=k, mode=mode, filters=query.get("filters"))
                elapsed = (time.perf_counter() - started) * 1000
                scores = score_ranking(hits, query["relevant"])
                for key in ("ndcg@10", "recall@5", "hit@5"):
                    totals[mode][key] += scores[key]
                totals[mode]["ms"] += elapsed
                row[mode] = {"ndcg@10": round(scores["ndcg@10"], 4), "recall@5": round(scores["recall@5"], 4),
                             "first_relevant_rank": scores["first_relevant_rank"]}
            report.per_query.append(row)
        if "dense" in modes or "hybrid" in modes:
            report.embedder = searcher.embedder.name
        n = max(len(queries), 1)
        report.modes = {
            mode: {
                "ndcg@10": round(values["ndcg@10"] / n, 4),
                "recall@5": round(values["recall@5"] / n, 4),
                "hit@5": round(values["hit@5"] / n, 4),
                "mean_ms": round(values["ms"] / n, 1),
            }
            for mode, values in totals.items()
        }
    return report
