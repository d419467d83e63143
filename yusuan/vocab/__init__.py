"""The budget vocabulary shared by extraction and question answering: concepts and the words for them.

The curated thesaurus is data (``thesaurus.toml``); code looks concepts up by label, never by keyword lists of its own.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files

_SPACES_AND_QUOTES = re.compile(r"[\s“”\"'‘’]")


def normalize(text: str) -> str:
    """NFKC, no whitespace or quotes, full-width brackets as ASCII: the form terms and labels are compared in."""
    return _SPACES_AND_QUOTES.sub("", unicodedata.normalize("NFKC", text or ""))


@dataclass(frozen=True)
class Concept:
    key: str
    label: str
    group: str
    terms: tuple[str, ...]
    colloquial: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    table_kinds: tuple[str, ...] = ()  # spending tables whose 合计 line is this concept
    requires: tuple[str, ...] = ()  # a question names this concept only with one of these words beside it
    same_as: tuple[str, ...] = ()  # concepts that print the same figure (收支总计 = 收入总计 = 支出总计)

    def words(self, colloquial: bool = False) -> tuple[str, ...]:
        return self.terms + self.colloquial if colloquial else self.terms


@dataclass(frozen=True)
class Thesaurus:
    concepts: tuple[Concept, ...]
    # the normalised words of each (group, colloquial), longest first: what `mentions` scans for
    _word_lists: dict[tuple[str | None, bool], list[tuple[Concept, str]]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def get(self, key: str) -> Concept:
        return next(concept for concept in self.concepts if concept.key == key)

    def in_group(self, group: str) -> tuple[Concept, ...]:
        return tuple(concept for concept in self.concepts if concept.group == group)

    def label_concept(self, label: str, group: str | None = None) -> Concept | None:
        """The concept a printed label names exactly (after normalisation and numbering), else None."""
        text = normalize(_strip_numbering(label))
        for concept in self._candidates(group):
            if text in _normalized(concept.terms) and not _excluded(concept, text):
                return concept
        return None

    def mentions(self, text: str, group: str | None = None, colloquial: bool = True) -> list[tuple[Concept, str]]:
        """Concepts whose words occur in ``text``, longest word first; a word inside a longer matched word is not counted."""
        normalized = normalize(text)
        taken: list[tuple[int, int]] = []
        found: list[tuple[Concept, str]] = []
        for concept, word in self._words_longest_first(group, colloquial):
            for span in _occurrences(word, normalized):
                if any(start <= span[0] and span[1] <= end for start, end in taken):
                    continue
                if _excluded(concept, normalized[max(0, span[0] - 4): span[1] + 4]) and word not in concept.terms[:1]:
                    continue
                taken.append(span)
                if concept not in (c for c, _ in found):
                    found.append((concept, word))
        return found

    def _candidates(self, group: str | None) -> tuple[Concept, ...]:
        return self.concepts if group is None else self.in_group(group)

    def _words_longest_first(self, group: str | None, colloquial: bool) -> list[tuple[Concept, str]]:
        key = (group, colloquial)
        if key not in self._word_lists:
            self._word_lists[key] = sorted(
                ((concept, normalize(word)) for concept in self._candidates(group) for word in concept.words(colloquial)),
                key=lambda pair: -len(pair[1]),
            )
        return self._word_lists[key]


@cache
def _normalized(words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(normalize(word) for word in words)


def _occurrences(word: str, text: str) -> Iterator[tuple[int, int]]:
    """Spans of the non-overlapping occurrences of ``word`` in ``text``, left to right (``re.finditer`` on the literal)."""
    start = text.find(word)
    while start >= 0:
        yield start, start + len(word)
        start = text.find(word, start + max(1, len(word)))


_NUMBERING = re.compile(r"^\s*(?:[一二三四五六七八九十]+[、.．]|[(（][一二三四五六七八九十\d]+[)）]|\d+(?:、|[.．](?!\d)))\s*")


def _strip_numbering(text: str) -> str:
    return _NUMBERING.sub("", text or "")


def _excluded(concept: Concept, text: str) -> bool:
    return any(word in text for word in concept.excludes)


@cache
def thesaurus() -> Thesaurus:
    data = tomllib.loads(files(__package__).joinpath("thesaurus.toml").read_text(encoding="utf-8"))
    return Thesaurus(
        tuple(
            Concept(
                key=item["key"], label=item["label"], group=item["group"], terms=tuple(item["terms"]),
                colloquial=tuple(item.get("colloquial", ())), excludes=tuple(item.get("excludes", ())),
                table_kinds=tuple(item.get("table_kinds", ())), requires=tuple(item.get("requires", ())),
                same_as=tuple(item.get("same_as", ())),
            )
            for item in data["concept"]
        )
    )
