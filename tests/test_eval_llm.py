"""The "llm" extractor against a local fake OpenAI-compatible chat server (127.0.0.1, random port, self-stopping)."""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from eval_support import GOLD_RECORDS, make_pdf, write_fixture

from yusuan.eval.llm import NOT_CONFIGURED, LLMConfig, LLMError, LLMExtractor, locate, parse_json_content, source_lines
from yusuan.eval.runner import run_extractor
from yusuan.model import Extraction, FunctionLine

MAX_REQUESTS = 40  # the fake server refuses to work past this, so a runaway client cannot loop forever


def _answer_records():
    """What the fake model answers: the gold records without loc (money as printed strings for one), plus junk."""
    records = []
    for kind, items in copy.deepcopy(GOLD_RECORDS).items():
        for item in items:
            item.pop("loc")
            item["kind"] = kind
            records.append(item)
    records[1]["total"] = "150.00"  # a printed number: the extractor turns it into a float
    records.append({"kind": "function_line", "code": "205", "total": 3.0})  # no name → invalid, dropped
    records.append({"kind": "budget_line", "name": "x"})  # unknown kind → dropped
    records.append("not an object")
    return records


class FakeChat(BaseHTTPRequestHandler):
    """Answers POST /v1/chat/completions like an OpenAI chat endpoint; behaviour set on the server object."""

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_POST(self):
        server = self.server
        if len(server.requests) >= MAX_REQUESTS:
            self.send_error(429, "fake server request budget spent")
            return
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        server.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        if server.failures_left > 0:
            server.failures_left -= 1
            self.send_error(503, "warming up")
            return
        if server.mode == "garbage":
            content = "I cannot help with that."
        else:
            answer = {"document": {"department": "测试部门", "year": "2024", "unit_original": "万元"}}
            server.answered += 1
            answer["records"] = _answer_records() if server.answered == 1 else []
            content = json.dumps(answer, ensure_ascii=False)
            if server.mode == "fenced":
                content = f"Here you are:\n```json\n{content}\n```"
        payload = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        }
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def fake_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeChat)
    server.requests = []
    server.mode = "good"
    server.failures_left = 0
    server.answered = 0
    server.timeout = 5
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        assert not thread.is_alive()


def _config(server, **extra) -> LLMConfig:
    host, port = server.server_address[:2]
    return LLMConfig(base_url=f"http://{host}:{port}/v1", model="fake-model", timeout=5, **extra)


def test_not_configured(monkeypatch, tmp_path):
    for name in ("YUSUAN_LLM_BASE_URL", "YUSUAN_LLM_MODEL", "YUSUAN_LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    extractor = LLMExtractor()
    assert extractor.available() == NOT_CONFIGURED
    assert "LLM extractor not configured" in NOT_CONFIGURED
    with pytest.raises(LLMError, match="LLM extractor not configured"):
        extractor.extract(write_fixture(tmp_path).source_path)
    result = run_extractor(extractor, [write_fixture(tmp_path)])
    assert result.unavailable == NOT_CONFIGURED and result.docs == []


def test_configured_from_environment(monkeypatch):
    monkeypatch.setenv("YUSUAN_LLM_BASE_URL", "http://127.0.0.1:9/v1/")
    monkeypatch.setenv("YUSUAN_LLM_MODEL", "m")
    config = LLMConfig.from_env()
    assert config.endpoint == "http://127.0.0.1:9/v1/chat/completions"
    assert LLMExtractor().available() is None


def test_llm_extractor_against_fake_server(fake_server, tmp_path):
    fixture = write_fixture(tmp_path)
    extractor = LLMExtractor(_config(fake_server, api_key="secret", max_chars=100000))
    with pytest.warns(UserWarning, match="dropped"):
        extraction = extractor.extract(fixture.source_path)
    assert isinstance(extraction, Extraction)
    assert len(extractor.last_warnings) == 3
    assert extraction.document.department == "测试部门" and extraction.document.year == 2024
    lines = {r.code: r for r in extraction.records if isinstance(r, FunctionLine)}
    assert lines["201"].total == 150.0
    # provenance comes from locating the values in the source, not from the model
    assert {code: r.provenance.line for code, r in lines.items()} == {
        None: 4, "201": 5, "20101": 6, "2010101": 7, "2010102": 8
    }
    request = fake_server.requests[0]
    assert request["auth"] == "Bearer secret"
    assert request["body"]["model"] == "fake-model"
    user = request["body"]["messages"][-1]["content"]
    assert "L5:" in user and "一般公共服务支出" in user


def test_llm_scores_through_the_harness(fake_server, tmp_path):
    fixture = write_fixture(tmp_path)
    with pytest.warns(UserWarning):
        result = run_extractor(LLMExtractor(_config(fake_server, max_chars=100000)), [fixture])
    overall = result.metrics()["overall"]
    assert overall["record"]["f1"] == 1.0
    assert overall["numeric_f1"] == 1.0
    assert overall["provenance_hit"] == 1.0
    assert result.version == "1.0+fake-model"


def test_chunks_retries_and_fenced_answers(fake_server, tmp_path):
    fixture = write_fixture(tmp_path)
    fake_server.mode = "fenced"
    fake_server.failures_left = 1  # one 503, then answers
    with pytest.warns(UserWarning):
        extraction = LLMExtractor(_config(fake_server, max_chars=200)).extract(fixture.source_path)
    assert len(fake_server.requests) > 2  # 1 refused + several chunks
    assert len(extraction.records) == sum(len(v) for v in GOLD_RECORDS.values())


def test_garbage_answer_is_an_error(fake_server, tmp_path):
    fake_server.mode = "garbage"
    fixture = write_fixture(tmp_path)
    with pytest.raises(LLMError, match="not JSON"):
        LLMExtractor(_config(fake_server)).extract(fixture.source_path)
    result = run_extractor(LLMExtractor(_config(fake_server)), [fixture])
    assert result.docs[0].status == "failed"


def test_unreachable_endpoint(tmp_path):
    config = LLMConfig(base_url="http://127.0.0.1:9/v1", model="m", timeout=1, retries=0)
    with pytest.raises(LLMError, match="cannot reach"):
        LLMExtractor(config).chat([{"role": "user", "content": "hi"}])


def test_parse_json_content():
    assert parse_json_content('{"records": []}') == {"records": []}
    assert parse_json_content('```json\n{"records": [1]}\n```') == {"records": [1]}
    assert parse_json_content('sure: {"records": []} done') == {"records": []}
    assert parse_json_content("[]") == {"records": []}


def test_locate_on_a_pdf_page(tmp_path):
    pytest.importorskip("reportlab")
    rows = [["科目编码", "科目名称", "合计"], ["201", "一般公共服务支出", "1,500,000.00"]]
    pdf = make_pdf(tmp_path / "t.pdf", "2024年部门支出预算总表", "单位：元", rows)
    found = locate({"kind": "function_line", "code": "201", "name": "一般公共服务支出", "total": 150.0},
                   source_lines(pdf))
    assert found is not None and found.page == 1 and "201" in found.text
