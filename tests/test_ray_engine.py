"""`yusuan extract --engine ray` on a local Ray cluster (`ray start --head` on 127.0.0.1, 2 CPUs): the Parquet dataset holds the same
rows as the local batch, a Ray worker killed mid-run costs only the files of its task, and a re-run completes them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import ray_support
from conftest import CORPUS, REALDOCS

from yusuan.extract.batch import collect_files, run_batch
from yusuan.extract.ray_engine import local_cluster, run_on_ray
from yusuan.model import RECORD_KINDS
from yusuan.store import Store, export
from yusuan.store.dataset import Dataset, import_dataset

TESTS = Path(__file__).resolve().parent
YUSUAN = [sys.executable, "-m", "yusuan.cli"]
TABLES = ("documents", *RECORD_KINDS)
CHUNK = 2  # files per Ray task in the killed-worker run


@pytest.fixture(scope="module")
def ray_cluster():
    """A Ray head on 127.0.0.1 with 2 CPUs (2 worker processes), stopped at the end whatever happens; its workers
    can import tests/ray_support.py."""
    with local_cluster(2, pythonpath=[str(TESTS)]) as address:
        yield address


def _real_pdfs(folder: Path) -> list[Path]:
    """The smallest PDF of each realdocs folder, the 6 smallest of those (plain, not a budget, empty; several sources),
    copied into ``folder``; the largest is renamed so that ray_support kills the Ray worker that reads it."""
    smallest: dict[Path, Path] = {}
    for path in sorted(REALDOCS.rglob("*.pdf"), key=lambda p: (p.stat().st_size, str(p))):
        smallest.setdefault(path.parent, path)
    picked = sorted(smallest.values(), key=lambda p: p.stat().st_size)[:6]
    folder.mkdir()
    copies = []
    for i, path in enumerate(picked):
        prefix = ray_support.KILLER_PREFIX if i == len(picked) - 1 else ""
        copies.append(folder / f"{prefix}{i}-{path.name}")
        shutil.copy(path, copies[-1])
    return copies


def _rows(con: duckdb.DuckDBPyConnection, relation: str, table: str) -> list[tuple]:
    exclude = " EXCLUDE (extracted_at)" if table == "documents" else ""  # the time of writing differs
    return con.execute(f"SELECT *{exclude} FROM {relation} ORDER BY ALL").fetchall()


def test_ray_dataset_equals_local_batch_and_a_killed_worker_costs_only_its_files(ray_cluster, tmp_path):
    files = _real_pdfs(tmp_path / "in")
    killer = files[-1]
    data = tmp_path / "data"
    dataset = Dataset(data / "dataset")

    first = run_on_ray(collect_files([tmp_path / "in"]), dataset, address=ray_cluster, chunk_size=CHUNK,
                       task=ray_support.kills_its_ray_worker)
    lost = {o.source for o in first.failed}
    assert str(killer) in lost and len(lost) <= CHUNK
    assert all(o.stage == "worker" and "Ray task lost" in o.reason for o in first.failed)
    assert {o.source for o in first.outcomes if o.status in ("extracted", "not_budget")} == {str(f) for f in files} - lost
    con = duckdb.connect()
    dataset.views(con)
    assert {row[0] for row in con.execute("SELECT source FROM errors WHERE status = 'failed'").fetchall()} == lost
    assert not lost & {row[0] for row in con.execute("SELECT source FROM documents").fetchall()}

    # the re-run (CLI, files named by a list file) reads only the lost files and completes the dataset
    (tmp_path / "in" / "files.list").write_text("# the test files\n" + "\n".join(f.name for f in files) + "\n", "utf-8")
    second = subprocess.run([*YUSUAN, "extract", str(tmp_path / "in" / "files.list"), "--engine", "ray",
                             "--address", ray_cluster, "--data", str(data)], capture_output=True, text=True)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.count("[skipped]") == len(files) - len(lost)
    assert sum(line.startswith(("[extracted]", "[not_budget]")) for line in second.stdout.splitlines()) == len(lost)

    with Store(tmp_path / "local.duckdb") as store:
        local = run_batch(collect_files([tmp_path / "in"]), store)
        assert not local.failed
        export(store, "parquet", tmp_path / "export")
    dataset.views(con)
    assert not con.execute("SELECT count(*) FROM errors WHERE status = 'failed'").fetchone()[0]
    assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == sum(o.status == "extracted" for o in local.outcomes)
    assert con.execute("SELECT count(*) FROM function_line").fetchone()[0] > 100
    for table in TABLES:
        assert _rows(con, table, table) == _rows(con, f"read_parquet('{tmp_path}/export/{table}.parquet')", table), table

    imported = subprocess.run([*YUSUAN, "import", str(dataset.root), "--data", str(tmp_path / "imported")],
                              capture_output=True, text=True)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    con.execute(f"ATTACH '{tmp_path / 'imported' / 'yusuan.duckdb'}' AS imported (READ_ONLY)")
    con.execute(f"ATTACH '{tmp_path / 'local.duckdb'}' AS local (READ_ONLY)")
    for table in (*TABLES, "document_blocks"):
        assert _rows(con, f"imported.{table}", table) == _rows(con, f"local.{table}", table), table


def test_changed_file_replaces_its_older_version(tmp_path):
    """A source whose content changed: the views, the import and prune keep only the newest version."""
    from yusuan.extract.worker import extract_one

    source = tmp_path / "doc.txt"
    seed = sorted(CORPUS.glob("*.txt"))[0].read_text("utf-8")
    dataset = Dataset(tmp_path / "dataset")
    versions = []
    for note in ("", "\n附注：第二版\n"):
        source.write_text(seed + note, "utf-8")
        extraction, outcome = extract_one(str(source))
        dataset.write_extraction(extraction)
        dataset.write_outcome(outcome, extraction.document.sha256, extraction.document.extractor_version)
        versions.append(extraction)
    old, new = (extraction.document.sha256 for extraction in versions)
    con = duckdb.connect()
    dataset.views(con)
    assert con.execute("SELECT sha256 FROM documents").fetchall() == [(new,)]
    assert {row[0] for row in con.execute("SELECT DISTINCT doc_id FROM function_line").fetchall()} == {new[:16]}
    assert list((dataset.root / "function_line").rglob(f"{old}.parquet"))
    with Store(tmp_path / "store.duckdb") as store:
        store.replace(versions[0])
        import_dataset(dataset, store)
        assert store.con.execute("SELECT sha256 FROM documents").fetchall() == [(new,)]
        assert store.con.execute("SELECT count(*) FROM function_line").fetchone()[0] == len(versions[1].by_kind("function_line"))
    assert dataset.prune() > 0
    assert not list(dataset.root.rglob(f"{old}.parquet"))
    assert list((dataset.root / "documents").rglob(f"{new}.parquet"))
