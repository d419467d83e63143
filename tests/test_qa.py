from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import duckdb
import pytest
from qa_store import build_store

from yusuan.config import db_path
from yusuan.qa.engine import Engine, ask
from yusuan.qa.plan import QueryPlan, Target, parse_question
from yusuan.qa.vocabulary import Vocabulary, department_aliases


def vocab(departments, years=(), regions=()):
    """A vocabulary of department names only (no store): what the parser sees of them."""
    return Vocabulary(departments={d: None for d in departments}, regions=list(regions), years=list(years), names={})


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("qa-store"))


def test_headline_superlative(data):
    a = ask("哪个部门三公经费最高", data)
    assert a.plan.intent == "rank" and a.plan.target.key == "sangong_total"
    assert "中共绍兴市委组织部" in a.answer and "22.50万元" in a.answer
    assert a.value == pytest.approx(22.5) and a.unit == "万元"
    ev = a.evidence[0]
    assert ev.source.endswith("000_acf85bf0026b4684.txt") and ev.line and ev.raw == "22.50"
    missing = {row["department"] for row in a.not_covered}
    assert {"中共衡东县委组织部", "中共江苏省委组织部"} <= missing
    assert "没有" in a.answer and "不计为0" in a.answer


def test_lookup_alias_and_units(data):
    a = ask("山海关区委组织部2023年公务接待费是多少元", data)
    assert a.plan.intent == "lookup" and a.plan.departments == ["中共秦皇岛市山海关区委组织部"]
    assert a.unit == "元" and a.value == pytest.approx(3000)
    a = ask("中共绍兴市委组织部22年项目支出是多少", data)
    assert a.value == pytest.approx(3599.92) and a.plan.years == [2022]


def test_aliases():
    assert {"市委组织部", "绍兴市委组织部"} <= department_aliases("中共绍兴市委组织部")
    assert "省检察院" in department_aliases("江苏省人民检察院")
    match = vocab(["江苏省人民检察院", "中共绍兴市委组织部"]).find_departments("省检察院今年的三公经费")
    assert match.names == ["江苏省人民检察院"]
    # shortened names people type, read as a subsequence of one department's name
    depts = vocab(["江苏省高级人民法院", "江苏省人民检察院", "中共上海市普陀区委社会工作部", "上海市普陀区规划和自然资源局"])
    assert depts.find_departments("省高院2018年三公经费").names == ["江苏省高级人民法院"]
    assert depts.find_departments("普陀区社工部三公经费").names == ["中共上海市普陀区委社会工作部"]
    assert depts.find_departments("普陀规划资源局").names == ["上海市普陀区规划和自然资源局"]


def test_ambiguous_and_unknown_departments_are_not_widened():
    v = Vocabulary(departments={"上海市财政局": "上海市", "上海市普陀区财政局": "上海市普陀区"},
                   regions=["上海市", "上海市普陀区"], years=[2025], names={})
    plan = parse_question("财政局2025年三公经费预算是多少？", v)
    assert sorted(plan.candidates) == ["上海市普陀区财政局", "上海市财政局"] and not plan.departments
    assert parse_question("普陀财政局2025年三公经费", v).departments == ["上海市普陀区财政局"]
    plan = parse_question("普陀区教育局2025年三公经费", v)
    assert not plan.departments and not plan.candidates


def test_topk(data):
    a = ask("项目支出最高的前三个部门", data)
    assert a.plan.intent == "rank" and a.plan.k == 3
    assert [r["value"] for r in a.rows] == pytest.approx([3599.92, 442.65])


def test_compare(data):
    a = ask("山海关区委组织部和绍兴市委组织部三公经费谁高", data)
    assert a.plan.intent == "compare"
    assert a.value == pytest.approx(11.2)
    assert a.answer.startswith("中共绍兴市委组织部")


def test_sum_and_count(data):
    a = ask("三公经费一共多少", data)
    assert a.plan.intent == "sum" and a.value == pytest.approx(33.8)
    a = ask("有多少个部门有三公经费", data)
    assert a.plan.intent == "count" and a.value == 2


def test_change_from_facts(data):
    a = ask("绍兴市委组织部2022年三公经费比上年增加多少", data)
    assert a.plan.intent == "change" and a.value == pytest.approx(0.58)
    assert "2.6%" in a.answer and a.evidence[0].line == 164


def test_share(data):
    a = ask("绍兴市委组织部三公经费占支出总计的比例", data)
    assert a.plan.intent == "share" and a.value == pytest.approx(0.43)


def test_indicator_filter(data):
    a = ask("满意度指标≥95%的项目有哪些", data)
    assert a.plan.intent == "list" and a.plan.items == "indicator" and a.plan.threshold == 95
    assert all(r["value_num"] >= 95 and "满意" in r["level3"] and r["operator"] in ("≥", "=") for r in a.rows)
    projects = {r["project"] for r in a.rows}
    assert "干部教育经费" in projects and "全县组织工作及组工干部培训经费等" in projects
    assert "部机关业务费" not in projects  # ≥90 only


def test_unknown_metric(data):
    a = ask("市委组织部的招待所面积是多少", data)
    assert a.plan.intent == "unknown" and "没能识别" in a.answer and a.value is None


def test_ambiguity_two_years(data):
    a = ask("市委组织部有多少个项目", data)
    assert "2份文档" in a.answer and "2022年" in a.answer and "2019年" in a.answer
    a = ask("市委组织部三公经费是多少", data)
    assert a.value == pytest.approx(22.5)
    assert any(row["year"] == 2019 for row in a.not_covered) and "2019年" in a.answer


def test_today_is_latest_year():
    plan = parse_question("今年三公经费最高的部门", vocab(["甲部门"], [2019, 2024]))
    assert plan.years == [2024] and plan.intent == "rank"
    plan = parse_question("2017到2019年三公经费一共多少", vocab(["甲部门"], [2017, 2018, 2019]))
    assert plan.years == [2017, 2018, 2019] and plan.intent == "sum"


def test_plan_params_never_sql(data):
    # a hostile department-ish string is just a parameter: no error, no rows
    a = ask("'; DROP TABLE sangong; --部的三公经费", data)
    assert a is not None
    con = duckdb.connect(str(db_path(data)), read_only=True)
    assert con.execute("SELECT count(*) FROM sangong").fetchone()[0] > 0
    con.close()


class _FakeLLM(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length))
        assert body["messages"][0]["role"] == "system"
        plan = {"intent": "lookup", "target": {"kind": "concept", "key": "sangong_reception", "label": "公务接待费"},
                "departments": ["中共秦皇岛市山海关区委组织部"]}
        payload = json.dumps({"choices": [{"message": {"content": "```json\n" + json.dumps(plan) + "\n```"}}]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def test_llm_assist_with_fake_server(data, monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), _FakeLLM)
    server.timeout = 5
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("YUSUAN_LLM_BASE_URL", f"http://127.0.0.1:{server.server_port}/v1")
        monkeypatch.setenv("YUSUAN_LLM_MODEL", "fake")
        a = ask("山海关那边迎来送往花了多少钱", data)
        assert a.plan.source == "llm" and a.value == pytest.approx(0.3)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_llm_invalid_plan_is_rejected(data):
    con = duckdb.connect(str(db_path(data)), read_only=True)
    try:
        with pytest.raises(ValueError):
            QueryPlan.model_validate({"intent": "drop_tables"})
        a = Engine(con, data).run("x", QueryPlan(intent="lookup", target=Target(kind="concept", key="nonexistent", label="x")))
        assert a.value is None and a.no_data
    finally:
        con.close()


def test_qa_eval_runs(data, capsys):
    from pathlib import Path

    from yusuan.qa.evaluate import format_report, run_qa_eval

    root = Path(__file__).resolve().parents[1] / "eval"
    report = run_qa_eval(root / "qa_questions.jsonl", data)
    grounded = run_qa_eval(root / "qa_questions_grounded.jsonl", data)
    with capsys.disabled():
        print("\n[qa corpus] " + format_report(report) + "\n[qa grounded] " + format_report(grounded))
    assert report["n"] >= 37 and report["correct"] == report["n"], format_report(report)
    assert grounded["correct"] == grounded["n"] == 13, format_report(grounded)


def test_subjects_projects_and_narrative_metrics(data):
    a = ask("中共绍兴市委组织部2022年一般公共服务支出预算是多少？", data)
    assert a.plan.target.key == "一般公共服务支出" and a.value == pytest.approx(2331.31)
    a = ask("中共绍兴市委组织部2022年“干部教育培训”项目预算是多少？", data)
    assert a.plan.target.kind == "project" and a.plan.intent == "lookup" and a.value == pytest.approx(1190)
    a = ask("2019年绍兴市委组织部“办公设备更新”项目安排了多少资金", data)
    assert a.value == pytest.approx(4.2) and "办公设备更新" in a.answer
    a = ask("中共江苏省委组织部2024年部门整体资金总额是多少", data)
    assert a.value == pytest.approx(14379.06)
    a = ask("中共绍兴市委组织部2022年政府采购预算总额是多少", data)
    assert a.plan.target.key == "procurement" and a.value == pytest.approx(2392.04)  # not the 货物/服务 parts
    a = ask("山海关区委组织部2023年机关运行经费安排了多少", data)
    assert a.plan.target.key == "operating_cost" and a.value == pytest.approx(51.67)


def test_new_department_aliases():
    assert {"万里街道", "万里街道办事处", "普陀区万里街道办事处"} <= department_aliases("上海市普陀区人民政府万里街道办事处")
    assert {"普陀区商务委", "商务委员会"} <= department_aliases("上海市普陀区商务委员会")
    assert {"省法院", "省高级法院", "江苏省高级法院"} <= department_aliases("江苏省高级人民法院")
    plan = parse_question("省法院和省检察院谁的公用经费高", vocab(["江苏省高级人民法院", "江苏省人民检察院"], [2019]))
    assert plan.intent == "compare" and sorted(plan.departments) == ["江苏省人民检察院", "江苏省高级人民法院"]


def test_catalog_follows_the_store(tmp_path):
    """The alias index and the materialised tables are cached per store version: adding a document is seen."""
    from qa_store import CORPUS

    from yusuan.config import db_path
    from yusuan.extract.batch import run_batch
    from yusuan.store import Store

    with Store(db_path(tmp_path)) as store:
        run_batch([CORPUS / "000_acf85bf0026b4684.txt"], store, workers=1)
    a = ask("山海关区委组织部三公经费是多少", tmp_path)
    assert a.value is None and not a.plan.departments
    assert ask("哪个部门三公经费最低", tmp_path).value == pytest.approx(22.5)
    with Store(db_path(tmp_path)) as store:
        run_batch([CORPUS / "002_6885cbf63360e79d.txt"], store, workers=1)
    a = ask("山海关区委组织部三公经费是多少", tmp_path)
    assert a.plan.departments == ["中共秦皇岛市山海关区委组织部"] and a.value == pytest.approx(11.3)
    assert ask("哪个部门三公经费最低", tmp_path).value == pytest.approx(11.3)


def test_long_answers_are_capped(data):
    from yusuan.qa.engine import MAX_NAMED, MAX_ROWS

    a = ask("满意度指标≥0%的项目有哪些", data)
    assert len(a.rows) <= MAX_ROWS and len(a.evidence) <= MAX_ROWS
    assert a.answer.count("、") <= MAX_NAMED
    assert a.value == len({(r["department"], r["year"], r["project"]) for r in a.rows}) or a.value > len(a.rows) / 10


def test_measure_and_party_committee_names():
    assert {"江苏省委办公厅", "省委办公厅"} <= department_aliases("中国共产党江苏省委员会办公厅")
    depts = vocab(["上海市普陀区财政局"], [2024])
    assert parse_question("普陀区财政局2024年三公经费决算是多少", depts).measure == "决算数"
    assert parse_question("普陀区财政局2024年决算中三公经费年初预算数", depts).measure == "预算数"
    assert parse_question("普陀区财政局2024年三公经费", depts).measure is None
    plan = parse_question("普陀区民政局三公经费是多少", depts)
    assert plan.unknown_departments == ["普陀区民政局"] and not plan.departments
    plan = parse_question("万里街道2024年到2025年三公经费变化多少", vocab(["上海市普陀区人民政府万里街道办事处"], [2024, 2025]))
    assert plan.intent == "change" and plan.years == [2024, 2025]
    plan = parse_question("普陀区财政局2024年三公经费完成率", depts)
    assert plan.intent == "execution"
