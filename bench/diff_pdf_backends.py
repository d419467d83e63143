"""Prove the PDFium page reader gives the records the pdfminer reader gives: extract every PDF both ways with the
same code checkout, in one run, and diff everything the export holds.

For each PDF: `ingest_pdf(..., backend="pdfminer")` and `ingest_pdf(..., backend="pdfium")`, then
`extract_document` on both; the document metadata and every record (kind, titles, values, raw text, provenance page,
line, row, col, checks) must be equal, bounding boxes within 0.5 pt. Pages PDFium hands to pdfminer are listed with
the reason. Exit status 1 when any record differs.

Run: `nice -n 15 .venv/bin/python bench/diff_pdf_backends.py [PATH ...] [--limit N]`
(default: the 37 PDFs of ../shared/realdocs, the cities-2026 crawl left out).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REALDOCS = ROOT.parent / "shared" / "realdocs"
BBOX_TOLERANCE = 0.5


@dataclass
class BackendDiff:
    path: str
    records: int = 0
    differing: list[str] = field(default_factory=list)  # one line per differing record or metadata field
    fallbacks: list[str] = field(default_factory=list)  # "page N: reason" for pages PDFium handed to pdfminer
    seconds: dict[str, float] = field(default_factory=dict)


class _FallbackLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "read with pdfminer" in message:
            self.messages.append(message)


def _differences(old: Any, new: Any, where: str) -> list[str]:
    if where.endswith("bbox") and isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        if all(abs(a - b) <= BBOX_TOLERANCE for a, b in zip(old, new, strict=True)):
            return []
        return [f"{where}: {old} → {new}"]
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new)):
            found += _differences(old.get(key), new.get(key), f"{where}.{key}")
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [line for index, (a, b) in enumerate(zip(old, new, strict=True)) for line in _differences(a, b, f"{where}[{index}]")]
    return [] if old == new else [f"{where}: {str(old)[:120]!r} → {str(new)[:120]!r}"]


def compare_backends(path: Path) -> BackendDiff:
    """Extract one PDF with both page readers and diff the extractions."""
    from yusuan.extract import extract_document
    from yusuan.ingest.pdf import ingest_pdf

    data = path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    result = BackendDiff(path=str(path))
    dumps: dict[str, dict[str, Any]] = {}
    handler = _FallbackLog()
    logger = logging.getLogger("yusuan.ingest.pdf")
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        for backend in ("pdfminer", "pdfium"):
            started = time.perf_counter()
            extraction = extract_document(ingest_pdf(str(path), data, sha256, backend=backend))
            result.seconds[backend] = time.perf_counter() - started
            dumps[backend] = extraction.model_dump(mode="json")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
    result.fallbacks = handler.messages
    old, new = dumps["pdfminer"], dumps["pdfium"]
    result.records = len(old["records"])
    result.differing += _differences(old["document"], new["document"], "document")
    if len(old["records"]) != len(new["records"]):
        result.differing.append(f"record count {len(old['records'])} → {len(new['records'])}")
    for index, (a, b) in enumerate(zip(old["records"], new["records"], strict=False)):
        lines = _differences(a, b, f"record {index} ({a.get('kind')})")
        if lines:
            result.differing.append("; ".join(lines[:3]) + (f" (+{len(lines) - 3} more)" if len(lines) > 3 else ""))
    return result


def default_pdfs() -> list[Path]:
    return sorted(path for path in REALDOCS.rglob("*.pdf") if "cities-2026" not in path.parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="PDFs or folders (default: the real PDFs)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N PDFs")
    args = parser.parse_args()
    files = [f for p in args.paths for f in (sorted(p.rglob("*.pdf")) if p.is_dir() else [p])] if args.paths else default_pdfs()
    if args.limit:
        files = files[: args.limit]
    totals = {"pdfminer": 0.0, "pdfium": 0.0}
    records = differing = 0
    fallback_pages = 0
    for path in files:
        diff = compare_backends(path)
        records += diff.records
        differing += len(diff.differing)
        fallback_pages += len(diff.fallbacks)
        for backend, seconds in diff.seconds.items():
            totals[backend] += seconds
        status = "same" if not diff.differing else f"{len(diff.differing)} DIFFER"
        print(f"{status:>10}  {diff.records:>4} records  pdfminer {diff.seconds['pdfminer']:6.2f}s  pdfium {diff.seconds['pdfium']:6.2f}s  "
              f"{path.relative_to(REALDOCS) if path.is_relative_to(REALDOCS) else path}")
        for line in diff.differing[:10]:
            print(f"            {line}")
        for line in diff.fallbacks:
            print(f"            fallback {line}")
    print(f"{len(files)} PDFs, {records} records, {differing} differences, {fallback_pages} pages read with pdfminer · "
          f"ingest+extract pdfminer {totals['pdfminer']:.1f}s, pdfium {totals['pdfium']:.1f}s "
          f"({totals['pdfium'] / max(totals['pdfminer'], 1e-9):.2f}×)")
    sys.exit(1 if differing else 0)


if __name__ == "__main__":
    main()
