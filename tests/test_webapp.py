"""The analyst's web app at / driven in headless Chromium (pip playwright + Debian chromium, never a downloaded browser):
ask (chart, evidence, errors, state cleared), the evidence viewer (the cell boxed on the right PDF page, a text line in
context), browse + CSV/Parquet download, upload + progress, audit issues, /docs offline, phone width and keyboard use.
Every request leaving 127.0.0.1 is blocked and must not happen. Screenshots go to a folder the test prints."""

from __future__ import annotations

import io
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from conftest import REALDOCS
from qa_store import CORPUS, build_store

from yusuan.api.app import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
JIANGSU_NPC = REALDOCS / "jiangsu-open-budget" / "江苏省人大办公厅" / "江苏省人大常委会办公厅2019年部门预算公开表.pdf"
SHANGHAI_WATER = REALDOCS / "cities-2026" / "001_上海" / "2026年上海市水务局_部门预算.pdf"
UPLOADED = REALDOCS / "cities-2026" / "001_上海" / "2026年上海市卫生健康委员会_部门预算.pdf"
WAIT_MS = 60_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on a free port over the 5 corpus texts and two real PDFs: (base url, store connection factory)."""
    import uvicorn

    from yusuan.config import db_path
    from yusuan.extract.batch import run_batch
    from yusuan.store import Store

    data = build_store(tmp_path_factory.mktemp("webapp-store"))
    with Store(db_path(data)) as store:
        run_batch([JIANGSU_NPC, SHANGHAI_WATER], store, workers=1)
    app = create_app(data)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def shots(tmp_path_factory, request):
    folder = tmp_path_factory.mktemp("webapp-screenshots")
    yield folder
    with request.config.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
        print(f"\n[webapp] screenshots: {folder}")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "chromium not installed: apt-get install -y chromium (see .ci/run)"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    """A fresh page; requests to any other host are aborted and recorded, page errors are recorded; both must stay empty."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    outside: list[str] = []
    errors: list[str] = []

    def route(r):
        if r.request.url.startswith(server):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    tab = context.new_page()
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.set_default_timeout(WAIT_MS)
    yield tab
    context.close()
    assert not outside, f"requests left the server: {outside}"
    assert not errors, errors


def ask(page, question: str) -> str:
    page.fill("#q", question)
    page.click("#go")
    page.wait_for_selector("#answer[data-done='1']")
    return page.inner_text("#answer")


def test_ask_chart_evidence_viewer_on_pdf_page(page, server, shots):
    page.goto(server + "/")
    answer = ask(page, "哪个部门三公经费最高")
    assert "江苏省人大常委会办公厅" in answer and "767.60万元" in answer
    # ranking → labelled bars, one label per bar, no two bars with the same label and value
    bars = page.locator("#chart g.bar-group")
    labels = [bars.nth(i).locator("text").first.text_content() for i in range(bars.count())]
    assert len(labels) >= 2 and all(labels) and len(set(labels)) == len(labels)
    # the documents without the figure are listed once, below the answer, not inside it as well
    not_covered = page.inner_text("#nc")
    assert "中共衡东县委组织部" in not_covered and "中共衡东县委组织部" not in answer
    assert not page.is_hidden("#plan-box")
    page.screenshot(path=str(shots / "01-ask-rank.png"), full_page=True)

    # the figure in the answer opens its cell on page 9 of the PDF, boxed, with the text PDFium reads inside the box
    page.click("#answer button.val")
    page.wait_for_selector("#page-img")
    assert "/page/9.png" in page.get_attribute("#page-img", "src")
    page.wait_for_function("document.getElementById('page-img').complete && document.getElementById('page-img').naturalWidth > 0")
    box = page.locator("#bbox").bounding_box()
    image = page.locator("#page-img").bounding_box()
    assert box and image and box["width"] > 5 and box["height"] > 5
    assert image["x"] <= box["x"] and box["x"] + box["width"] <= image["x"] + image["width"] + 1
    side = page.inner_text("#viewer-side")
    assert "框内文字" in side and "767.60" in side
    assert "第 9 / 13 页" in page.inner_text("#page-label")
    page.screenshot(path=str(shots / "02-evidence-pdf-page.png"))
    page.keyboard.press("Escape")
    assert not page.locator("#viewer").is_visible()


def test_ask_errors_clear_state_and_year_lines(page, server, shots):
    page.goto(server + "/")
    ask(page, "哪个部门三公经费最高")
    assert page.locator("#evidence tbody tr").count() >= 1 and page.is_visible("#chart-card")
    # a too-long question: a Chinese message and nothing left from the previous answer
    answer = ask(page, "三公经费" * 130)
    assert "问题太长" in answer
    assert page.locator("#evidence tbody tr").count() == 0 and page.is_hidden("#chart-card") and page.inner_text("#nc") == ""
    page.screenshot(path=str(shots / "03-ask-too-long.png"), full_page=True)
    # a change over years → a line chart over the years, its points open the evidence
    answer = ask(page, "绍兴市委组织部2022年三公经费比上年增加多少")
    assert "0.58万元" in answer
    assert page.locator("#chart polyline.series").count() == 1 and page.locator("#chart circle.point").count() == 2
    page.screenshot(path=str(shots / "04-ask-years-line.png"), full_page=True)
    # a narrative figure in a text document: its line in context, the figure marked
    page.locator("#evidence tbody button.val").first.click()
    page.wait_for_selector("#context .target")
    target = page.inner_text("#context .target")
    assert "22.50" in target and page.locator("#context div").count() > 3
    page.screenshot(path=str(shots / "05-evidence-text-line.png"))


def test_browse_sort_and_download(page, server, shots):
    import pyarrow.parquet as pq

    page.goto(server + "/#browse")
    page.wait_for_selector("#docs-table tbody tr")
    assert page.locator("#docs-table tbody tr").count() == 7
    page.click("#docs-table button.val:has-text('江苏省人大常委会办公厅2019年部门预算公开表.pdf')")
    page.wait_for_selector("#doc-card:not([hidden])")
    assert "缺 国有资本经营支出表" in page.inner_text("#doc-coverage")
    page.select_option("#kind", "function_line")
    page.wait_for_selector("#rec-info:has-text('功能分类科目')")
    info = page.inner_text("#rec-info")
    total = int(info.split("共 ")[1].split(" 条")[0])
    assert total > 0
    # sort by 合计, largest first
    page.click("#records-table th button:has-text('合计')")
    page.wait_for_selector("#records-table th[aria-sort='ascending']")
    page.click("#records-table th button:has-text('合计')")
    page.wait_for_selector("#records-table th[aria-sort='descending']")
    column = [page.locator("#records-table th").nth(i).inner_text() for i in range(page.locator("#records-table th").count())]
    index = next(i for i, name in enumerate(column) if name.startswith("合计"))
    cells = page.locator(f"#records-table tbody tr td:nth-child({index + 1})")
    shown = [float(cells.nth(i).inner_text().replace(",", "")) for i in range(min(5, cells.count())) if cells.nth(i).inner_text()]
    assert shown == sorted(shown, reverse=True) and len(shown) >= 2
    page.screenshot(path=str(shots / "06-browse-records.png"), full_page=True)

    with page.expect_download() as download:
        page.click("#dl-csv")
    body = Path(download.value.path()).read_bytes()
    assert body.startswith(b"\xef\xbb\xbf")
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("record_id,") and len(lines) - 1 == total
    with page.expect_download() as download:
        page.click("#dl-parquet")
    table = pq.read_table(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert table.num_rows == total and set(table.column("doc_id").to_pylist()) == {table.column("doc_id")[0].as_py()}

    # a number in the table opens its cell on its page
    page.locator("#records-table tbody button.val").first.click()
    page.wait_for_selector("#bbox")
    assert page.inner_text("#viewer-side").count("框内文字") == 1


def test_upload_progress_and_problems(page, server, shots, tmp_path):
    page.goto(server + "/#upload")
    page.evaluate("""() => { window.statuses = []; new MutationObserver(() => {
        for (const el of document.querySelectorAll('#uploads .status')) {
          const s = el.dataset.status; if (window.statuses[window.statuses.length - 1] !== s) window.statuses.push(s); } })
        .observe(document.getElementById('uploads'), {subtree: true, childList: true, attributes: true}); }""")
    page.set_input_files("#file", str(UPLOADED))
    page.click("#upload-btn")
    page.wait_for_selector("#uploads .problems")
    statuses = page.evaluate("window.statuses")
    order = ["uploading", "queued", "reading", "done"]
    assert statuses[-1] == "done" and [order.index(s) for s in statuses] == sorted(order.index(s) for s in statuses)
    # queued, read and stored are done; the search index is being updated (active) or done, whichever it is by now
    assert [page.locator("#uploads .step").nth(i).get_attribute("class") for i in range(3)] == ["step done"] * 3
    assert page.locator("#uploads .step").nth(3).get_attribute("class") in ("step active", "step done")
    assert "已入库" in page.inner_text("#uploads .status")
    page.screenshot(path=str(shots / "07-upload-done.png"), full_page=True)

    # a file that is not a budget disclosure fails with a Chinese reason; its name (markup) is shown as text
    odd = tmp_path / "<img src=x onerror=alert(1)>.txt"
    shutil.copy(CORPUS / "SOURCES.md", odd)
    page.set_input_files("#file", str(odd))
    page.click("#upload-btn")
    page.wait_for_selector("#uploads li:first-child .status:is([data-status='failed'], [data-status='not_budget'])")
    failed = page.inner_text("#uploads li:first-child")
    assert "不是预算/决算公开文件" in failed and "<img src=x" in failed
    assert page.locator("#uploads img").count() == 0
    page.screenshot(path=str(shots / "08-upload-failed.png"), full_page=True)


def test_audit_issues_open_their_page(page, server, shots):
    page.goto(server + "/#browse")
    page.click("#docs-table button.val:has-text('2026年上海市水务局_部门预算.pdf')")
    page.click("#audit-btn")
    page.wait_for_selector("#audit .issue")
    expected = page.evaluate(f"fetch('{server}/documents/' + browse.docId + '/issues').then(r => r.json())")
    assert page.locator("#audit .issue").count() == expected["count"] > 0
    issue = next(i for i in expected["issues"] if i["page"] and i["bbox"])
    page.screenshot(path=str(shots / "09-audit-issues.png"), full_page=True)
    page.click(f"#audit button.val:has-text('查看第{issue['page']}页') >> nth=0")
    page.wait_for_selector("#bbox")
    assert f"/page/{issue['page']}.png" in page.get_attribute("#page-img", "src")
    page.wait_for_function("document.getElementById('page-img').naturalWidth > 0")
    page.screenshot(path=str(shots / "10-audit-evidence.png"))


def test_phone_width_keyboard_and_offline_docs(browser, page, server, shots):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server + "/")
    page.focus("#q")
    page.keyboard.type("各部门项目支出分别是多少")
    page.keyboard.press("Enter")
    page.wait_for_selector("#answer[data-done='1']")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # Tab reaches a figure's evidence button; Enter opens the viewer
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('val')"):
            break
    page.keyboard.press("Enter")
    page.wait_for_selector("#viewer[open] #viewer-side dl")
    page.wait_for_function("document.getElementById('page-img').complete && document.getElementById('page-img').naturalWidth > 0")
    page.screenshot(path=str(shots / "11-phone-evidence.png"))
    page.keyboard.press("Escape")
    page.screenshot(path=str(shots / "12-phone-ask.png"), full_page=True)
    page.goto(server + "/#browse")
    page.wait_for_selector("#docs-table tbody tr")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(shots / "13-phone-browse.png"), full_page=True)
    # the API docs render from locally served Swagger UI assets (the page fixture aborts any other host)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(server + "/docs")
    page.get_by_text("/evidence/record/{record_id}", exact=True).first.wait_for()
    page.screenshot(path=str(shots / "14-docs-offline.png"))
