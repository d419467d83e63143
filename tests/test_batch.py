"""Bulk extraction: bad files are reported and the batch goes on; a killed run resumes to identical rows."""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import batch_support
import pypdfium2
from conftest import CORPUS, REALDOCS
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from yusuan.extract import extract_path
from yusuan.extract.batch import collect_files, run_batch, write_error_report
from yusuan.model import RECORD_KINDS
from yusuan.store import Store

YUSUAN = [sys.executable, "-m", "yusuan.cli"]


def _folder_with_bad_files(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for path in CORPUS.glob("*.txt"):
        shutil.copy(path, folder / path.name)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "junk.txt").write_bytes(bytes(range(256)) * 40)
    (folder / "latin1.txt").write_bytes("caf\xe9 na\xefve r\xe9sum\xe9 \xa9\xae".encode("latin-1") * 3 + b"\x81\xfe\xff")
    (folder / "gbk.txt").write_bytes("单位：万元\n收入总计\t100.00\n".encode("gbk"))
    return folder


def test_bad_files_reported_and_batch_goes_on(tmp_path):
    folder = _folder_with_bad_files(tmp_path)
    with Store(tmp_path / "db.duckdb") as store:
        result = run_batch(collect_files([folder]), store)
        report = write_error_report(result, tmp_path)
        failed = {Path(o.source).name: o for o in result.failed}
        assert set(failed) == {"empty.txt", "junk.txt", "latin1.txt"}
        assert failed["empty.txt"].reason == "file is empty"
        assert "binary" in failed["junk.txt"].reason
        assert "encoding" in failed["latin1.txt"].reason
        assert store.con.execute("SELECT count(*) FROM documents").fetchone()[0] == 6  # 5 seeds + the GBK file
        assert store.con.execute("SELECT count(*) FROM sangong").fetchone()[0] == 3
    lines = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    assert {Path(entry["source"]).name for entry in lines if entry["status"] == "failed"} == set(failed)


def test_cli_exit_code_and_skip_unchanged(tmp_path):
    folder = _folder_with_bad_files(tmp_path)
    data = tmp_path / "data"
    first = subprocess.run([*YUSUAN, "extract", str(folder), "--data", str(data)], capture_output=True, text=True)
    assert first.returncode == 1
    assert "empty.txt" in first.stdout and "file is empty" in first.stdout
    first_report = (data / "errors.jsonl").read_text("utf-8").splitlines()
    (folder / "empty.txt").unlink()
    (folder / "junk.txt").unlink()
    (folder / "latin1.txt").unlink()
    second = subprocess.run([*YUSUAN, "extract", str(folder), "--data", str(data)], capture_output=True, text=True)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.count("[skipped]") == 6
    # the report of a run that skipped everything still lists the stored warnings of the unchanged files
    entries = [json.loads(line) for line in (data / "errors.jsonl").read_text("utf-8").splitlines()]
    assert entries and all(entry["status"] == "skipped" and entry["warnings"] for entry in entries)
    assert {entry["source"] for entry in entries} == {e["source"] for e in map(json.loads, first_report) if e["warnings"]}


def _snapshot(db: Path) -> dict[str, list]:
    """Every row of every table (documents without their timestamp), duplicates kept."""
    with Store(db, read_only=True) as store:
        tables = {kind: store.con.execute(f"SELECT * FROM {kind}").fetchall() for kind in RECORD_KINDS}
        tables["documents"] = store.con.execute("SELECT * EXCLUDE (extracted_at) FROM documents").fetchall()
    return {name: sorted(rows, key=repr) for name, rows in tables.items()}


def _pdf(draw=None, **options) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, **options)
    (draw or (lambda pdf: pdf.drawString(100, 700, "budget")))(pdf)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _scanned_pdf() -> bytes:
    """One page holding only a picture of text: no text layer."""
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))

    def text(pdf: canvas.Canvas) -> None:
        pdf.setFont("STSong-Light", 18)
        pdf.drawString(80, 760, "2025年部门收支预算总表")
        pdf.drawString(80, 730, "收入总计 3,121.42 万元")

    image = pypdfium2.PdfDocument(_pdf(text))[0].render(scale=1.5).to_pil()
    return _pdf(lambda pdf: pdf.drawImage(ImageReader(image), 0, 0, width=A4[0], height=A4[1]))


GOOD_PDFS = [  # small real disclosures: tables only, narrative only, both
    "jiangsu-open-budget/江苏省人大办公厅/江苏省人大常委会办公厅2019年部门预算公开表.pdf",
    "jiangsu-open-budget/江苏省委办公厅/江苏省委办公厅2018年度部门预算公开文件.pdf",
    "shanghai-tianbaoxitong/上海市财政局25年预算.pdf",
]


def _rows_of(store: Store, doc_id: str) -> dict[str, list]:
    return {kind: sorted(store.con.execute(f"SELECT * FROM {kind} WHERE doc_id = ?", [doc_id]).fetchall(), key=repr)
            for kind in RECORD_KINDS}


def test_pdf_batch_with_broken_and_scanned_files(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for relative in GOOD_PDFS:
        shutil.copy(REALDOCS / relative, folder / Path(relative).name)
    good = _pdf(lambda pdf: pdf.drawString(100, 700, "Budget 2025 " * 20))
    noise = random.Random(7).randbytes(20_000)
    (folder / "junk.pdf").write_bytes(noise)
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.4\n" + noise)
    (folder / "truncated.pdf").write_bytes(good[: len(good) // 2])
    (folder / "encrypted.pdf").write_bytes(_pdf(encrypt="secret"))
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "scanned.pdf").write_bytes(_scanned_pdf())

    with Store(tmp_path / "db.duckdb") as store:
        result = run_batch(collect_files([folder]), store, workers=2, timeout=120)
        report = write_error_report(result, tmp_path)
        again = {Path(o.source).name: o for o in run_batch(collect_files([folder]), store, workers=2).outcomes}
        outcomes = {Path(o.source).name: o for o in result.outcomes}
        assert len(outcomes) == 9
        assert {name for name, o in outcomes.items() if o.status == "failed"} == {
            "junk.pdf", "corrupt.pdf", "truncated.pdf", "encrypted.pdf", "empty.pdf"}
        assert (outcomes["junk.pdf"].stage, outcomes["junk.pdf"].reason) == (
            "read", f"not a PDF (starts with {noise[:16]!r})")
        assert outcomes["corrupt.pdf"].stage == "open"
        assert outcomes["corrupt.pdf"].reason.startswith("truncated or corrupt PDF")
        assert outcomes["truncated.pdf"].stage == "open"
        assert outcomes["truncated.pdf"].reason.startswith("truncated or corrupt PDF")
        assert (outcomes["encrypted.pdf"].stage, outcomes["encrypted.pdf"].reason) == (
            "open", "encrypted PDF (password required)")
        assert (outcomes["empty.pdf"].stage, outcomes["empty.pdf"].reason) == ("read", "file is empty")

        # every good document is in the store exactly as extracting it alone gives it
        assert store.con.execute("SELECT count(*) FROM documents").fetchone()[0] == 4  # 3 good + the scan
        for relative in GOOD_PDFS:
            name = Path(relative).name
            alone = extract_path(folder / name)
            with Store(tmp_path / f"alone-{alone.document.doc_id}.duckdb") as single:
                single.replace(alone)
                expected = _rows_of(single, alone.document.doc_id)
            assert outcomes[name].status == "extracted"
            assert outcomes[name].records == len(alone.records) > 0
            assert outcomes[name].pages == alone.document.pages
            assert _rows_of(store, alone.document.doc_id) == expected

    # the scanned page is either read by OCR or reported as needing it
    scanned = outcomes["scanned.pdf"]
    assert scanned.status == "extracted" and scanned.pages == 1
    ocr_expected = importlib.util.find_spec("rapidocr_onnxruntime") is not None and os.environ.get("YUSUAN_OCR") != "0"
    if ocr_expected:
        assert scanned.pages_needing_ocr == []
        assert scanned.warnings[0].startswith("page 1: no text layer, text read by OCR")
    else:
        assert scanned.pages_needing_ocr == [1]
        assert scanned.warnings[0] == "page 1: no text layer (scanned image?), OCR not available"

    # re-run: the scan is unchanged and skipped, its problems read back from the store
    assert again["scanned.pdf"].status == "skipped"
    assert (again["scanned.pdf"].warnings, again["scanned.pdf"].pages_needing_ocr) == (
        scanned.warnings, scanned.pages_needing_ocr)
    assert {name for name, o in again.items() if o.status == "failed"} == {
        name for name, o in outcomes.items() if o.status == "failed"}

    entries = {Path(entry["source"]).name: entry for entry in map(json.loads, report.read_text("utf-8").splitlines())}
    failed = {name: (entry["stage"], entry["reason"]) for name, entry in entries.items() if entry["status"] == "failed"}
    assert failed == {name: (o.stage, o.reason) for name, o in outcomes.items() if o.status == "failed"}
    assert entries["scanned.pdf"]["pages_needing_ocr"] == scanned.pages_needing_ocr
    assert entries["scanned.pdf"]["warnings"] == scanned.warnings
    for name, entry in entries.items():  # good files are listed only for their warnings
        assert set(entry) == {"source", "status", "stage", "reason", "pages", "records", "pages_needing_ocr",
                              "warnings", "seconds"}
        assert entry["status"] == "failed" or entry["warnings"], name
    assert set(entries) - set(failed) == {name for name, o in outcomes.items()
                                          if o.status == "extracted" and o.warnings}


def test_crashing_hanging_and_memory_hungry_files_cost_only_themselves(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    seeds = sorted(CORPUS.glob("*.txt"))[:2]
    for path in seeds:
        shutil.copy(path, folder / path.name)
    for name in ("crash", "hang", "hog"):
        (folder / f"{name}.txt").write_text(f"单位：万元\n{name}\n", encoding="utf-8")
    # a limit no good file comes near even on a loaded machine: only the hanging file (which ignores SIGALRM and
    # would sleep for 10 minutes) reaches it and is killed
    with Store(tmp_path / "db.duckdb") as store:
        result = run_batch(collect_files([folder]), store, workers=2, timeout=30, max_memory_mb=250,
                           task=batch_support.misbehaving)
        documents = store.con.execute("SELECT count(*) FROM documents").fetchone()[0]
    outcomes = {Path(o.source).name: o for o in result.outcomes}
    assert {name for name, o in outcomes.items() if o.status == "extracted"} == {path.name for path in seeds}
    assert documents == 2
    assert outcomes["crash.txt"].stage == "worker"
    assert outcomes["crash.txt"].reason == ("worker died while reading the file: killed by SIGKILL (from outside "
                                            "yusuan: another process or the system's out-of-memory killer)")
    assert outcomes["hang.txt"].reason == "timed out after 30 s (worker killed)"
    assert outcomes["hog.txt"].reason == "used more than 250 MB of memory (worker killed)"
    assert all(0 < peak < 250 for peak in result.worker_peak_rss_mb.values())


def _interrupted_folder(tmp_path: Path) -> Path:
    """Small real PDFs between copies of the seed texts, and one broken file."""
    folder = tmp_path / "many"
    folder.mkdir()
    texts = [(path, copy) for copy in range(2) for path in sorted(CORPUS.glob("*.txt"))]
    number = 0
    for index, relative in enumerate(GOOD_PDFS):
        shutil.copy(REALDOCS / relative, folder / f"{number:02d}_{Path(relative).name}")
        number += 1
        for path, copy in texts[index * 4: index * 4 + 4]:  # distinct contents: every file is its own document
            text = path.read_text(encoding="utf-8") + f"\n附注 {copy}\n"
            (folder / f"{number:02d}_{path.name}").write_text(text, encoding="utf-8")
            number += 1
    (folder / f"{number:02d}_broken.pdf").write_bytes(b"%PDF-1.4\n")
    return folder


def _workers_of(pid: int) -> list[str]:
    """Worker processes started by ``pid`` that are still running (Linux)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"yusuan.extract.worker" in argv and argv[-2:-1] == [str(pid).encode()]:
            found.append(cmdline.parent.name)
    return found


def test_killed_run_resumes_to_identical_rows(tmp_path):
    folder = _interrupted_folder(tmp_path)
    total = len(collect_files([folder]))
    command = [*YUSUAN, "extract", str(folder), "--workers", "2", "--data"]
    reference = tmp_path / "reference"
    uninterrupted = subprocess.run([*command, str(reference)], capture_output=True, text=True)
    assert uninterrupted.returncode == 1, uninterrupted.stdout + uninterrupted.stderr  # the broken file
    assert uninterrupted.stdout.count("[extracted]") == total - 1

    killed = tmp_path / "killed"
    # each document committed on its own: on an idle machine the default one-second group would hold the whole run
    process = subprocess.Popen([*command, str(killed), "--commit-every", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # files are reported once committed: the first group is in the store
        line = process.stdout.readline()
        assert line, "the run ended before it could be killed"
        if line.startswith("[extracted]"):
            break
    process.send_signal(signal.SIGKILL)  # while the workers are reading the next files
    process.wait()
    for _ in range(50):  # the workers die with their parent
        if not _workers_of(process.pid):
            break
        time.sleep(0.1)
    assert not _workers_of(process.pid)
    with Store(killed / "yusuan.duckdb", read_only=True) as store:
        partial = store.con.execute("SELECT count(*) FROM documents").fetchone()[0]
    assert 1 <= partial < total - 1
    assert not (killed / "errors.jsonl").exists()

    resumed = subprocess.run([*command, str(killed)], capture_output=True, text=True)
    assert resumed.returncode == 1
    assert resumed.stdout.count("[skipped]") == partial
    assert resumed.stdout.count("[extracted]") == total - 1 - partial
    rows = _snapshot(killed / "yusuan.duckdb")
    assert rows == _snapshot(reference / "yusuan.duckdb")
    assert len({row[0] for row in rows["documents"]}) == len(rows["documents"]) == total - 1
    for kind in RECORD_KINDS:
        assert len({row[0] for row in rows[kind]}) == len(rows[kind])  # record ids are unique: no duplicates
    assert sum(len(rows[kind]) for kind in RECORD_KINDS) > 500
    assert [json.loads(line)["status"] for line in (killed / "errors.jsonl").read_text("utf-8").splitlines()
            if '"failed"' in line] == ["failed"]


def test_parallel_workers_match_in_process(tmp_path):
    files = collect_files([CORPUS])
    with Store(tmp_path / "serial.duckdb") as serial, Store(tmp_path / "parallel.duckdb") as parallel:
        run_batch(files, serial, workers=0)  # read in this process
        result = run_batch(files, parallel, workers=2)
        assert not result.failed
        assert len(result.worker_peak_rss_mb) == 2
    assert _snapshot(tmp_path / "serial.duckdb") == _snapshot(tmp_path / "parallel.duckdb")


def test_documents_committed_together_match_one_by_one(tmp_path):
    """A group of documents in one transaction leaves the rows that committing them one by one leaves, including a
    later one that replaces an earlier one of the same file (its content changed)."""
    from yusuan.extract.batch import extract_rows

    documents = [extract_rows(str(path))[0] for path in sorted(CORPUS.glob("*.txt"))]
    first = documents[0]
    changed = dataclasses.replace(first, doc_id="changed", document=["changed", *first.document[1:]],
                                  records={kind: rows[:1] for kind, rows in first.records.items()})
    with Store(tmp_path / "one.duckdb") as one, Store(tmp_path / "group.duckdb") as group:
        for document in [*documents, changed]:
            one.write([document])
        group.write([*documents, changed])
        doc_ids = {row[0] for row in group.con.execute("SELECT doc_id FROM document_blocks").fetchall()}
    assert doc_ids == {"changed", *(document.doc_id for document in documents[1:])}
    assert _snapshot(tmp_path / "one.duckdb") == _snapshot(tmp_path / "group.duckdb")


def test_a_file_turned_away_is_remembered_and_not_read_again(tmp_path):
    from yusuan.extract.worker import extract_one

    notice = tmp_path / "in" / "notice.txt"
    notice.parent.mkdir()
    notice.write_text("某市人民政府办公室关于做好2026年春节期间安全生产工作的通知\n某政办发〔2026〕3号\n"
                      "各区人民政府，市各委、办、局：\n为切实做好春节期间安全生产工作，现将有关事项通知如下。\n", encoding="utf-8")
    read: list[str] = []

    def counting(path: str, timeout: float | None):
        read.append(path)
        return extract_one(path, timeout)

    with Store(tmp_path / "yusuan.duckdb") as store:
        first = run_batch([notice], store, workers=0, task=counting)
        second = run_batch([notice], store, workers=0, task=counting)
        assert store.documents().empty
    assert [o.status for o in first.outcomes] == [o.status for o in second.outcomes] == ["not_budget"]
    assert read == [str(notice)]
    assert second.outcomes[0].reason.endswith("(decided by an earlier run)")
    assert first.outcomes[0].reason in second.outcomes[0].reason
