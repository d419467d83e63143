"""BM25 over jieba tokens, with a user dictionary of budget terms (``budget_terms.txt``).

Tokenisation: NFKC, lower case, quotes dropped, and the dictionary terms that contain brackets written without them
(``因公出国(境)费`` → ``因公出国境费``) so that jieba can keep them whole; then jieba's search-engine mode, which
emits a dictionary term (``公务接待费``) together with the shorter words inside it (``公务``, ``接待``), so a
query for the whole term ranks exact mentions highest and a query for a part still matches.

Scoring uses ``bm25s`` (Lucene BM25) when it is installed, else a small numpy implementation with the same formula.
The index is persisted under ``<data>/index/bm25/`` and rebuilt from the ``passages`` table when its fingerprint
(passage count / id sum / max id / tokenizer version) no longer matches.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

TERMS_PATH = Path(__file__).with_name("budget_terms.txt")
SYNONYMS_PATH = Path(__file__).with_name("budget_synonyms.txt")
TOKENIZER_VERSION = "jieba-search-1"

_STOPWORD_TEXT = """
的 了 和 与 及 或 等 是 在 为 对 由 从 把 被 将 其 其中 之 以 于 并 也 又 而 则 就 都 这 那 个 中 上 下
我 我们 你 他 她 它 该 本 各 有 无 不 没有 所 按 按照 根据 进行 以及 以上 以下 包括 主要 用于
什么 多少 怎么 如何 哪些 哪个 吗 呢 吧 啊 么 是否 情况
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_WORD = re.compile(r"\w", re.UNICODE)
_QUOTES = str.maketrans({"“": "", "”": "", "‘": "", "’": "", '"': "", "'": "", "《": "", "》": "", "〈": "", "〉": ""})
_BRACKETS = str.maketrans({"(": "", ")": "", "（": "", "）": "", "[": "", "]": "", "【": "", "】": ""})


def load_terms(path: Path = TERMS_PATH) -> list[tuple[str, int | None]]:
    terms = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        terms.append((parts[0], freq))
    return terms


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().translate(_QUOTES)


class Tokenizer:
    """jieba (a private instance, so the global jieba dictionary is untouched) plus the budget terms."""

    def __init__(self, terms_path: Path = TERMS_PATH) -> None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        self.terms_path = Path(terms_path)
        raw = self.terms_path.read_bytes()
        self.version = f"{TOKENIZER_VERSION}:{hashlib.sha256(raw).hexdigest()[:12]}"
        self._aliases: list[tuple[str, str]] = []
        self.terms: list[str] = []
        for term, freq in load_terms(self.terms_path):
            plain = _plain(term)
            squashed = plain.translate(_BRACKETS)
            if squashed != plain:
                self._aliases.append((plain, squashed))
            self.terms.append(squashed)
            # a frequency well above the parts' makes the whole term win jieba's best-path choice
            self._jieba.add_word(squashed, freq=freq or max(self._jieba.suggest_freq(squashed), 20000))
        self._aliases.sort(key=lambda pair: -len(pair[0]))

    def normalize(self, text: str) -> str:
        text = _plain(text)
        for plain, squashed in self._aliases:
            if plain in text:
                text = text.replace(plain, squashed)
        return text

    def segment(self, text: str) -> list[str]:
        """Precise-mode words (no sub-words): how a sentence is cut."""
        return [tok for tok in self._jieba.lcut(self.normalize(text), HMM=True) if _WORD.search(tok)]

    def tokenize(self, text: str) -> list[str]:
        """Search-mode tokens for BM25: whole words plus the dictionary words inside long ones, no stopwords."""
        out = []
        for tok in self._jieba.cut_for_search(self.normalize(text), HMM=True):
            tok = tok.strip()
            if tok and _WORD.search(tok) and tok not in _STOPWORDS:
                out.append(tok)
        return out


@lru_cache(maxsize=2)
def get_tokenizer(terms_path: str = str(TERMS_PATH)) -> Tokenizer:
    return Tokenizer(Path(terms_path))


def tokenize(text: str) -> list[str]:
    return get_tokenizer().tokenize(text)


@lru_cache(maxsize=2)
def load_synonyms(path: str = str(SYNONYMS_PATH)) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(trigger, official terms) pairs from ``budget_synonyms.txt``, longest trigger first."""
    pairs: list[tuple[str, tuple[str, ...]]] = []
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "<=" not in line:
            continue
        terms, triggers = line.split("<=", 1)
        official = tuple(terms.split())
        for trigger in triggers.split(","):
            trigger = _plain(trigger.strip())
            if trigger:
                pairs.append((trigger, official))
    pairs.sort(key=lambda pair: -len(pair[0]))
    return tuple(pairs)


def expand_query(query: str) -> str:
    """The query plus the official budget terms its everyday words stand for (``请客吃饭`` → ``公务接待费``).
    Terms already in the query are not repeated; the query itself is unchanged when nothing triggers."""
    plain = _plain(query)
    added: list[str] = []
    for trigger, official in load_synonyms():
        if trigger in plain:
            for term in official:
                if _plain(term) not in plain and term not in added:
                    added.append(term)
    return f"{query} {' '.join(added)}" if added else query


# ---------------------------------------------------------------- index


def _has_bm25s() -> bool:
    try:
        import bm25s  # noqa: F401
    except ImportError:
        return False
    return True


class _NumpyBM25:
    """Lucene-style BM25 (the bm25s default) as a term → (doc rows, weights) inverted index."""

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.vocab: dict[str, int] = {}
        self.indptr = np.zeros(1, dtype=np.int64)
        self.rows = np.zeros(0, dtype=np.int32)
        self.weights = np.zeros(0, dtype=np.float32)
        self.n_docs = 0

    def index(self, token_lists: Sequence[Sequence[str]]) -> None:
        self.n_docs = len(token_lists)
        lengths = np.array([len(tokens) for tokens in token_lists], dtype=np.float32)
        avgdl = float(lengths.mean()) if len(lengths) else 1.0
        postings: dict[str, list[tuple[int, int]]] = {}
        for row, tokens in enumerate(token_lists):
            for term, tf in Counter(tokens).items():
                postings.setdefault(term, []).append((row, tf))
        self.vocab = {term: i for i, term in enumerate(postings)}
        indptr = [0]
        rows: list[int] = []
        weights: list[float] = []
        for term in postings:
            plist = postings[term]
            df = len(plist)
            idf = math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))
            for row, tf in plist:
                norm = self.k1 * (1 - self.b + self.b * lengths[row] / avgdl)
                rows.append(row)
                weights.append(idf * tf / (tf + norm))  # bm25s' lucene variant: no (k1 + 1) factor
            indptr.append(len(rows))
        self.indptr = np.array(indptr, dtype=np.int64)
        self.rows = np.array(rows, dtype=np.int32)
        self.weights = np.array(weights, dtype=np.float32)

    def scores(self, query_tokens: Iterable[str]) -> np.ndarray:
        out = np.zeros(self.n_docs, dtype=np.float32)
        for term in set(query_tokens):
            t = self.vocab.get(term)
            if t is None:
                continue
            lo, hi = self.indptr[t], self.indptr[t + 1]
            np.add.at(out, self.rows[lo:hi], self.weights[lo:hi])
        return out

    def save(self, directory: Path) -> None:
        np.savez(directory / "numpy_bm25.npz", indptr=self.indptr, rows=self.rows, weights=self.weights)
        (directory / "vocab.json").write_text(
            json.dumps({"vocab": self.vocab, "n_docs": self.n_docs, "k1": self.k1, "b": self.b}, ensure_ascii=False),
            encoding="utf-8",
        )

    @classmethod
    def load(cls, directory: Path) -> _NumpyBM25:
        meta = json.loads((directory / "vocab.json").read_text(encoding="utf-8"))
        obj = cls(meta["k1"], meta["b"])
        obj.vocab = meta["vocab"]
        obj.n_docs = meta["n_docs"]
        arrays = np.load(directory / "numpy_bm25.npz")
        obj.indptr, obj.rows, obj.weights = arrays["indptr"], arrays["rows"], arrays["weights"]
        return obj


class _Bm25sBM25:
    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        import bm25s

        self._bm25s = bm25s
        self.model = bm25s.BM25(k1=k1, b=b, method="lucene")
        self.n_docs = 0

    def index(self, token_lists: Sequence[Sequence[str]]) -> None:
        self.n_docs = len(token_lists)
        # an empty passage still needs a row: bm25s maps it to its empty token
        self.model.index([list(tokens) for tokens in token_lists], show_progress=False)

    def scores(self, query_tokens: Iterable[str]) -> np.ndarray:
        known = [tok for tok in dict.fromkeys(query_tokens) if tok in self.model.vocab_dict]
        if not known or not self.n_docs:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self.model.get_scores(known), dtype=np.float32)

    def save(self, directory: Path) -> None:
        self.model.save(str(directory / "bm25s"), show_progress=False)

    @classmethod
    def load(cls, directory: Path, n_docs: int) -> _Bm25sBM25:
        import bm25s

        obj = cls.__new__(cls)
        obj._bm25s = bm25s
        obj.model = bm25s.BM25.load(str(directory / "bm25s"), show_progress=False)
        obj.n_docs = n_docs
        return obj


class BM25Index:
    """BM25 scores for a fixed list of passage ids (row i of the index is ``ids[i]``)."""

    def __init__(self, ids: np.ndarray, backend: _NumpyBM25 | _Bm25sBM25, fingerprint: str = "") -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        self.backend = backend
        self.fingerprint = fingerprint
        self._row_of: dict[int, int] | None = None

    @property
    def backend_name(self) -> str:
        return "bm25s" if isinstance(self.backend, _Bm25sBM25) else "numpy"

    @classmethod
    def build(
        cls,
        ids: Sequence[int] | np.ndarray,
        token_lists: Sequence[Sequence[str]],
        *,
        backend: str = "auto",
        fingerprint: str = "",
    ) -> BM25Index:
        use_bm25s = (backend == "bm25s" or (backend == "auto" and _has_bm25s())) and len(token_lists) > 0
        impl: _NumpyBM25 | _Bm25sBM25 = _Bm25sBM25() if use_bm25s else _NumpyBM25()
        if len(token_lists):
            impl.index(token_lists)
        return cls(np.asarray(ids, dtype=np.int64), impl, fingerprint)

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query: str | Sequence[str]) -> np.ndarray:
        tokens = tokenize(query) if isinstance(query, str) else list(query)
        if not len(self.ids):
            return np.zeros(0, dtype=np.float32)
        return self.backend.scores(tokens)

    def search(self, query: str | Sequence[str], k: int = 10, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top ``k`` (passage_id, score) with a positive score; ``allowed`` restricts to those passage ids."""
        scores = self.scores(query)
        if not len(scores):
            return []
        if allowed is not None:
            mask = np.isin(self.ids, allowed)
            scores = np.where(mask, scores, 0.0)
        positive = np.flatnonzero(scores > 0)
        if not len(positive):
            return []
        k = min(k, len(positive))
        top = positive[np.argpartition(-scores[positive], k - 1)[:k]]
        top = top[np.lexsort((self.ids[top], -scores[top]))]
        return [(int(self.ids[i]), float(scores[i])) for i in top]

    # ---- persistence

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / "ids.npy", self.ids)
        self.backend.save(directory)
        meta = {"fingerprint": self.fingerprint, "backend": self.backend_name, "n_docs": len(self.ids)}
        (directory / "meta.json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> BM25Index | None:
        meta_path = directory / "meta.json"
        if not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            ids = np.load(directory / "ids.npy")
            if meta["backend"] == "bm25s":
                if not _has_bm25s():
                    return None
                backend: _NumpyBM25 | _Bm25sBM25 = _Bm25sBM25.load(directory, len(ids))
            else:
                backend = _NumpyBM25.load(directory)
        except (OSError, ValueError, KeyError):
            return None
        return cls(ids, backend, meta.get("fingerprint", ""))
