"""Where the search index lives.

* ``passages`` — a table in ``<data>/yusuan.duckdb`` beside ``documents``: one row per passage with its text,
  section, heading path, the document metadata used by filters, page/line provenance, the BM25 tokens, and
  ``vector_id`` (= ``passage_id``: the id of its vector in every embedder's faiss index). Passage ids come from a
  sequence and are never reused, so a stale vector can never be mistaken for a new passage.
* ``<data>/index/<embedder>/faiss.index`` — the vectors of one embedder (``IndexIDMap2``), exact ``IndexFlatIP`` up
  to ``HNSW_THRESHOLD`` vectors, ``IndexHNSWFlat`` above. Removing vectors: ``remove_ids`` on the flat index;
  tombstones on HNSW (skipped at search time, compacted by rebuilding from the stored vectors when they pass 20%).
* ``<data>/index/bm25/`` — the persisted BM25 index (see :mod:`yusuan.index.bm25`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from yusuan.config import db_path
from yusuan.store.lock import StoreConnection

from .chunk import Passage

HNSW_THRESHOLD = int(os.environ.get("YUSUAN_HNSW_THRESHOLD", "50000"))
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 256  # 1M synthetic: p50 0.35 ms, recall@10 0.79 (64: 0.18 ms, 0.64) — see bench
EXACT_FILTER_LIMIT = 20000  # a filter that leaves at most this many passages is scored exactly
TOMBSTONE_COMPACT = 0.2

PASSAGE_COLUMNS = (
    "passage_id",
    "doc_id",
    "sha256",
    "ord",
    "kind",
    "text",
    "section",
    "heading_path",
    "department",
    "region",
    "level",
    "year",
    "doc_kind",
    "source",
    "page",
    "page_end",
    "line",
    "line_end",
    "vector_id",
    "tokens",
    "chunker_version",
    "tokenizer_version",
    "content_hash",
)

_DDL = [
    "CREATE SEQUENCE IF NOT EXISTS passage_id_seq START 1",
    """CREATE TABLE IF NOT EXISTS passages (
        passage_id BIGINT PRIMARY KEY,
        doc_id TEXT NOT NULL,
        sha256 TEXT,
        ord INTEGER,
        kind TEXT,
        text TEXT,
        section TEXT,
        heading_path TEXT,
        department TEXT,
        region TEXT,
        level TEXT,
        year INTEGER,
        doc_kind TEXT,
        source TEXT,
        page INTEGER,
        page_end INTEGER,
        line INTEGER,
        line_end INTEGER,
        vector_id BIGINT,
        tokens TEXT,
        chunker_version TEXT,
        tokenizer_version TEXT,
        indexed_at TIMESTAMP DEFAULT current_timestamp,
        content_hash TEXT
    )""",
    "ALTER TABLE passages ADD COLUMN IF NOT EXISTS content_hash TEXT",  # databases indexed before it existed
]

HEADING_SEP = " > "


def connect(data: str | Path | None = None, read_only: bool = False) -> StoreConnection:
    """A connection under the store's reader/writer lock (yusuan.store.lock), which closing it gives back."""
    path = db_path(data)
    if read_only and not path.exists():
        raise FileNotFoundError(f"no database at {path}: run `yusuan extract` and `yusuan index` first")
    return StoreConnection(path, write=not read_only)


def connect_reader(data: str | Path | None = None) -> StoreConnection:
    """A short-lived read-only connection for searching, under the store's shared lock: it waits while a writer
    (`yusuan index`, an extraction) commits, and closing it lets the next writer in."""
    return connect(data, read_only=True)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    for statement in _DDL:
        con.execute(statement)


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = current_schema()",
        [name],
    ).fetchone()
    return bool(row and row[0])


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def read_documents(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    if not has_table(con, "documents"):
        raise LookupError("no `documents` table in the database: run `yusuan extract <files>` first")
    return _rows(con, "SELECT * FROM documents ORDER BY doc_id")


def passage_doc_state(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Per indexed document: its sha256, chunker/tokenizer versions and passage count."""
    rows = _rows(
        con,
        "SELECT doc_id, any_value(sha256) AS sha256, any_value(chunker_version) AS chunker_version, "
        "any_value(tokenizer_version) AS tokenizer_version, count(*) AS n FROM passages GROUP BY doc_id",
    )
    return {row["doc_id"]: row for row in rows}


def new_ids(con: duckdb.DuckDBPyConnection, n: int) -> list[int]:
    if n <= 0:
        return []
    return [row[0] for row in con.execute("SELECT nextval('passage_id_seq') FROM range(?)", [n]).fetchall()]


def reusable_ids(con: duckdb.DuckDBPyConnection, doc_ids: Sequence[str]) -> dict[str, list[int]]:
    """content hash → passage ids of these documents' passages (oldest first)."""
    pool: dict[str, list[int]] = {}
    rows = con.execute(
        "SELECT content_hash, passage_id FROM passages WHERE doc_id IN (SELECT unnest(?)) AND content_hash IS NOT NULL "
        "ORDER BY passage_id",
        [list(doc_ids)],
    ).fetchall()
    for content_hash, passage_id in rows:
        pool.setdefault(content_hash, []).append(int(passage_id))
    return pool


def replace_document(
    con: duckdb.DuckDBPyConnection,
    doc_id: str,
    passages: Sequence[Passage],
    tokens: Sequence[Sequence[str]],
    hashes: Sequence[str],
    *,
    chunker_version: str,
    tokenizer_version: str,
    reuse: Mapping[str, list[int]] | None = None,
) -> tuple[int, list[int], int]:
    """Delete the document's old passages and insert the new ones; returns (passages gone, ids, ids reused).

    A passage whose content hash is in ``reuse`` (the passages of this document before, or of documents being
    deleted) takes over that passage's id, and with it the vectors every embedder already holds for the same text:
    only passages whose embedded text changed get new ids, and so get embedded."""
    pool = {content_hash: list(ids) for content_hash, ids in (reuse or {}).items()}
    ids = [pool[h].pop(0) if pool.get(h) else None for h in hashes]
    reused = [pid for pid in ids if pid is not None]
    con.execute("BEGIN TRANSACTION")
    try:
        removed = con.execute("DELETE FROM passages WHERE doc_id = ?", [doc_id]).fetchone()[0]
        if reused:  # ids taken over from documents being deleted
            removed += con.execute("DELETE FROM passages WHERE passage_id IN (SELECT unnest(?))", [reused]).fetchone()[0]
        fresh = iter(new_ids(con, len(ids) - len(reused)))
        ids = [pid if pid is not None else next(fresh) for pid in ids]
        rows = [
            (
                pid,
                p.doc_id,
                p.sha256,
                p.ord,
                p.kind,
                p.text,
                p.section,
                HEADING_SEP.join(p.heading_path),
                p.department,
                p.region,
                p.level,
                p.year,
                p.doc_kind,
                p.source,
                p.page,
                p.page_end,
                p.line,
                p.line_end,
                pid,
                " ".join(toks),
                chunker_version,
                tokenizer_version,
                content_hash,
            )
            for pid, p, toks, content_hash in zip(ids, passages, tokens, hashes, strict=True)
        ]
        if rows:
            placeholders = ", ".join("?" for _ in PASSAGE_COLUMNS)
            con.executemany(f"INSERT INTO passages ({', '.join(PASSAGE_COLUMNS)}) VALUES ({placeholders})", rows)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return int(removed or 0) - len(reused), ids, len(reused)


def delete_documents(con: duckdb.DuckDBPyConnection, doc_ids: Iterable[str]) -> int:
    doc_ids = list(doc_ids)
    if not doc_ids:
        return 0
    row = con.execute("DELETE FROM passages WHERE doc_id IN (SELECT unnest(?))", [doc_ids]).fetchone()
    return int(row[0] or 0)


def refresh_metadata(con: duckdb.DuckDBPyConnection) -> int:
    """Copy department/region/level/year/doc_kind from ``documents`` onto passages whose values drifted (the store
    re-extracted the same bytes with better metadata): no re-chunking or re-embedding needed."""
    if not has_table(con, "documents"):
        return 0
    columns = {row[0] for row in con.execute("SELECT column_name FROM information_schema.columns "
                                                "WHERE table_name = 'documents'").fetchall()}
    wanted = [c for c in ("department", "region", "level", "year", "doc_kind") if c in columns]
    if not wanted:
        return 0
    sets = ", ".join(f"{c} = d.{c}" for c in wanted)
    differs = " OR ".join(f"p.{c} IS DISTINCT FROM d.{c}" for c in wanted)
    row = con.execute(
        f"UPDATE passages AS p SET {sets} FROM documents AS d WHERE p.doc_id = d.doc_id AND ({differs})"
    ).fetchone()
    return int(row[0] or 0) if row else 0


def all_ids(con: duckdb.DuckDBPyConnection) -> np.ndarray:
    rows = con.execute("SELECT passage_id FROM passages ORDER BY passage_id").fetchall()
    return np.array([r[0] for r in rows], dtype=np.int64)


def fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    n, total, top = con.execute(
        "SELECT count(*), coalesce(sum(passage_id), 0), coalesce(max(passage_id), 0) FROM passages"
    ).fetchone()
    return f"{n}:{total}:{top}"


def load_tokens(con: duckdb.DuckDBPyConnection) -> tuple[np.ndarray, list[list[str]]]:
    rows = con.execute("SELECT passage_id, tokens FROM passages ORDER BY passage_id").fetchall()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    return ids, [(r[1] or "").split() for r in rows]


def fetch_passages(con: duckdb.DuckDBPyConnection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    ids = [int(i) for i in ids]
    if not ids:
        return {}
    rows = _rows(con, "SELECT * FROM passages WHERE passage_id IN (SELECT unnest(?))", [ids])
    return {row["passage_id"]: row for row in rows}


def passages_for_embedding(con: duckdb.DuckDBPyConnection, ids: Iterable[int]) -> list[tuple]:
    ids = [int(i) for i in ids]
    if not ids:
        return []
    return con.execute(
        "SELECT passage_id, kind, heading_path, text, department, year, doc_kind FROM passages "
        "WHERE passage_id IN (SELECT unnest(?)) "
        "ORDER BY passage_id",
        [ids],
    ).fetchall()


def embedding_plan(con: duckdb.DuckDBPyConnection, missing: np.ndarray) -> tuple[list[int], dict[int, int], dict[int, int]]:
    """The passages among ``missing`` (ids the vector index lacks; every other passage is in it) that need the model:
    (ids to embed, {id: indexed id with the same content hash: copy its vector}, {id: id to embed with the same
    content hash: share its vector}). A passage without a content hash (indexed before it existed) is embedded."""
    if not len(missing):
        return [], {}, {}
    wanted = [int(i) for i in missing]
    rows = con.execute(
        "SELECT passage_id, content_hash FROM passages WHERE passage_id IN (SELECT unnest(?)) ORDER BY passage_id",
        [wanted],
    ).fetchall()
    indexed = dict(
        con.execute(
            "SELECT content_hash, min(passage_id) FROM passages WHERE content_hash IN (SELECT unnest(?)) "
            "AND passage_id NOT IN (SELECT unnest(?)) GROUP BY content_hash",
            [sorted({h for _, h in rows if h is not None}), wanted],
        ).fetchall()
    )
    to_embed: list[int] = []
    copies: dict[int, int] = {}
    shares: dict[int, int] = {}
    first: dict[str, int] = {}
    for passage_id, content_hash in rows:
        if content_hash is None:
            to_embed.append(passage_id)
        elif content_hash in indexed:
            copies[passage_id] = int(indexed[content_hash])
        elif content_hash in first:
            shares[passage_id] = first[content_hash]
        else:
            first[content_hash] = passage_id
            to_embed.append(passage_id)
    return to_embed, copies, shares


@dataclass
class Filters:
    """Search filters; ``department``/``region``/``doc_kind`` match substrings, ``year``/``section`` exactly."""

    department: str | None = None
    region: str | None = None
    year: int | None = None
    doc_kind: str | None = None
    section: str | None = None
    doc_id: str | None = None
    source: str | None = None

    def active(self) -> bool:
        return any(value not in (None, "") for value in vars(self).values())

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column in ("department", "region", "doc_kind", "source"):
            value = getattr(self, column)
            if value:
                clauses.append(f"{column} ILIKE ?")
                params.append(f"%{value}%")
        if self.year is not None:
            clauses.append("year = ?")
            params.append(int(self.year))
        if self.section:
            clauses.append("section = ?")
            params.append(self.section)
        if self.doc_id:
            clauses.append("doc_id = ?")
            params.append(self.doc_id)
        return (" AND ".join(clauses) or "TRUE"), params

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Filters:
        data = dict(data or {})
        return cls(**{k: data[k] for k in vars(cls()) if k in data})


def filter_ids(con: duckdb.DuckDBPyConnection, filters: Filters) -> np.ndarray:
    where, params = filters.where()
    rows = con.execute(f"SELECT passage_id FROM passages WHERE {where} ORDER BY passage_id", params).fetchall()
    return np.array([r[0] for r in rows], dtype=np.int64)


# ---------------------------------------------------------------- faiss


def index_dir(data: str | Path | None, name: str) -> Path:
    return db_path(data).parent / "index" / name


class VectorIndex:
    """One embedder's vectors keyed by passage id."""

    def __init__(
        self,
        directory: Path,
        dim: int,
        name: str = "",
        *,
        hnsw_threshold: int = HNSW_THRESHOLD,
        m: int = HNSW_M,
        ef_construction: int = HNSW_EF_CONSTRUCTION,
        ef_search: int = HNSW_EF_SEARCH,
    ) -> None:
        import faiss

        self._faiss = faiss
        self.directory = Path(directory)
        self.dim = int(dim)
        self.name = name
        self.hnsw_threshold = hnsw_threshold
        self.m = m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.kind = "flat"
        self.tombstones: set[int] = set()
        self.index = self._new("flat")
        self.dirty = False

    # ---- construction

    def _new(self, kind: str):
        faiss = self._faiss
        if kind == "hnsw":
            # 8-bit scalar-quantised storage: a quarter of the memory of float32, ~3x faster to build, recall@10
            # within a point or two of HNSWFlat on normalised sentence embeddings
            base = faiss.IndexHNSWSQ(self.dim, faiss.ScalarQuantizer.QT_8bit, self.m, faiss.METRIC_INNER_PRODUCT)
            base.hnsw.efConstruction = self.ef_construction
            base.hnsw.efSearch = self.ef_search
        else:
            base = faiss.IndexFlatIP(self.dim)
        return faiss.IndexIDMap2(base)

    @property
    def path(self) -> Path:
        return self.directory / "faiss.index"

    @classmethod
    def open(cls, directory: Path, dim: int, name: str = "", **kwargs: Any) -> VectorIndex:
        obj = cls(directory, dim, name, **kwargs)
        meta_path = directory / "meta.json"
        if obj.path.exists() and meta_path.exists():
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if int(meta.get("dim", -1)) != obj.dim:
                raise ValueError(
                    f"index at {directory} holds {meta.get('dim')}-d vectors but embedder {name!r} gives {dim}-d: "
                    f"delete {directory} and run `yusuan index` again"
                )
            obj.index = obj._faiss.read_index(str(obj.path))
            obj.kind = meta.get("kind", "flat")
            tomb = directory / "tombstones.npy"
            obj.tombstones = set(np.load(tomb).tolist()) if tomb.exists() else set()
            if obj.kind == "hnsw":
                obj._base().hnsw.efSearch = obj.ef_search
        return obj

    def _base(self):
        return self._faiss.downcast_index(self.index.index)

    # ---- contents

    def stored_ids(self) -> np.ndarray:
        return self._faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def ids(self) -> np.ndarray:
        stored = self.stored_ids()
        if not self.tombstones:
            return stored
        return stored[~np.isin(stored, np.fromiter(self.tombstones, dtype=np.int64))]

    def __len__(self) -> int:
        return int(self.index.ntotal) - len(self.tombstones)

    def memory_bytes(self) -> int:
        """Serialized size of the index (vectors + graph + id map)."""
        return int(self._faiss.serialize_index(self.index).nbytes)

    # ---- updates

    def add(self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(ids), self.dim):
            raise ValueError(f"expected vectors of shape ({len(ids)}, {self.dim}), got {vectors.shape}")
        revived = self.tombstones.intersection(ids.tolist())
        if revived:  # never happens with sequence ids, but keep the index consistent if it does
            self._compact(force=True)
        self.index.add_with_ids(vectors, ids)
        self.dirty = True
        if self.kind == "flat" and len(self) > self.hnsw_threshold:
            self._rebuild("hnsw")

    def remove(self, ids: Iterable[int]) -> int:
        ids = np.asarray(sorted(set(int(i) for i in ids)), dtype=np.int64)
        if not len(ids):
            return 0
        present = ids[np.isin(ids, self.stored_ids())]
        if not len(present):
            return 0
        self.dirty = True
        if self.kind == "flat":
            return int(self.index.remove_ids(self._faiss.IDSelectorBatch(present)))
        before = len(self.tombstones)
        self.tombstones.update(present.tolist())
        removed = len(self.tombstones) - before
        self._compact()
        return removed

    def vectors_of(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The stored vectors of these ids (dequantised on HNSW)."""
        if not len(ids):
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.index.reconstruct(int(i)) for i in ids]).astype(np.float32, copy=False)

    def _vectors(self) -> tuple[np.ndarray, np.ndarray]:
        ids = self.stored_ids()
        n = len(ids)
        vectors = self.index.index.reconstruct_n(0, n) if n else np.zeros((0, self.dim), dtype=np.float32)
        return ids, np.asarray(vectors, dtype=np.float32)

    def _compact(self, force: bool = False) -> None:
        total = int(self.index.ntotal)
        if self.tombstones and (force or len(self.tombstones) > TOMBSTONE_COMPACT * max(total, 1)):
            self._rebuild(self.kind)

    def _rebuild(self, kind: str) -> None:
        ids, vectors = self._vectors()
        if self.tombstones:
            keep = ~np.isin(ids, np.fromiter(self.tombstones, dtype=np.int64))
            ids, vectors = ids[keep], vectors[keep]
        if kind == "hnsw" and len(ids) <= self.hnsw_threshold:
            kind = "flat"
        self._load(kind, ids, vectors)

    def _load(self, kind: str, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.index = self._new(kind)
        self.kind = kind
        self.tombstones = set()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if kind == "hnsw":
            sample = vectors[np.random.default_rng(0).permutation(len(vectors))[:100_000]] if len(vectors) else vectors
            self._base().train(sample)
        if len(ids):
            self.index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))
        self.dirty = True

    @classmethod
    def build(
        cls, directory: Path, ids: np.ndarray, vectors: np.ndarray, name: str = "", kind: str | None = None, **kwargs: Any
    ) -> VectorIndex:
        """A new index over ``vectors`` in one go (flat or HNSW by size unless ``kind`` is given)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        obj = cls(directory, vectors.shape[1], name, **kwargs)
        obj._load(kind or ("hnsw" if len(ids) > obj.hnsw_threshold else "flat"), np.asarray(ids), vectors)
        return obj

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        self._faiss.write_index(self.index, str(tmp))
        tmp.replace(self.path)
        tomb = self.directory / "tombstones.npy"
        if self.tombstones:
            np.save(tomb, np.fromiter(self.tombstones, dtype=np.int64))
        elif tomb.exists():
            tomb.unlink()
        meta = {"name": self.name, "dim": self.dim, "kind": self.kind, "count": len(self), "m": self.m}
        (self.directory / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        self.dirty = False

    # ---- search

    def search(
        self, query: np.ndarray, k: int = 10, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top ``k`` (passage_id, inner product). ``allowed`` restricts to those ids: scored exactly when small."""
        faiss = self._faiss
        if self.index.ntotal == 0 or k <= 0:
            return []
        q = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(1, -1))
        if allowed is not None:
            allowed = np.asarray(allowed, dtype=np.int64)
            if self.tombstones:
                allowed = allowed[~np.isin(allowed, np.fromiter(self.tombstones, dtype=np.int64))]
            if not len(allowed):
                return []
            if self.kind == "hnsw" and len(allowed) <= EXACT_FILTER_LIMIT:
                return self._exact_subset(q[0], allowed, k)
        selectors = []
        if allowed is not None:
            selectors.append(faiss.IDSelectorBatch(allowed))
        if self.tombstones:
            dead = np.fromiter(self.tombstones, dtype=np.int64)
            inner = faiss.IDSelectorBatch(dead)
            selectors.append(faiss.IDSelectorNot(inner))
            selectors.append(inner)  # keep a Python reference while faiss uses it
        params = None
        if selectors:
            sel = selectors[0] if len(selectors) == 1 else faiss.IDSelectorAnd(selectors[0], selectors[1])
            if self.kind == "hnsw":
                params = faiss.SearchParametersHNSW(sel=sel, efSearch=max(self.ef_search, 2 * k))
            else:
                params = faiss.SearchParameters(sel=sel)
        elif self.kind == "hnsw":
            # set on the index, not via SearchParameters: those make IndexIDMap wrap the search (≈50x slower)
            self._base().hnsw.efSearch = max(self.ef_search, k)
        k_eff = min(k, int(self.index.ntotal))
        scores, ids = self.index.search(q, k_eff, params=params) if params is not None else self.index.search(q, k_eff)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _exact_subset(self, q: np.ndarray, allowed: np.ndarray, k: int) -> list[tuple[int, float]]:
        scores = self.vectors_of(allowed) @ q
        k = min(k, len(allowed))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(allowed[i]), float(scores[i])) for i in top]
