"""Uploads under attack: bad names and parameters are clean 4xx, the size limit holds while the body streams in, a
burst is turned away with 503 instead of piling up threads, a zip bomb or a huge sheet costs a worker process (not
the server's memory), and every upload file is gone once its job is over."""

from __future__ import annotations

import io
import socket
import threading
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
import uvicorn
from conftest import CORPUS
from fastapi.testclient import TestClient

from yusuan.api.app import create_app
from yusuan.api.uploads import UploadSettings
from yusuan.extract.worker import rss_mb
from yusuan.store.lock import writing

PATIENCE_S = 900  # a deadline for a loaded machine, never a measurement
SEED = CORPUS / "003_8a020ea769aa04f9.txt"


def _wait(client: TestClient, job: dict) -> dict:
    deadline = time.monotonic() + PATIENCE_S
    while True:
        status = client.get(job["status_url"]).json()
        if status["status"] not in ("queued", "reading"):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.2)


def _leftovers(data: Path) -> list[Path]:
    return [path for path in (data / "uploads").rglob("*")]


@pytest.fixture
def app_client(tmp_path):
    def start(**settings) -> TestClient:
        data = tmp_path / "data"
        client = TestClient(create_app(data, uploads=UploadSettings(**{"index": False, **settings})))
        client.__enter__()
        clients.append(client)
        return client

    clients: list[TestClient] = []
    yield start
    for client in clients:
        client.__exit__(None, None, None)


def test_bad_names_and_parameters_are_clean_4xx(app_client, tmp_path):
    client = app_client(max_bytes=2**20)
    text = SEED.read_bytes()
    for name in (".", "..", "", "/", ".hidden.txt"):
        response = client.post("/documents", files={"file": (name, text, "text/plain")})
        assert response.status_code in (400, 422) and "error" in response.json(), name
    response = client.post("/documents", files={"file": ("tool.exe", text)})
    assert response.status_code == 415 and "unsupported file type" in response.json()["error"]
    assert client.post("/documents", content=text, headers={"content-type": "text/plain"}).status_code == 415
    assert client.post("/documents", files={"other": ("a.txt", text)}).json() == {"error": "no file in the form field 'file'"}
    assert client.post("/documents", files={"file": ("empty.txt", b"")}).json() == {"error": "empty file"}

    long_name = "预" * 300 + ".txt"
    jobs = [client.post("/documents", files={"file": (name, text, "text/plain")}) for name in
            (long_name, "../../etc/passwd.txt", "C:\\Users\\x\\报告.txt")]
    assert [job.status_code for job in jobs] == [202, 202, 202]
    names = [job.json()["filename"] for job in jobs]
    assert names[0].endswith(".txt") and len(names[0].encode()) <= 180 and names[1:] == ["passwd.txt", "报告.txt"]
    assert all(_wait(client, job.json())["status"] == "done" for job in jobs)
    assert not _leftovers(tmp_path / "data")
    sources = {doc["source"] for doc in client.get("/documents").json()["documents"]}
    assert all(source.startswith("uploads/") and str(tmp_path) not in source for source in sources)

    huge = "9223372036854775808"
    for url in (f"/documents?offset={huge}", f"/records/sangong?offset={huge}", f"/records/sangong?year={huge}",
                "/records/sangong?limit=-1", "/records/sangong?doc_id=" + "x" * 1000, "/search?q=a&k=100000",
                "/ask?q=" + "问" * 1000):
        response = client.get(url)
        assert response.status_code == 422 and "error" in response.json(), url
    assert client.get("/no/such/path").status_code == 404 and "error" in client.get("/no/such/path").json()
    response = client.delete("/health")
    assert response.status_code == 405 and "error" in response.json()
    assert client.get("/documents/%2e%2e").status_code == 404


def _serve_in_thread(app) -> tuple[uvicorn.Server, int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + PATIENCE_S
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return server, port


def _status_line(sock: socket.socket) -> str:
    return sock.makefile("rb").readline().decode()


def test_the_size_limit_holds_while_the_body_streams_in(tmp_path):
    limit = 2**20
    data = tmp_path / "data"
    server, port = _serve_in_thread(create_app(data, uploads=UploadSettings(max_bytes=limit, index=False)))
    try:
        head = ("POST /documents HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                "{length}\r\n")
        part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'
        with socket.create_connection(("127.0.0.1", port)) as sock:  # a declared 2 GB body is refused unread
            sock.sendall(head.format(length="Content-Length: 2147483648\r\n").encode() + part)
            assert _status_line(sock).startswith("HTTP/1.1 413")

        sent = 0
        with socket.create_connection(("127.0.0.1", port)) as sock:  # an undeclared one is cut off at the limit
            sock.sendall(head.format(length="Transfer-Encoding: chunked\r\n").encode())
            chunk = b"x" * 65536
            try:
                sock.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                while sent < 2**31:
                    sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    sent += len(chunk)
                    sock.setblocking(False)
                    try:
                        if sock.recv(1, socket.MSG_PEEK):
                            break
                    except BlockingIOError:
                        pass
                    finally:
                        sock.setblocking(True)
            except (BrokenPipeError, ConnectionResetError):
                pass
            assert _status_line(sock).startswith("HTTP/1.1 413")
        assert sent < 64 * limit  # the server answered long before 2 GB; socket buffers account for the rest
        assert not _leftovers(data)
    finally:
        server.should_exit = True


def test_a_burst_of_uploads_is_turned_away_not_piled_up(app_client, tmp_path):
    pending = 8
    client = app_client(max_pending=pending)
    threads_before = threading.active_count()
    database = tmp_path / "data" / "yusuan.duckdb"
    with writing(database):  # the store is busy: no upload can finish, so the queue fills up
        responses = [client.post("/documents", files={"file": (f"b{i}.txt", SEED.read_bytes(), "text/plain")})
                     for i in range(1000)]
        accepted = [r for r in responses if r.status_code == 202]
        refused = [r for r in responses if r.status_code == 503]
        assert len(accepted) == pending and len(refused) == 1000 - pending
        assert all(r.headers["retry-after"] and "busy" in r.json()["error"] for r in refused)
        assert threading.active_count() - threads_before < 50  # anyio's pool at most, not one thread per upload
        assert client.get("/health").status_code == 200
    assert all(_wait(client, r.json())["status"] == "done" for r in accepted)
    assert not _leftovers(tmp_path / "data")
    assert client.post("/documents", files={"file": ("again.txt", SEED.read_bytes())}).status_code == 202


def _zip_bomb_xlsx() -> bytes:
    """A valid workbook whose one sheet unzips to ~150 MB of cells (~0.3 MB on disk)."""
    book = openpyxl.Workbook()
    book.active["A1"] = "单位：万元"
    buffer = io.BytesIO()
    book.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in source.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                bomb.writestr(item, source.read(item))
                continue
            with bomb.open(item.filename, "w", force_zip64=True) as sheet:
                sheet.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                            b'spreadsheetml/2006/main"><sheetData>')
                row = b"".join(b'<c t="n"><v>1</v></c>' for _ in range(50))
                for number in range(1, 150_000):
                    sheet.write(b'<row r="%d">' % number + row + b"</row>")
                sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def _huge_sheet_xlsx() -> bytes:
    """One cell in the last row and column: a 1,048,576 × 16,384 sheet in 5 KB."""
    book = openpyxl.Workbook()
    book.active["XFD1048576"] = 1
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_zip_bomb_and_a_huge_sheet_cost_a_worker_not_the_server(app_client, tmp_path):
    client = app_client(max_memory_mb=300, timeout_s=PATIENCE_S)
    before = rss_mb()
    jobs = [client.post("/documents", files={"file": (name, content)}).json()
            for name, content in (("bomb.xlsx", _zip_bomb_xlsx()), ("huge.xlsx", _huge_sheet_xlsx()))]
    outcomes = [_wait(client, job) for job in jobs]
    for outcome in outcomes:
        assert outcome["status"] == "failed"
        assert outcome["error"] == "worker: used more than 300 MB of memory (worker killed)"
    assert rss_mb() - before < 150  # the server read none of it
    assert client.get("/documents").json()["total"] == 0
    assert not _leftovers(tmp_path / "data")


def test_a_stored_upload_keeps_one_copy_for_the_page_viewer_and_the_audit(app_client, tmp_path):
    """The upload folder is emptied, but the stored document's file stays readable: its page renders with the box and
    it can be audited — a real PDF, uploaded."""
    from conftest import REALDOCS

    pdf = REALDOCS / "shanghai-putuo-GovBudgetChecker" / "上海市普陀区人民政府万里街道办事处25年预算.pdf"
    client = app_client()
    job = client.post("/documents", files={"file": (pdf.name, pdf.read_bytes(), "application/pdf")}).json()
    done = _wait(client, job)
    assert done["status"] == "done", done
    data = tmp_path / "data"
    assert _leftovers(data) == []
    assert [path.name for path in (data / "sources").iterdir()] == [f"{done['doc_id']}.pdf"]
    page = client.get(f"/evidence/document/{done['doc_id']}/page/1.png")
    assert page.status_code == 200 and page.content.startswith(b"\x89PNG")
    issues = client.get(f"/documents/{done['doc_id']}/issues")
    assert issues.status_code == 200 and issues.json()["doc_id"] == done["doc_id"]
