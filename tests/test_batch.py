"""Bulk extraction: bad files are reported and the batch goes on; a killed run resumes to identical rows."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import CORPUS

from yusuan.extract.batch import collect_files, run_batch, write_error_report
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
    (folder / "empty.txt").unlink()
    (folder / "junk.txt").unlink()
    (folder / "latin1.txt").unlink()
    second = subprocess.run([*YUSUAN, "extract", str(folder), "--data", str(data)], capture_output=True, text=True)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.count("[skipped]") == 6


def _snapshot(db: Path) -> dict[str, list]:
    with Store(db, read_only=True) as store:
        return {
            kind: sorted(store.con.execute(f"SELECT record_id, \"values\" FROM {kind}").fetchall())
            for kind in ("documents", "budget_total", "function_line", "econ_line", "sangong", "project", "indicator", "fact")
            if kind != "documents"
        } | {"documents": sorted(store.con.execute("SELECT doc_id, sha256 FROM documents").fetchall())}


def test_killed_run_resumes_to_identical_rows(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for copy in range(12):  # distinct contents so every file is its own document
        for path in CORPUS.glob("*.txt"):
            text = path.read_text(encoding="utf-8") + f"\n附注 {copy}\n"
            (folder / f"{copy:02d}_{path.name}").write_text(text, encoding="utf-8")
    reference = tmp_path / "reference"
    subprocess.run([*YUSUAN, "extract", str(folder), "--data", str(reference)], check=True, capture_output=True)

    killed = tmp_path / "killed"
    process = subprocess.Popen([*YUSUAN, "extract", str(folder), "--data", str(killed)], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    done = 0
    deadline = time.monotonic() + 60
    while done < 8 and time.monotonic() < deadline:
        line = process.stdout.readline()
        done += line.startswith("[extracted]")
    process.send_signal(signal.SIGKILL)
    process.wait()
    with Store(killed / "yusuan.duckdb", read_only=True) as store:
        partial = store.con.execute("SELECT count(*) FROM documents").fetchone()[0]
    assert 8 <= partial < 60

    resumed = subprocess.run([*YUSUAN, "extract", str(folder), "--data", str(killed)], capture_output=True, text=True)
    assert resumed.returncode == 0
    assert resumed.stdout.count("[skipped]") == partial
    assert _snapshot(killed / "yusuan.duckdb") == _snapshot(reference / "yusuan.duckdb")


def test_parallel_workers_match_serial(tmp_path):
    files = collect_files([CORPUS])
    with Store(tmp_path / "serial.duckdb") as serial, Store(tmp_path / "parallel.duckdb") as parallel:
        run_batch(files, serial, workers=1)
        result = run_batch(files, parallel, workers=2)
        assert not result.failed
        assert serial.counts() == parallel.counts()
