from __future__ import annotations

import shutil
import time

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


def test_search_before_and_after_indexing_and_a_change(tmp_path):
    from index_support import extract_into

    from yusuan.index.indexer import build_index

    data, changing = tmp_path / "data", tmp_path / "changing.txt"
    shutil.copy(CORPUS / "003_8a020ea769aa04f9.txt", changing)
    extract_into(data, [changing])
    with TestClient(create_app(data)) as c:
        r = c.get("/search", params={"q": "智慧党建平台"})
        assert r.status_code == 503 and "yusuan index" in r.json()["error"]  # no index yet; the error is not kept
        build_index(data)
        first = c.get("/search", params={"q": "智慧党建平台", "k": 3}).json()["results"]
        assert first and not any("智慧党建平台" in hit["text"] for hit in first)
        assert c.get("/search", params={"q": "智慧党建平台", "k": 3}).json()["results"] == first  # kept
        # the document changes and is re-extracted and re-indexed while the service runs: the kept result goes
        changing.write_text(changing.read_text(encoding="utf-8") + "\n新增说明\n\n本项目新增加了智慧党建平台建设内容。\n",
                            encoding="utf-8")
        extract_into(data, [changing])
        build_index(data)
        hits = c.get("/search", params={"q": "智慧党建平台", "k": 3}).json()["results"]
        assert "智慧党建平台" in hits[0]["text"]


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


def test_browser_end_to_end(client, tmp_path_factory, capsys):
    """The page at / in headless Chromium: ask the headline question, check answer, not-covered line, evidence table
    and chart, then an example link; the screenshot path is printed in the test output. Chromium is the Debian
    package (.ci/run installs it); a missing browser fails the test rather than skipping it."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium not installed: apt-get install -y chromium chromium-driver (see .ci/run)"
    import socket
    import threading

    import uvicorn
    from playwright.sync_api import sync_playwright

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(uvicorn.Config(client.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    shots = tmp_path_factory.mktemp("browser")
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        assert server.started
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--headless"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"http://127.0.0.1:{port}/")
            page.fill("#q", "哪个部门三公经费最高")
            page.click("#go")
            page.wait_for_selector("#answer[data-done='1']", timeout=15000)
            answer = page.inner_text("#answer")
            assert "中共绍兴市委组织部" in answer and "22.50万元" in answer
            assert "中共衡东县委组织部" in page.inner_text("#nc")  # documents without 三公 data are named
            assert page.locator("#evidence tbody tr").count() >= 1
            assert "000_acf85bf0026b4684.txt" in page.inner_text("#evidence")
            assert page.locator("#chart rect.bar").count() >= 1
            first = shots / "ask.png"
            page.screenshot(path=str(first), full_page=True)
            # an example link asks its question
            page.click("#examples .ex >> nth=2")
            page.wait_for_selector("#answer[data-done='1']", timeout=15000)
            assert "项目支出" in page.inner_text("#answer")
            assert page.locator("#chart rect.bar").count() >= 2
            second = shots / "example.png"
            page.screenshot(path=str(second), full_page=True)
            browser.close()
        assert not errors, errors
        for shot in (first, second):
            assert shot.stat().st_size > 10_000
        with capsys.disabled():
            print(f"\n[browser] screenshots: {first} {second}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_upload_is_seen_by_ask(tmp_path):
    """/ask caches per store version (re-read at most once a second); an upload invalidates it at once."""
    from yusuan.config import db_path
    from yusuan.extract.batch import run_batch
    from yusuan.store import Store

    with Store(db_path(tmp_path)) as store:
        run_batch([CORPUS / "000_acf85bf0026b4684.txt"], store, workers=1)
    with TestClient(create_app(tmp_path)) as c:
        a = c.get("/ask", params={"q": "山海关区委组织部三公经费是多少"}).json()
        assert a["value"] is None and a["plan"]["unknown_departments"]
        assert c.get("/ask", params={"q": "哪个部门三公经费最低"}).json()["value"] == 22.5
        src = CORPUS / "002_6885cbf63360e79d.txt"
        r = c.post("/documents", files={"file": (src.name, src.read_bytes(), "text/plain")})
        url = r.json()["status_url"]
        deadline = time.time() + 60
        while time.time() < deadline and c.get(url).json()["status"] not in ("done", "failed"):
            time.sleep(0.1)
        assert c.get(url).json()["status"] == "done"
        a = c.get("/ask", params={"q": "山海关区委组织部三公经费是多少"}).json()
        assert a["value"] == 11.3 and a["plan"]["departments"] == ["中共秦皇岛市山海关区委组织部"]
        assert c.get("/ask", params={"q": "哪个部门三公经费最低"}).json()["value"] == 11.3
