"""The documents' own prose, one row per sentence, for answers that quote the text: reasons ("why") and the 决算
narrative ("年初预算为X万元，支出决算为Y万元，完成年初预算的Z%").

Read from what extraction keeps of every parsed document (``document_blocks``: paragraphs and headings, tables left
out), else from the search index's ``passages`` table; a store with neither has no sentences. A paragraph's lines
are joined (a sentence may wrap over lines and pages) and split after 。；！？; each sentence keeps its paragraph and
position so the sentences before it (the item a 决算 paragraph is about) can be read with it.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb

COLUMNS = ("doc_id", "paragraph", "position", "page", "line", "text")
_SENTENCE_END = re.compile(r"(?<=[。；;！？!?])")


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {name for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def document_sentences(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """(doc_id, paragraph, position, page, line, text) rows for every document of the store."""
    tables = _tables(con)
    rows: list[tuple[Any, ...]] = []
    if "document_blocks" in tables:
        from yusuan.index.blocks import decode_blocks

        cur = con.cursor()
        try:
            stored = cur.execute("SELECT doc_id, blocks FROM document_blocks").fetchall()
        finally:
            cur.close()
        for doc_id, blocks in stored:
            doc = decode_blocks(blocks, "", "") if blocks else None
            if doc is None:
                continue
            paragraph = 0
            for block in doc.blocks:
                if block.kind == "table" or not block.lines:
                    continue
                paragraph += 1
                rows += _paragraph_rows(doc_id, paragraph, [(ln.text, ln.page, ln.line) for ln in block.lines])
    elif "passages" in tables:
        cur = con.cursor()
        try:
            stored = cur.execute("SELECT doc_id, ord, text FROM passages WHERE kind IS DISTINCT FROM 'table' "
                                 "ORDER BY doc_id, ord").fetchall()
        finally:
            cur.close()
        for doc_id, ord_, text in stored:
            rows += _paragraph_rows(doc_id, ord_, [(text or "", None, None)])
    return rows


def _paragraph_rows(doc_id: str, paragraph: int, lines: list[tuple[str, int | None, int | None]]) -> list[tuple[Any, ...]]:
    """Sentences of one paragraph, each with the page and line it starts on."""
    text, starts = "", []
    for line_text, page, line in lines:
        starts.append((len(text), page, line))
        text += line_text.strip()
    rows = []
    offset = 0
    for position, sentence in enumerate(split_sentences(text)):
        at = text.find(sentence, offset)
        offset = at + len(sentence) if at >= 0 else offset
        page, line = next(((p, ln) for start, p, ln in reversed(starts) if start <= max(at, 0)), (None, None))
        rows.append((doc_id, paragraph, position, page, line, sentence))
    return rows


# ------------------------------------------------------------------------------------------------ reading sentences
_REASON = re.compile(r"原因|主要是|由于|因为|得益于|导致|主要系|是因")
_WEAK_REASON = re.compile(r"用于|为了|按照|根据|落实|厉行|过紧日子|压减|节约|调整|新增|减少了|增加了")
_CHANGE_STATED = re.compile(r"(增加|减少|增长|下降|持平|上升|降低|减幅|增幅)")
_NEW_SECTION = re.compile(r"\s*[一二三四五六七八九十]+、")
_SENTENCE_DONE = re.compile(r"[。；;！？!?]\s*$")
_UP = re.compile(r"增|涨|多|提高|上升|大幅")
_DOWN = re.compile(r"减|降|少|压|砍|下调|缩")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_EXECUTION = re.compile(r"年初预算(?:数)?为?(\d[\d,]*(?:\.\d+)?)万元[^。；]{0,30}?决算(?:数)?为?(\d[\d,]*(?:\.\d+)?)万元"
                        r"(?:[^。；]{0,16}?完成(?:年初|全年)?预算的(\d+(?:\.\d+)?)%)?")


def target_words(words: list[str]) -> list[str]:
    from yusuan.vocab import normalize

    return sorted({normalize(w) for w in words if len(normalize(w)) >= 2}, key=len, reverse=True)


def _normal(text: str) -> str:
    from yusuan.vocab import normalize

    return normalize(text).replace("，", ",")


def reason_passages(rows: list[dict[str, Any]], words: list[str], question: str) -> list[dict[str, Any]]:
    """Sentences that give a reason about the item, best first: a sentence naming the item with a reason in it, or
    naming it followed by a sentence with the reason (both quoted). Ranked by the figures the question repeats
    (990万, 277%), the direction asked (增加 / 减少), then document order. Rows: one document's sentences in order."""
    asked_numbers = {n for n in _NUMBER.findall(question) if not re.fullmatch(r"(19|20)\d{2}", n)}
    up, down = bool(_UP.search(question)), bool(_DOWN.search(question))
    found = []
    for i, row in enumerate(rows):
        text = _normal(row["text"])
        if not any(w in text for w in words):
            continue
        group = [row]
        # the reason may follow: in the next sentences of the paragraph ("…下降51.8%。主要原因是…"), or after a line the
        # layout cut or a "具体如下:" in the next paragraphs
        states_change = bool(_CHANGE_STATED.search(text))
        # a total's change is explained part by part (其中:(一)…(二)…): read on to the end of the section
        for following in rows[i + 1:i + 6]:
            previous = group[-1]
            states_change = states_change or bool(_CHANGE_STATED.search(_normal(previous["text"])))
            continues = (following["paragraph"] == previous["paragraph"] or not _SENTENCE_DONE.search(previous["text"])
                         or states_change)
            if ((_REASON.search(_normal(previous["text"])) and not states_change) or following["doc_id"] != row["doc_id"]
                    or not continues or _NEW_SECTION.match(following["text"])):
                break
            group.append(following)
        while len(group) > 1 and not _gives_reason(group[-1]["text"]):
            group.pop()
        joined = "".join(_normal(r["text"]) for r in group)
        if not _gives_reason(joined):
            continue
        score = 4 * sum(n in joined for n in asked_numbers)
        score += 2 * ((up and bool(_UP.search(joined))) + (down and bool(_DOWN.search(joined))))
        score += 3 * bool(_REASON.search(joined)) + bool(re.search(r"\d", joined))
        score -= 3 * bool(re.search(r"是指|[:：]是|[:：]指", joined))  # a glossary entry defines the item, gives no reason
        found.append({"score": score, "order": i, "rows": group})
    found.sort(key=lambda f: (-f["score"], f["order"]))
    return found


def _gives_reason(text: str) -> bool:
    text = _normal(text)
    return bool(_REASON.search(text) or _WEAK_REASON.search(text))


def execution_statements(rows: list[dict[str, Any]], words: list[str], parent: list[str]) -> list[dict[str, Any]]:
    """决算 narrative statements "年初预算为X万元，支出决算为Y万元（，完成年初预算的Z%）" about the item: the item is
    named in the statement itself or in the sentences since the previous statement (the 科目 the paragraph is about).
    Statements naming the item in the same sentence come first."""
    found = []
    context: list[str] = []
    for row in rows:
        text = _normal(row["text"])
        m = _EXECUTION.search(text)
        if not m:
            context = [*context, text][-4:]
            continue
        own = text[:m.start()]
        before = "".join(context)
        context = []
        where = 0 if _names_item(own, words, parent) else 1 if _names_item(before + own, words, parent) else None
        if where is None:
            continue
        budget, final = (float(x.replace(",", "")) for x in m.group(1, 2))
        rate = float(m.group(3)) if m.group(3) else None
        found.append({**row, "budget": budget, "final": final, "stated_rate": rate, "where": where,
                      "statement": m.group(0)})
    found.sort(key=lambda f: f["where"])
    return found


def _names_item(text: str, words: list[str], parent: list[str]) -> bool:
    return any(w in text for w in words) and all(p in text for p in parent)


def stated_none(rows: list[dict[str, Any]], words: list[str]) -> dict[str, Any] | None:
    """A sentence saying the item did not occur (本年度无“三公”经费财政拨款支出): the text's own 0."""
    for row in rows:
        text = _normal(row["text"])
        if any(re.search("(?:无|没有|未发生)" + re.escape(w), text) for w in words):
            return row
    return None
