from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import duckdb
import pytest
from conftest import printed
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
    assert a.value == printed(22.5) and a.unit == "万元"
    ev = a.evidence[0]
    assert ev.source.endswith("000_acf85bf0026b4684.txt") and ev.line and ev.raw == "22.50"
    missing = {row["department"] for row in a.not_covered}
    assert {"中共衡东县委组织部", "中共江苏省委组织部"} <= missing
    assert "没有" in a.answer and "不计为0" in a.answer


def test_lookup_alias_and_units(data):
    a = ask("山海关区委组织部2023年公务接待费是多少元", data)
    assert a.plan.intent == "lookup" and a.plan.departments == ["中共秦皇岛市山海关区委组织部"]
    assert a.unit == "元" and a.value == printed(3000)
    a = ask("中共绍兴市委组织部22年项目支出是多少", data)
    assert a.value == printed(3599.92) and a.plan.years == [2022]


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
    assert [r["value"] for r in a.rows] == printed([3599.92, 442.65])


def test_compare(data):
    a = ask("山海关区委组织部和绍兴市委组织部三公经费谁高", data)
    assert a.plan.intent == "compare"
    assert a.value == printed(11.2)
    assert a.answer.startswith("中共绍兴市委组织部")


def test_sum_and_count(data):
    a = ask("三公经费一共多少", data)
    assert a.plan.intent == "sum" and a.value == printed(33.8)
    a = ask("有多少个部门有三公经费", data)
    assert a.plan.intent == "count" and a.value == 2


def test_change_from_facts(data):
    a = ask("绍兴市委组织部2022年三公经费比上年增加多少", data)
    assert a.plan.intent == "change" and a.value == printed(0.58)
    assert "2.6%" in a.answer and a.evidence[0].line == 164


def test_share(data):
    a = ask("绍兴市委组织部三公经费占支出总计的比例", data)
    assert a.plan.intent == "share" and a.value == printed(0.43)


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
    assert a.value == printed(22.5)
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
        assert a.plan.source == "llm" and a.value == printed(0.3)
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
    assert a.plan.target.key == "一般公共服务支出" and a.value == printed(2331.31)
    a = ask("中共绍兴市委组织部2022年“干部教育培训”项目预算是多少？", data)
    assert a.plan.target.kind == "project" and a.plan.intent == "lookup" and a.value == printed(1190)
    a = ask("2019年绍兴市委组织部“办公设备更新”项目安排了多少资金", data)
    assert a.value == printed(4.2) and "办公设备更新" in a.answer
    a = ask("中共江苏省委组织部2024年部门整体资金总额是多少", data)
    assert a.value == printed(14379.06)
    a = ask("中共绍兴市委组织部2022年政府采购预算总额是多少", data)
    assert a.plan.target.key == "procurement" and a.value == printed(2392.04)  # not the 货物/服务 parts
    a = ask("山海关区委组织部2023年机关运行经费安排了多少", data)
    assert a.plan.target.key == "operating_cost" and a.value == printed(51.67)


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
    assert ask("哪个部门三公经费最低", tmp_path).value == printed(22.5)
    with Store(db_path(tmp_path)) as store:
        run_batch([CORPUS / "002_6885cbf63360e79d.txt"], store, workers=1)
    a = ask("山海关区委组织部三公经费是多少", tmp_path)
    assert a.plan.departments == ["中共秦皇岛市山海关区委组织部"] and a.value == printed(11.3)
    assert ask("哪个部门三公经费最低", tmp_path).value == printed(11.3)


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


def _placed(departments: dict[str, str], years=(2017, 2018, 2019, 2025, 2026)) -> Vocabulary:
    return Vocabulary(departments=departments, regions=sorted(set(departments.values())), years=list(years), names={})


WUXI = {name: "无锡市" for name in ("无锡市统计局", "无锡市商务局", "无锡市人力资源和社会保障局", "无锡市应急管理局",
                                   "无锡市应急管理综合行政执法监督局", "无锡市教育局", "无锡市教育局(本级)")}
HUZHOU = {"湖州市商务局": "湖州市", "湖州市卫生健康委员会": "湖州市"}


def test_department_lists_share_the_place_named_once():
    v = _placed({**WUXI, **HUZHOU})
    plan = parse_question("无锡统计局、人社局、商务局、应急局2026年三公经费均值多少", v)
    assert plan.intent == "average" and set(plan.departments) == {
        "无锡市统计局", "无锡市人力资源和社会保障局", "无锡市商务局", "无锡市应急管理局"}
    stems = parse_question("无锡这4个部门(统计/人社/商务/应急)2026年三公经费最低两个是哪两个", v)
    assert stems.intent == "rank" and stems.k == 2 and len(stems.departments) == 4
    assert "无锡市应急管理局" in stems.departments  # the shortest name on a tie: 应急 is 应急管理局


def test_unknown_place_and_own_units():
    v = _placed({**WUXI, **HUZHOU})
    plan = parse_question("嘉兴市卫健委和湖州市卫健委2026年三公经费谁高", v)
    assert plan.intent == "compare" and plan.unknown_departments == ["嘉兴市卫健委"]
    assert parse_question("教育局2026年三公经费是多少", v).candidates == ["无锡市教育局", "无锡市教育局(本级)"]
    assert parse_question("无锡教育局2026年三公经费是多少", v).departments == ["无锡市教育局"]


def test_years_conditions_and_composed_filters():
    v = _placed({"江苏省人民检察院": "江苏省", "江苏省政协办公厅": "江苏省", **HUZHOU})
    assert parse_question("省检察院17、18、19三年的三公经费预算各是多少", v).years == [2017, 2018, 2019]
    series = parse_question("政协江苏17到19年三公经费怎么变的", v)
    assert series.departments == ["江苏省政协办公厅"] and series.years == [2017, 2018, 2019] and series.intent == "series"
    rich = parse_question("湖州2026年项目支出过亿的部门有几个", v)
    assert (rich.intent, rich.operator, rich.threshold) == ("count", ">", 10000.0)
    assert parse_question("湖州2026年三公经费在50万元以上的部门几个", v).operator == "≥"
    share = parse_question("湖州2026年项目支出占比超过90%的有几个", v)
    assert share.intent == "count" and share.share_condition and share.threshold == 90.0
    fell = parse_question("湖州商务局、卫健委中2025年三公经费比2026年减少的有几家", v)
    assert fell.intent == "count" and fell.change == "decrease"


def test_reasons_and_final_accounts_read_from_the_text():
    from yusuan.qa.sentences import execution_statements, reason_passages, stated_none, target_words

    def rows(*texts, paragraph=1):
        return [{"doc_id": "d", "paragraph": paragraph + i, "position": 0, "page": 20, "line": i, "text": t}
                for i, t in enumerate(texts)]

    # 上海市信访办公室 2026 p.20: the total's change is explained by its parts
    doc = rows("2026年“三公”经费预算数为84.00万元,比2025年预算增加21.00万元。", "其中:(一)因公出国(境)费30.00万元,与2025年预算持平。",
               "(二)公务用车购置及运行费49.00万元,比2025年预算增加21.00万元,主要原因是增加6辆公务用车运维费。")
    best = reason_passages(doc, target_words(["三公经费"]), "三公经费为什么增加")[0]
    assert "6辆公务用车运维费" in "".join(r["text"] for r in best["rows"])
    # 上海市普陀区财政局 2024 决算 p.22: the 科目 named before its statement
    final = rows("一般公共服务支出(类)财政事务(款)行政运行(项)。", "主要用于:机关运行支出。",
                 "年初预算为1560.05万元,支出决算为1511.89万元,完成年初预算的96.91%。")
    (s,) = execution_statements(final, target_words(["行政运行"]), ["财政事务"])
    assert (s["budget"], s["final"], s["stated_rate"]) == (1560.05, 1511.89, 96.91)
    assert stated_none(rows("中共上海市普陀区委社会工作部2024 年度无“三公”经费财政拨款支出。"), target_words(["三公经费"]))


JIANGSU = {"江苏省人大常委会办公厅": "江苏省", "江苏省政协办公厅": "江苏省", "江苏省高级人民法院": "江苏省",
           "江苏省人民检察院": "江苏省", "中共江苏省委办公厅": "江苏省"}


def test_rate_words_ask_growth_and_cut_words_ask_change():
    v = _placed(JIANGSU)
    for q in ("江苏人大2019年三公经费比上年降了百分之多少", "江苏人大2019年三公经费同比变化率", "省法院2019年公务接待费跌幅多大",
              "省检察院2019年三公经费少了几成", "江苏政协2019年三公经费增速是多少", "省人大2019年出国费变动幅度"):
        assert parse_question(q, v).intent == "growth", q
    for q in ("江苏人大2019年三公经费压减了多少", "省法院2019年三公经费比上年少了多少", "省检察院2019年公务接待费调减多少万元",
              "江苏政协2019年三公经费比上年多了多少"):
        assert parse_question(q, v).intent == "change", q


def test_year_ranges_sums_and_conditions_over_years():
    v = _placed(JIANGSU, years=(2017, 2018, 2019, 2025, 2026))
    for q in ("省法院2017—2019三年的三公经费合计", "省法院2017–2019年三公经费加起来多少", "省法院2017~2019年三公经费总共多少",
              "省法院17/18/19年三公经费一共多少", "省法院2017至2019年三公经费之和"):
        plan = parse_question(q, v)
        assert plan.intent == "sum" and plan.years == [2017, 2018, 2019], q
    recent = parse_question("省法院近三年三公经费合计多少", v)
    assert recent.intent == "sum" and recent.recent == 3
    count = parse_question("省检察院2017到2019年有几年三公经费超过600万", v)
    assert (count.intent, count.operator, count.threshold) == ("count", ">", 600.0)


def test_joined_short_names_share_their_place():
    v = _placed(JIANGSU)
    plan = parse_question("江苏人大和政协2019年三公经费谁高", v)
    assert plan.intent == "compare" and plan.departments == ["江苏省人大常委会办公厅", "江苏省政协办公厅"]
    both = parse_question("江苏人大与政协2019年三公经费分别是多少", v)
    assert both.intent == "lookup" and len(both.departments) == 2
    after_exact = parse_question("省委办公厅和省政协2018年机关运行经费相差多少", v)
    assert set(after_exact.departments) == {"中共江苏省委办公厅", "江苏省政协办公厅"} and after_exact.intent == "compare"


def test_colloquial_pieces_compose_with_printed_terms():
    v = _placed(JIANGSU)
    assert parse_question("江苏人大2019年公车购置费是多少", v).target.key == "sangong_vehicle_purchase"
    assert parse_question("江苏人大2019年公车运行费多少", v).target.key == "sangong_vehicle_operation"
    assert parse_question("江苏人大2019年公车花了多少", v).target.key == "sangong_vehicle_total"
    share = parse_question("江苏人大2019年公务接待费在三公里占几成", v)
    assert share.intent == "share" and (share.target.key, share.denominator.key) == ("sangong_reception", "sangong_total")


def test_projects_by_typed_name_and_indicator_values():
    projects = {name: name for name in ("全市会计人员考培", "财政票据综合管理", "信息化建设与运维")}
    v = Vocabulary(departments={"湖州市财政局": "湖州市"}, regions=["湖州市"], years=[2026], names={"project": projects})
    for q, name in (("湖州财政局2026年会计人员考培项目预算安排多少", "全市会计人员考培"),
                    ("湖州财政局2026年财政票据管理项目安排了多少钱", "财政票据综合管理"),
                    ("湖州财政局2026年信息化建设运维项目有多少预算", "信息化建设与运维")):
        plan = parse_question(q, v)
        assert plan.intent == "lookup" and plan.target.kind == "project" and plan.target.key == name, q
    assert parse_question("湖州财政局2026年有几个项目", v).target.key == "*"
    value = parse_question("湖州财政局2026年财政票据综合管理项目的票据发放数量的全年指标值", v)
    assert value.items == "indicator" and value.intent == "lookup" and value.keyword == "票据发放数量"


def test_why_words_and_the_whole_budget():
    v = _placed(JIANGSU)
    for q in ("江苏人大2019年三公经费为啥减少", "江苏人大2019年三公经费咋减少了", "江苏人大2019年三公经费怎么会下降",
              "江苏人大2019年三公经费减少的原因是什么"):
        plan = parse_question(q, v)
        assert plan.intent == "why" and plan.target.key == "sangong_total", q
    whole = parse_question("江苏人大2019年预算为啥增加了", v)
    assert whole.intent == "why" and whole.target.key == "grand_total"


def test_execution_with_the_budget_stated_in_the_question():
    v = _placed(JIANGSU)
    plan = parse_question("江苏人大2019年公务接待费全年预算17.68万元，实际用了多少，执行率几成", v)
    assert plan.intent == "execution" and plan.given_budget == 17.68


def test_indicator_value_and_recent_years(data):
    a = ask("绍兴市委组织部2022年干部教育经费的新增课件数的指标值是多少", data)  # printed: 新增教学课件数 ≥ 200 部
    assert a.plan.items == "indicator" and a.value == 200 and "新增教学课件数" in a.answer and a.evidence[0].raw
    recent = ask("绍兴市委组织部近两年三公经费合计多少", data)
    assert recent.plan.years == [2019, 2022] and recent.plan.intent == "sum"


def test_ask_command_starts_light_and_answers_the_same(data):
    """`yusuan ask` answers a store nothing was written to since from its QA cache, without opening the store: the
    process imports neither typer, pydantic, the record models, the store package nor duckdb's Python layer, and
    prints what the engine answers in-process (--json: the same object)."""
    import subprocess
    import sys

    question = "山海关区委组织部三公经费是多少"
    ask(question, data)  # builds (or opens) the cache and records the store's state
    probe = ("import sys\nfrom yusuan.cli import _ask_without_typer\n"
             "status = _ask_without_typer(sys.argv[1:])\n"
             "heavy = ('typer', 'pydantic', 'yusuan.model', 'yusuan.store', 'duckdb._relation', 'pandas')\n"
             "print('LOADED', sorted(m for m in heavy if m in sys.modules))\nsys.exit(status)\n")
    run = subprocess.run([sys.executable, "-c", probe, question, "--data", str(data)], capture_output=True, text=True,
                         check=True)
    text, loaded = run.stdout.rsplit("LOADED", 1)
    assert loaded.strip() == "[]"
    expected = ask(question, data)
    assert expected.value == printed(11.3) and text.splitlines()[0] == expected.answer
    as_json = subprocess.run([sys.executable, "-m", "yusuan.cli", "ask", question, "--data", str(data), "--json"],
                             capture_output=True, text=True, check=True).stdout
    assert json.loads(as_json) == json.loads(expected.model_dump_json())


@pytest.mark.parametrize(("question", "label"), [
    ("山海关区委组织部差旅是多少", "差旅费"),
    ("山海关区委组织部2023年一般公共服务支初", "一般公共服务支出"),  # a typing slip in a printed line
    ("山海关区委组织部培训的钱是多少", "培训费"),
    ("山海关区委组织部2023年汽车维修花多少", "公务用车运行维护费"),
])
def test_paraphrased_metric_is_read_by_meaning_and_named(data, question, label):
    """Words no vocabulary holds are matched by meaning to one printed item, and the answer says how it read them."""
    a = ask(question, data)
    assert a.plan.target is not None and a.plan.target.label == label and a.value is not None
    assert f"按“{label}”理解" in a.answer


@pytest.mark.parametrize("question", ["山海关区委组织部天气怎么样", "山海关区委组织部员工人数是多少",
                                      "山海关区委组织部办公楼面积多少", "山海关区委组织部房价多少", "山海关区委组织部出差的钱是多少"])
def test_unrelated_or_unclear_words_stay_unanswered(data, question):
    """Nothing close enough in meaning (or two items about as close): no guess."""
    a = ask(question, data)
    assert a.plan.intent == "unknown" and a.value is None and "理解" not in a.answer


def test_paraphrase_vectors_are_cached_with_the_view(data):
    """The vocabulary's vectors are kept in the store version's cache folder, beside its view."""
    from yusuan.qa.semantic import TEXTS, VECTORS

    ask("山海关区委组织部差旅是多少", data)
    folders = [p.parent for p in (data / "qa-cache").glob(f"*/{VECTORS}")]
    assert len(folders) == 1 and (folders[0] / "view.duckdb").exists()
    assert "差旅费" in json.loads((folders[0] / TEXTS).read_text(encoding="utf-8"))


def test_mistyped_department_names_are_read_or_asked_back():
    """One typing slip reads as the department it spoils — two characters swapped, or a slip in a long organ name —
    and the answer says so; a slip two departments are equally near is asked back; one character of a short organ
    name is another department (民政局 is not 财政局), and a far name stays unknown."""
    putuo = {name: "上海市普陀区" for name in ("上海市普陀区司法局", "上海市普陀区财政局", "上海市普陀区人力资源和社会保障局")}
    v = _placed({**putuo, **WUXI, **HUZHOU})
    for typed, name in (("普陀区法司局", "上海市普陀区司法局"), ("无锡市人力资源和社会保瘴局", "无锡市人力资源和社会保障局"),
                        ("无锡市人力资源和社会保降局", "无锡市人力资源和社会保障局")):
        plan = parse_question(f"2025年{typed}三公经费是多少", v)
        assert plan.departments == [name], typed
        assert plan.notes == [f"“{typed}”按“{name}”理解"]
    both = parse_question("2025年人力资源和社会保瘴局三公经费是多少", v)
    assert both.candidates == ["上海市普陀区人力资源和社会保障局", "无锡市人力资源和社会保障局"] and not both.departments
    for other in ("普陀区民政局", "普陀区税务稽查局"):
        plan = parse_question(f"2025年{other}三公经费是多少", v)
        assert not plan.departments and not plan.candidates and plan.unknown_departments, other
    assert parse_question("2026年无锡市商务局三公经费", v).notes == []  # an exact name is never "corrected"


@pytest.mark.parametrize("question", ["绍兴市委组织部2022年培训费占三公经费、会议费、培训费合计的比例",
                                      "2022年绍兴市委组织部培训费占“三公”经费、会议费和培训费之和的百分比是多少"])
def test_share_of_a_whole_the_question_adds_up(data, question):
    """占 A、B、C合计: the whole is the sum of the items named (22.50 + 3.00 + 5.12 = 30.62)."""
    a = ask(question, data)
    assert a.plan.intent == "share" and [t.label for t in a.plan.denominator_parts] == ['"三公"经费', "会议费", "培训费"]
    assert a.value == printed(16.72) and "30.62万元" in a.answer


def test_share_of_a_sum_with_a_missing_item_is_not_answered(data):
    """山海关区委组织部 prints no 会议费 for 2023: the sum is unknown, never the other items with 0 for it."""
    a = ask("山海关区委组织部2023年培训费占三公经费、会议费、培训费合计的比例", data)
    assert a.plan.denominator_parts and a.value is None


@pytest.fixture(scope="module")
def putuo_two_documents(tmp_path_factory):
    """上海市普陀区司法局 2026: its 部门预算 and its 单位预算 (real PDFs)."""
    from conftest import REALDOCS

    from yusuan.extract.batch import run_batch
    from yusuan.store import Store

    data = tmp_path_factory.mktemp("qa-two-documents")
    folder = REALDOCS / "shanghai-putuo-GovBudgetChecker"
    with Store(db_path(data)) as store:
        run_batch([folder / "dept_budget.pdf", folder / "unit_budget.pdf"], store, workers=1)
    return data


@pytest.mark.parametrize("question", ["普陀司法局2026年部门预算和单位预算三公经费差多少",
                                      "2026年普陀区司法局的部门预算与单位预算相比，三公经费相差多少万元",
                                      "普陀区司法局部门预算跟单位预算的三公经费比较"])
def test_department_and_unit_budget_of_one_department_compared(putuo_two_documents, question):
    """Both documents named: each one's figure (p.21 三公 合计 10.81; p.20 10.71) and the difference, labelled."""
    a = ask(question, putuo_two_documents)
    assert a.plan.intent == "compare" and a.plan.doc_kinds == ["部门预算", "单位预算"]
    assert a.value == printed(0.1) and "10.81万元" in a.answer and "10.71万元" in a.answer
    assert "部门预算" in a.answer and "单位预算" in a.answer
    one = ask("普陀区司法局2026年单位预算三公经费", putuo_two_documents)  # one document named: that one
    assert one.value == printed(10.71) and one.plan.doc_kinds == []


def test_prior_year_outcome_is_the_basis_not_the_measure():
    """比上年执行数增长…: the budget compared with last year's outcome (the text states it), not a 决算 question."""
    v = _placed({"湖州市交通运输局": "湖州市"}, years=(2025, 2026))
    for question in ("湖州交通运输局2026年支出预算比上年执行数增长多少%", "2026年湖州市交通运输局收入预算较上年执行数增加了多少",
                     "湖州交通运输局2026年支出预算与去年决算数相比增长百分之几"):
        plan = parse_question(question, v)
        assert plan.measure is None and plan.intent in ("growth", "change"), question
    assert parse_question("湖州交通运输局2025年支出执行数是多少", v).measure == "决算数"


@pytest.mark.parametrize(("question", "value"), [
    ("普陀区司法局2026年编报绩效目标的项目涉及多少资金", 7054.05),  # p.22: 编报绩效目标的项目20个,涉及项目预算资金7054.05万元
    ("2026年普陀司法局绩效目标项目涉及多少预算资金？", 7054.05),
    ("普陀区司法局2026年单位预算中实行绩效目标管理的项目涉及的资金", 6484.05),  # the 单位预算 p.21: 6484.05万元
    ("普陀司法局2026年部门预算和单位预算绩效目标项目涉及资金差多少", 570.0),
])
def test_funds_of_projects_with_performance_targets(putuo_two_documents, question, value):
    a = ask(question, putuo_two_documents)
    assert a.plan.target is not None and a.plan.target.key == "performance_funds"
    assert a.value == printed(value)


def test_a_word_that_needs_its_neighbour_does_not_tag_a_narrative_subject(putuo_two_documents):
    """服务 names 政府采购服务 only beside 采购: the subject 一般公共服务支出 is no 采购 figure."""
    with duckdb.connect(str(db_path(putuo_two_documents)), read_only=True) as con:
        from yusuan.store.facts import install

        install(con, temporary=True)
        tagged = con.execute("SELECT DISTINCT name, concept FROM facts WHERE record_kind = 'fact' AND concept LIKE 'procurement%'"
                             ).fetchall()
    assert tagged and all("采购" in name for name, _ in tagged)
