from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from qa_store import CORPUS, build_store

from yusuan.api.app import create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    data = build_store(tmp_path_factory.mktemp("api-store"))
    with TestClient(create_app(data, max_upload_bytes=2 * 1024 * 1024)) as c:
        yield c


def test_health_and_page(client):
    assert client.get("/health").json() == {"status": "ok"}
    page = client.get("/")
    assert page.status_code == 200 and "yusuan" in page.text and "<svg" in page.text
    assert client.get("/openapi.json").status_code == 200 and client.get("/docs").status_code == 200


def test_documents_and_records(client):
    docs = client.get("/documents").json()
    assert docs["total"] == 5
    r = client.get("/records/sangong", params={"department": "中共绍兴市委组织部", "year": 2022}).json()
    assert r["total"] == 2 and r["records"][0]["total"] == 22.5
    page = client.get("/records/indicator", params={"limit": 10, "offset": 5}).json()
    assert len(page["records"]) == 10 and page["total"] > 100
    r = client.get("/records/project", params={"table_kind": "项目支出表"}).json()
    assert r["total"] == 18


def test_errors_are_json(client):
    r = client.get("/records/nope")
    assert r.status_code == 404 and "error" in r.json()
    r = client.get("/documents/doesnotexist")
    assert r.status_code == 404 and "error" in r.json()
    r = client.get("/records/sangong", params={"limit": "x"})
    assert r.status_code == 422 and "error" in r.json()
    r = client.get("/ask")
    assert r.status_code == 422 and "error" in r.json()


def test_ask(client):
    a = client.get("/ask", params={"q": "哪个部门三公经费最高"}).json()
    assert "中共绍兴市委组织部" in a["answer"] and a["value"] == 22.5 and a["evidence"]


def test_search_503_or_results(client):
    r = client.get("/search", params={"q": "绩效目标"})
    assert r.status_code in (200, 503)
    assert ("error" in r.json()) if r.status_code == 503 else ("results" in r.json())


def test_upload_too_large(client):
    r = client.post("/documents", files={"file": ("big.txt", b"x" * (3 * 1024 * 1024), "text/plain")})
    assert r.status_code == 413 and "error" in r.json()


def test_upload_and_extract(client, tmp_path):
    src = CORPUS / "003_8a020ea769aa04f9.txt"
    copy = tmp_path / "hengdong.txt"
    shutil.copy(src, copy)
    r = client.post("/documents", files={"file": (copy.name, copy.read_bytes(), "text/plain")})
    assert r.status_code == 202
    url = r.json()["status_url"]
    deadline = time.time() + 60
    status = {}
    while time.time() < deadline:
        status = client.get(url).json()
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.2)
    assert status["status"] == "done", status
    assert status["department"] == "中共衡东县委组织部"
    assert client.get("/records/indicator", params={"doc_id": status["doc_id"]}).json()["total"] > 0


def test_browser_end_to_end(client, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("chromium not installed")
    playwright = pytest.importorskip("playwright.sync_api")
    import socket
    import threading

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(uvicorn.Config(client.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--headless"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.fill("#q", "哪个部门三公经费最高")
            page.click("#go")
            page.wait_for_selector("#answer[data-done='1']", timeout=15000)
            assert "中共绍兴市委组织部" in page.inner_text("#answer")
            assert page.locator("#chart rect.bar").count() >= 1
            page.screenshot(path=str(Path(tmp_path) / "ask.png"), full_page=True)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
