"""What the indexer reads of a parsed document, kept by `yusuan extract` so that `yusuan index` never parses a source
file again.

The extraction worker encodes the ingested document's blocks (:func:`encode_blocks`) and the store writes them to the
``document_blocks`` table in the same transaction as the document's records; the indexer decodes them back into an
:class:`~yusuan.model.IngestedDocument` (:func:`decode_blocks`) and chunks that. Only what the chunker reads is kept:
block kind, line text / line / page / heading depth, and for tables the title, the title line and each cell's text,
line and page (no raw text, no boxes), as compact JSON, zlib-compressed and base64-encoded: a fifth of the JSON's size
(DuckDB's memory while it checkpoints grows with this column: a process writing the blocks of 4,000 documents peaks
at 292 MB compressed, 501 MB as JSON: bench/bench_blocks_memory.py). Blocks stored as plain JSON by earlier versions still decode.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from yusuan.model import Block, Cell, Grid, IngestedDocument, TextLine

BLOCKS_FORMAT = "blocks-1"


def _line(line: TextLine) -> list[Any]:
    return [line.text, line.line, line.page, line.heading]


def _from_line(item: list[Any]) -> TextLine:
    text, line, page, heading = item
    return TextLine(text=text, raw=text, line=line, page=page, heading=heading)


def _block(block: Block) -> dict[str, Any]:
    encoded: dict[str, Any] = {"k": block.kind, "l": [_line(line) for line in block.lines]}
    if block.grid is not None:
        grid = block.grid
        encoded["g"] = {
            "t": grid.title,
            "tl": _line(grid.title_line) if grid.title_line else None,
            "r": [[[cell.text, cell.line, cell.page] for cell in row] for row in grid.rows],
        }
    return encoded


def _from_block(item: dict[str, Any]) -> Block:
    grid = None
    if item.get("g") is not None:
        encoded = item["g"]
        rows = [
            [Cell(text=text, raw=text, line=line, page=page, row=r, col=c) for c, (text, line, page) in enumerate(row)]
            for r, row in enumerate(encoded["r"])
        ]
        grid = Grid(rows=rows, title=encoded["t"], title_line=_from_line(encoded["tl"]) if encoded["tl"] else None)
    return Block(kind=item["k"], lines=[_from_line(line) for line in item["l"]], grid=grid)


def encode_blocks(doc: IngestedDocument) -> str:
    text = json.dumps(
        {"format": BLOCKS_FORMAT, "layout": doc.layout, "pages": doc.pages, "blocks": [_block(b) for b in doc.blocks]},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii")


def decode_blocks(text: str, source: str, sha256: str) -> IngestedDocument | None:
    """The document as the chunker needs it; None for another format version (the caller parses the source)."""
    data = json.loads(text if text.startswith("{") else zlib.decompress(base64.b64decode(text)))
    if data.get("format") != BLOCKS_FORMAT:
        return None
    return IngestedDocument(
        source=source,
        sha256=sha256,
        layout=data["layout"],
        pages=data["pages"],
        blocks=[_from_block(item) for item in data["blocks"]],
    )
