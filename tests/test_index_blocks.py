"""The text blocks `yusuan extract` stores for the indexer chunk exactly like the parsed source file."""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import asdict

import pytest
from index_support import CORPUS, shared_root

from yusuan.index.blocks import decode_blocks, encode_blocks
from yusuan.index.chunk import chunk_document
from yusuan.ingest import ingest_path

PDF = shared_root() / "realdocs" / "shanghai-putuo-GovBudgetChecker" / "unit_budget.pdf"


@pytest.mark.parametrize("path", [CORPUS / "004_0851205fe117d4ca.txt", PDF], ids=["text", "pdf"])
def test_stored_blocks_chunk_like_the_source(path):
    doc = ingest_path(path)
    stored = encode_blocks(doc)
    back = decode_blocks(stored, doc.source, doc.sha256)
    passages = [asdict(p) for p in chunk_document(doc)]
    assert passages and [asdict(p) for p in chunk_document(back)] == passages
    assert any(p["kind"] == "table_text" or p["kind"] == "table_title" for p in passages)  # tables survive too
    assert len(stored) < len(json.dumps([asdict(b) for b in doc.blocks], ensure_ascii=False))  # no raw text, no boxes
    plain = json.dumps(blocks_json(stored), ensure_ascii=False, separators=(",", ":"))
    assert len(stored) * 3 < len(plain.encode("utf-8"))  # compressed
    old = decode_blocks(plain, doc.source, doc.sha256)  # as stored by earlier versions: plain JSON
    assert [asdict(p) for p in chunk_document(old)] == passages


def blocks_json(stored: str) -> dict:
    return json.loads(zlib.decompress(base64.b64decode(stored)))


def test_other_format_version_is_not_decoded():
    doc = ingest_path(CORPUS / "003_8a020ea769aa04f9.txt")
    data = blocks_json(encode_blocks(doc))
    data["format"] = "blocks-0"
    assert decode_blocks(json.dumps(data), doc.source, doc.sha256) is None
