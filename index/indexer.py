"""`yusuan index`: bring the passages table, the BM25 index and one embedder's faiss index up to date with the
``documents`` table, incrementally.

1. Passages (embedder-independent): a document whose ``sha256`` (and chunker/tokenizer version) matches its
   passages is skipped; a new or changed one is chunked from the text blocks `yusuan extract` stored for it
   (``document_blocks``; the source file is parsed again only for documents extracted before that table existed),
   and its old passages replaced; passages of documents no longer in ``documents`` are deleted. A new passage whose
   embedded text (content hash) equals an old passage's of the same document, or of a deleted one, keeps that
   passage's id. Metadata drift (department, year …) is copied over without re-chunking.
2. Vectors: the faiss index is reconciled by id — ids it holds that are no longer passages are removed, passages it
   lacks are embedded and added. Nothing else is touched, so re-indexing a changed document embeds only the
   passages whose text changed. Each distinct embedded text (content hash) is embedded once: a passage whose text
   is already indexed, or embedded earlier in the run, gets a copy of that vector.
3. BM25: rebuilt from the stored tokens when the passage set changed (seconds), else loaded as saved.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from yusuan.config import db_path
from yusuan.ingest import ingest_path
from yusuan.model import IngestedDocument
from yusuan.store.lock import exclusive

from . import store
from .blocks import decode_blocks
from .bm25 import BM25Index, get_tokenizer
from .chunk import CHUNKER_VERSION, KIND_TABLE_TEXT, chunk_document, doc_context, embed_text
from .embed import Embedder, get_embedder

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class IndexStats:
    documents: int = 0
    skipped: int = 0  # unchanged sha256: nothing done
    chunked: int = 0  # (re-)chunked
    parsed: int = 0  # of those, parsed from the source file (no stored blocks)
    removed_documents: int = 0  # gone from `documents`
    failed: list[str] = field(default_factory=list)
    passages_added: int = 0  # new passage ids (to embed)
    passages_reused: int = 0  # re-chunked passages whose embedded text was unchanged: id and vectors kept
    passages_removed: int = 0
    metadata_refreshed: int = 0
    vectors_added: int = 0
    vectors_embedded: int = 0  # of those, by the model; the others copied from a passage with the same embedded text
    vectors_copied: int = 0
    vectors_removed: int = 0
    vectors_total: int = 0
    index_kind: str = ""
    bm25_rebuilt: bool = False
    embedder: str = ""
    seconds: float = 0.0
    embed_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def shared_roots() -> list[Path]:
    roots = []
    if os.environ.get("YUSUAN_SHARED"):
        roots.append(Path(os.environ["YUSUAN_SHARED"]))
    roots += [REPO_ROOT / "shared", REPO_ROOT.parent / "shared"]
    return roots


def resolve_source(source: str, data: str | Path | None = None) -> Path | None:
    """A ``documents.source`` as given to ``yusuan extract`` → an existing file (cwd, data dir, repo, shared/)."""
    path = Path(source).expanduser()
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, db_path(data).parent.parent / path,
                                                     REPO_ROOT / path]
    normalized = source.replace("\\", "/")
    if "realdocs/" in normalized:
        rel = normalized[normalized.index("realdocs/") :]
        candidates += [root / rel for root in shared_roots()]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def content_hash(embedded: str) -> str:
    return hashlib.blake2b(embedded.encode("utf-8"), digest_size=16).hexdigest()


def stored_document(con, doc: dict) -> IngestedDocument | None:
    """The document's text blocks as `yusuan extract` stored them; None when it stored none."""
    if not store.has_table(con, "document_blocks"):
        return None
    row = con.execute("SELECT blocks FROM document_blocks WHERE doc_id = ?", [str(doc["doc_id"])]).fetchone()
    if row is None:
        return None
    return decode_blocks(row[0], str(doc["source"]), str(doc.get("sha256") or ""))


def parse_source(doc: dict, data: str | Path | None) -> IngestedDocument:
    path = resolve_source(str(doc["source"]), data)
    if path is None:
        raise FileNotFoundError("source file not found")
    ingested = ingest_path(path)
    if doc.get("sha256") and ingested.sha256 != doc["sha256"]:
        log.warning("%s changed on disk since it was extracted; indexing the current bytes", doc["source"])
    return ingested


def sync_passages(con, data: str | Path | None, stats: IndexStats, progress: Callable[[str], None] | None = None) -> None:
    tokenizer = get_tokenizer()
    documents = store.read_documents(con)
    stats.documents = len(documents)
    state = store.passage_doc_state(con)
    wanted = {str(doc["doc_id"]) for doc in documents}
    gone = [doc_id for doc_id in state if doc_id not in wanted]
    for doc in documents:
        doc_id = str(doc["doc_id"])
        current = state.get(doc_id)
        if (
            current
            and current["sha256"] == doc.get("sha256")
            and current["chunker_version"] == CHUNKER_VERSION
            and current["tokenizer_version"] == tokenizer.version
        ):
            stats.skipped += 1
            continue
        ingested = stored_document(con, doc)
        if ingested is None:
            try:
                ingested = parse_source(doc, data)
            except Exception as exc:
                stats.failed.append(f"{doc['source']}: {exc}")
                continue
            stats.parsed += 1
        meta = dict(doc)
        meta["source"] = str(doc["source"])
        passages = chunk_document(ingested, meta)
        embedded = [p.embed_text() for p in passages]
        tokens = [tokenizer.tokenize(text) for text in embedded]
        removed, ids, reused = store.replace_document(
            con, doc_id, passages, tokens, [content_hash(text) for text in embedded],
            chunker_version=CHUNKER_VERSION, tokenizer_version=tokenizer.version,
            reuse=store.reusable_ids(con, [doc_id, *gone]),
        )
        stats.chunked += 1
        stats.passages_removed += removed
        stats.passages_added += len(ids) - reused
        stats.passages_reused += reused
        if progress:
            progress(f"chunked {doc['source']}: {len(ids)} passages ({len(ids) - reused} new)")
    if gone:
        stats.passages_removed += store.delete_documents(con, gone)
        stats.removed_documents = len(gone)
    stats.metadata_refreshed = store.refresh_metadata(con)


def dense_text(embedder: Embedder, kind: str | None, embedded: str) -> str:
    """What the embedder reads of a passage: table text only up to ``embedder.table_text_tokens`` (its context,
    project, indicator and the start of the description: the topic; BM25 still reads all of it)."""
    if kind == KIND_TABLE_TEXT and embedder.table_text_tokens:
        return embedder.head(embedded, embedder.table_text_tokens)
    return embedded


def sync_vectors(
    con, data: str | Path | None, embedder: Embedder, stats: IndexStats, batch: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> store.VectorIndex:
    vindex = store.VectorIndex.open(store.index_dir(data, embedder.name), embedder.dim, embedder.name)
    have = vindex.ids()
    want = store.all_ids(con)
    stale = have[~np.isin(have, want)]
    missing = want[~np.isin(want, have)]
    stats.vectors_removed = vindex.remove(stale)
    started = time.perf_counter()
    to_embed, copies, shares = store.embedding_plan(con, missing)
    if copies:  # the same embedded text is indexed already (another document, or the previous run)
        vindex.add(np.fromiter(copies, dtype=np.int64), vindex.vectors_of(list(copies.values())))
        stats.vectors_copied = len(copies)
    sharers: dict[int, list[int]] = {}
    for passage_id, embedded_as in shares.items():
        sharers.setdefault(embedded_as, []).append(passage_id)
    batch = batch or 4 * embedder.batch
    for start in range(0, len(to_embed), batch):
        rows = store.passages_for_embedding(con, to_embed[start : start + batch])
        texts = [
            dense_text(embedder, kind, embed_text(heading or "", text or "", doc_context(department, year, doc_kind)))
            for _, kind, heading, text, department, year, doc_kind in rows
        ]
        vectors = embedder.embed_passages(texts)
        ids = [r[0] for r in rows]
        vindex.add(np.array(ids, dtype=np.int64), vectors)
        twins = [(passage_id, row) for row, embedded_as in enumerate(ids) for passage_id in sharers.get(embedded_as, ())]
        if twins:
            vindex.add(np.array([t[0] for t in twins], dtype=np.int64), vectors[[t[1] for t in twins]])
        stats.vectors_embedded += len(rows)
        if progress:
            progress(f"embedded {min(start + batch, len(to_embed))}/{len(to_embed)} passages")
    stats.vectors_copied += len(shares)
    stats.vectors_added = stats.vectors_embedded + stats.vectors_copied
    stats.embed_seconds = time.perf_counter() - started
    if vindex.dirty or not vindex.path.exists():
        vindex.save()
    stats.vectors_total = len(vindex)
    stats.index_kind = vindex.kind
    return vindex


def bm25_dir(data: str | Path | None) -> Path:
    return store.index_dir(data, "bm25")


def load_bm25(con, data: str | Path | None, rebuild_if_stale: bool = True) -> tuple[BM25Index, bool]:
    """The persisted BM25 index, rebuilt from the passages' stored tokens when the passage set changed."""
    fingerprint = store.fingerprint(con) + ":" + get_tokenizer().version
    directory = bm25_dir(data)
    index = BM25Index.load(directory)
    if index is not None and index.fingerprint == fingerprint:
        return index, False
    if not rebuild_if_stale and index is not None:
        return index, False
    ids, tokens = store.load_tokens(con)
    index = BM25Index.build(ids, tokens, fingerprint=fingerprint)
    try:
        index.save(directory)
    except OSError as exc:  # a read-only data dir still searches, just rebuilds each time
        log.warning("could not save the BM25 index to %s: %s", directory, exc)
    return index, True


def build_index(
    data: str | Path | None = None,
    embedder: str | Embedder | None = None,
    progress: Callable[[str], None] | None = None,
) -> IndexStats:
    """Index every document of the ``documents`` table (incrementally); see the module docstring."""
    started = time.perf_counter()
    model = embedder if isinstance(embedder, Embedder) else get_embedder(embedder)
    stats = IndexStats(embedder=model.name)
    with exclusive(db_path(data), "indexing"):  # one index run at a time writes the index files
        con = store.connect(data)  # the store's write lock: only while the passages table changes
        try:
            store.ensure_schema(con)
            sync_passages(con, data, stats, progress)
        finally:
            con.close()
        con = store.connect(data, read_only=True)  # embedding can take minutes: readers go on meanwhile
        try:
            sync_vectors(con, data, model, stats, progress=progress)
            _, stats.bm25_rebuilt = load_bm25(con, data)
        finally:
            con.close()
    stats.seconds = time.perf_counter() - started
    return stats
