"""On-demand benchmark (not a test): /ask (or /search) latency p50/p95 with 1, 16 and 50 concurrent clients over the
corpus replicated to N documents, against uvicorn on 127.0.0.1 in a subprocess; ratios vs /health measured in the same run.

Replicas are distinct departments (`中共绍兴市委组织部#17`), so questions naming a department still resolve to the
original one and questions over all departments rank/sum/count all N documents. Each client thread keeps one HTTP
connection (keep-alive); a warm-up pass per question runs first (the service builds its per-store-version caches on
first use), then requests are timed.

    .venv/bin/python bench/bench_api.py [--docs 10000] [--requests 200] [--answer-cache 0]

`--answer-cache 0` turns the service's answer cache off, so every timed request runs the question engine.

    .venv/bin/python bench/bench_api.py --endpoint search --docs 5 [--search-cache 0] [--data DIR]

`--endpoint search` times /search with the labelled queries of eval/search_queries.jsonl (54 distinct queries, repeated
to --requests) over the store, indexed first with the default embedder when it has no index; `--search-cache 0` turns
the service's result cache off, so every timed request embeds the query and searches.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import httpx

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("budget_total", "function_line", "econ_line", "sangong", "project", "indicator", "fact")
QUESTIONS = ["哪个部门三公经费最高", "绍兴市委组织部2022年三公经费比上年增加多少", "项目支出最高的前三个部门",
             "三公经费一共多少", "满意度指标≥95%的项目有哪些"]


def build(data: Path, docs: int) -> None:
    from yusuan.config import db_path
    from yusuan.extract.batch import run_batch
    from yusuan.store import Store

    with Store(db_path(data)) as store:
        run_batch(sorted((ROOT / "corpus").glob("*.txt")), store)
    con = duckdb.connect(str(db_path(data)))
    base = con.execute("SELECT count(*) FROM documents").fetchone()[0]
    copies = max(0, docs // base - 1)
    con.execute("CREATE TEMP TABLE n AS SELECT range AS i FROM range(1, ?)", [copies + 1])
    con.execute("CREATE TEMP TABLE d0 AS SELECT * FROM documents")
    con.execute("INSERT INTO documents SELECT d0.* REPLACE (doc_id || '-' || n.i AS doc_id, source || '#' || n.i AS source, "
                "department || '#' || n.i AS department) FROM d0, n")
    for kind in KINDS:
        con.execute(f"CREATE TEMP TABLE k0 AS SELECT * FROM {kind}")
        con.execute(f"INSERT INTO {kind} SELECT k0.* REPLACE (doc_id || '-' || n.i AS doc_id, record_id || '-' || n.i AS record_id) "
                    "FROM k0, n")
        con.execute("DROP TABLE k0")
    print("documents:", con.execute("SELECT count(*) FROM documents").fetchone()[0])
    con.close()


def measure(url: str, paths: list[str], clients: int) -> tuple[list[float], int]:
    errors = 0
    times: list[float] = []
    local = threading.local()

    def one(path: str) -> None:
        nonlocal errors
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=60)
        t0 = time.perf_counter()
        r = local.client.get(url + path)
        times.append(time.perf_counter() - t0)
        if r.status_code != 200:
            errors += 1

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, paths))
    return times, errors


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=10000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--answer-cache", type=int, default=256, help="the service's answer cache size (0 = off)")
    ap.add_argument("--data", type=Path, help="reuse a store kept by an earlier run (skips building)")
    ap.add_argument("--keep", action="store_true", help="keep the store this run builds (printed) for --data")
    ap.add_argument("--clients", default="1,16,50", help="concurrent client counts to measure, comma-separated")
    ap.add_argument("--endpoint", choices=("ask", "search"), default="ask")
    ap.add_argument("--search-cache", type=int, default=1024, help="the service's /search result cache size (0 = off)")
    args = ap.parse_args()
    data = args.data
    if data is None:
        data = Path(tempfile.mkdtemp(prefix="yusuan-bench-"))
        build(data, args.docs)
    if args.endpoint == "search" and not (data / "index").is_dir():
        from yusuan.index.indexer import build_index

        stats = build_index(data)
        print(f"indexed: {stats.embedder}, {stats.seconds:.1f} s")
    if args.data is None and args.keep:
        print("store kept for --data:", data)
    code = f"import uvicorn; from yusuan.api.app import create_app; uvicorn.run(create_app({str(data)!r}, " \
           f"answer_cache={args.answer_cache}, search_cache={args.search_cache}), host='127.0.0.1', port={args.port}, " \
           "log_level='warning')"
    proc = subprocess.Popen([sys.executable, "-c", code])
    url = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        from urllib.parse import quote

        if args.endpoint == "search":
            lines = (ROOT / "eval" / "search_queries.jsonl").read_text(encoding="utf-8").splitlines()
            questions = list(dict.fromkeys(json.loads(line)["query"] for line in lines if line.strip()))
        else:
            questions = QUESTIONS
        paths = [f"/{args.endpoint}?q={quote(questions[i % len(questions)])}" for i in range(args.requests)]
        _, warm_errors = measure(url, paths[: len(questions)], 1)
        print(f"warm-up: {len(questions)} distinct requests, errors {warm_errors}")
        for clients in map(int, args.clients.split(",")):
            h, he = measure(url, ["/health"] * args.requests, clients)
            a, ae = measure(url, paths, clients)
            print(f"clients={clients:2d} /health p50 {pct(h, .5):.1f} ms p95 {pct(h, .95):.1f} ms | "
                  f"/{args.endpoint} p50 {pct(a, .5):.1f} ms "
                  f"p95 {pct(a, .95):.1f} ms | ratio p50 {pct(a, .5) / pct(h, .5):.1f}x p95 {pct(a, .95) / pct(h, .95):.1f}x "
                  f"| errors {he + ae}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if args.data is None and not args.keep:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
