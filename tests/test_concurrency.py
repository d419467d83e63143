"""One data directory, many processes: `serve`, `extract` (twice), `index`, `ask`, `docs` and `export` at the same
time, uploads searchable without a restart, a busy store named in one line, writers not starved by readers."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import CORPUS

from yusuan.store import Store
from yusuan.store.lock import StoreBusy, generation, reading, writing

YUSUAN = [sys.executable, "-m", "yusuan.cli"]
PATIENCE_S = 900  # a deadline for a loaded 2-core machine, never a measurement
SEEDS = sorted(CORPUS.glob("*.txt"))


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=PATIENCE_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _upload(url: str, name: str, data: bytes) -> tuple[int, dict]:
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{url}/documents", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=PATIENCE_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@contextmanager
def _serve(data: Path, log: Path) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with log.open("w") as out:
        server = subprocess.Popen([*YUSUAN, "serve", "--data", str(data), "--port", str(port)], stdout=out,
                                  stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + PATIENCE_S
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if _get(f"{url}/health")[0] == 200:
                    break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)


def _wait_for_job(url: str, status_url: str, until) -> dict:
    deadline = time.monotonic() + PATIENCE_S
    while True:
        code, job = _get(url + status_url)
        assert code == 200, job
        if until(job):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.5)


def test_serve_extract_index_ask_docs_export_side_by_side(tmp_path):
    data = tmp_path / "data"
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder, seeds in zip(folders, (SEEDS[:2], SEEDS[2:4]), strict=True):
        folder.mkdir()
        for seed in seeds:
            shutil.copy(seed, folder / seed.name)
    uploaded = SEEDS[4]
    statuses: list[int] = []
    with _serve(data, tmp_path / "serve.log") as url:
        commands = {
            "extract a": [*YUSUAN, "extract", str(folders[0]), "--data", str(data)],
            "extract b": [*YUSUAN, "extract", str(folders[1]), "--data", str(data)],
            "index": [*YUSUAN, "index", "--data", str(data)],
            "ask": [*YUSUAN, "ask", "哪个部门三公经费最高", "--data", str(data)],
            "docs": [*YUSUAN, "docs", "--data", str(data)],
            "export": [*YUSUAN, "export", "--data", str(data), "--out", str(tmp_path / "export")],
        }
        running = {name: subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for name, command in commands.items()}
        code, job = _upload(url, "上传的预算.txt", uploaded.read_bytes())
        assert code == 202, job
        while any(process.poll() is None for process in running.values()):  # the server answers meanwhile
            statuses += [_get(f"{url}/records/sangong")[0], _get(f"{url}/documents")[0]]
        for name, process in running.items():
            out, err = process.communicate()
            assert process.returncode == 0, f"{name}: {out[-2000:]}\n{err[-2000:]}"
            assert "Could not set lock" not in out + err

        job = _wait_for_job(url, job["status_url"], lambda job: job["status"] != "queued" and job.get("indexed") is not False)
        assert job["status"] == "done" and job["indexed"] is True and not job.get("index_error"), job
        assert not any(str(tmp_path) in str(value) for value in job.values())  # no server path in the answer
        assert not any((data / "uploads").iterdir())  # the uploaded file is gone once stored

        code, documents = _get(f"{url}/documents")
        assert code == 200 and documents["total"] == 5
        assert f"uploads/{job['job_id']}/上传的预算.txt" in {doc["source"] for doc in documents["documents"]}
        # the upload is searchable without a restart (its department is in no other document)
        code, found = _get(f"{url}/search?" + urllib.parse.urlencode({"q": job["department"], "k": 50}))
        assert code == 200 and any(hit["source"].startswith("uploads/") for hit in found["results"]), found
        code, answer = _get(f"{url}/ask?" + urllib.parse.urlencode({"q": "哪个部门三公经费最高"}))
        assert code == 200 and answer["value"] is not None
        statuses += [code]
    assert set(statuses) == {200}
    exported = (tmp_path / "export" / "documents.jsonl").read_text(encoding="utf-8").splitlines()
    assert exported  # whatever was committed when `export` read the store, read whole


def test_a_store_kept_busy_is_named_in_one_line(tmp_path):
    data = tmp_path / "data"
    database = data / "yusuan.duckdb"
    data.mkdir()
    Store(database).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfrom yusuan.store.lock import writing\n"
         f"with writing({str(database)!r}):\n    print('holding', flush=True)\n    sys.stdin.read()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        env = {**os.environ, "YUSUAN_READ_WAIT": "1"}
        for command in (["ask", "哪个部门三公经费最高"], ["docs"], ["export", "--out", str(tmp_path / "out")]):
            busy = subprocess.run([*YUSUAN, *command, "--data", str(data)], capture_output=True, text=True, env=env)
            assert busy.returncode == 75, busy.stdout + busy.stderr
            assert busy.stderr.strip() == f"error: store busy: python (pid {holder.pid}) is writing, waited 1 s"
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    done = subprocess.run([*YUSUAN, "docs", "--data", str(data)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_waiting_writer_is_not_starved_by_new_readers(tmp_path):
    database = tmp_path / "yusuan.duckdb"
    Store(database).close()
    before = generation(database)
    wrote = threading.Event()

    def write() -> None:
        with writing(database) as con:
            con.execute("CREATE TABLE written AS SELECT 1 AS x")
        wrote.set()

    with reading(database):  # a reader holds the store; a writer queues up behind it
        writer = threading.Thread(target=write)
        writer.start()
        turnstile = database.with_name(database.name + ".writer")
        deadline = time.monotonic() + PATIENCE_S
        while not turnstile.read_text(encoding="utf-8"):  # the writer has announced itself
            assert time.monotonic() < deadline
            time.sleep(0.05)
        result: list[BaseException] = []
        late = threading.Thread(target=lambda: result.append(_read_or_busy(database)))
        late.start()
        late.join()
        assert isinstance(result[0], StoreBusy) and "is writing" in str(result[0])  # new readers wait their turn
        assert not wrote.is_set()
    writer.join()
    assert wrote.is_set() and generation(database) == before + 1
    with reading(database) as con:
        assert con.execute("SELECT x FROM written").fetchall() == [(1,)]


def _read_or_busy(database: Path) -> BaseException | None:
    try:
        with reading(database, wait=0.5):
            return None
    except StoreBusy as exc:
        return exc


def test_a_thread_reuses_its_own_connection_and_cannot_upgrade(tmp_path):
    database = tmp_path / "yusuan.duckdb"
    Store(database).close()
    with writing(database) as outer, reading(database) as inner:
        assert inner is outer
    with reading(database), pytest.raises(RuntimeError, match="while reading it"), writing(database):
        pass
