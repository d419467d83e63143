"""Hostile and odd files cost only themselves, with the true reason: a swallowed time-out, links out of the walked
folder, paths that cannot be read, UTF-16 text, HTML nested 50,000 deep."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import batch_support
from conftest import CORPUS

from yusuan.extract import extract_path
from yusuan.extract.batch import collect_files, run_batch, write_error_report
from yusuan.ingest.text import _looks_like_text
from yusuan.store import Store

SEED = CORPUS / "003_8a020ea769aa04f9.txt"


def test_a_swallowed_time_out_is_a_failure_never_a_partial_document(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    with Store(tmp_path / "db.duckdb") as store:
        result = run_batch(collect_files([folder]), store, workers=1, timeout=5, task=batch_support.swallows_time_out)
        documents = store.counts()
    (outcome,) = result.outcomes
    assert (outcome.status, outcome.reason) == ("failed", "timed out after 5 s")
    assert sum(documents.values()) == 0


def test_a_walk_stays_inside_its_folder_and_unreadable_paths_fail_alone(tmp_path):
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    shutil.copy(SEED, secret)
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(CORPUS / "001_c2afe28920123285.txt", folder / "good.txt")
    (folder / "link-out.txt").symlink_to(secret)
    (folder / "sub" / "linked-folder").symlink_to(secret.parent, target_is_directory=True)
    (folder / "link-in.txt").symlink_to(folder / "good.txt")  # inside the folder: read (as a duplicate)
    pipe = tmp_path / "pipe.txt"
    os.mkfifo(pipe)  # reading it would block for ever
    refused = []
    files = collect_files([folder, pipe, tmp_path / "missing.txt", SEED], refused)
    assert sorted(p.name for p in files) == ["003_8a020ea769aa04f9.txt", "good.txt", "link-in.txt"]
    reasons = {Path(o.source).name: o.reason for o in refused}
    assert reasons == {
        "link-out.txt": "symbolic link to a file outside the walked folder: not followed",
        "linked-folder": "symbolic link to a folder outside the walked folder: not followed",
        "pipe.txt": "not a regular file (a pipe, device or socket)",
        "missing.txt": "no such file",
    }
    with Store(tmp_path / "db.duckdb") as store:
        result = run_batch(files, store, workers=1, refused=refused)
        sources = set(store.documents()["source"])
    assert sources == {str(folder / "good.txt"), str(SEED)}
    report = [json.loads(line) for line in write_error_report(result, tmp_path).read_text("utf-8").splitlines()]
    assert {Path(entry["source"]).name: (entry["status"], entry["stage"]) for entry in report
            if entry["status"] == "failed"} == {name: ("failed", "walk") for name in reasons}


def test_utf16_and_utf32_text_read_like_utf8(tmp_path):
    text = SEED.read_text(encoding="utf-8")
    expected = extract_path(SEED)
    for encoding in ("utf-16", "utf-16-be", "utf-32"):
        path = tmp_path / f"{encoding}.txt"
        data = text.encode(encoding)
        path.write_bytes(data if encoding != "utf-16-be" else b"\xfe\xff" + data)
        extraction = extract_path(path)
        assert [(r.kind, r.model_dump(exclude={"record_id", "doc_id", "provenance"})) for r in extraction.records] == [
            (r.kind, r.model_dump(exclude={"record_id", "doc_id", "provenance"})) for r in expected.records], encoding


def test_control_characters_make_text_binary():
    assert _looks_like_text("预算\t12.00\r\n\f" * 100)
    assert not _looks_like_text("预算" + "\x00\x01\x0b\x1f" * 10)
    assert not _looks_like_text("")


def test_html_nested_50000_deep_fails_with_a_reason(tmp_path):
    page = tmp_path / "deep.html"
    page.write_text("<html><body><h1>2025年部门预算</h1>" + "<div>" * 50_000 + "收入 100" + "</div>" * 50_000
                    + "</body></html>", encoding="utf-8")
    with Store(tmp_path / "db.duckdb") as store:
        (outcome,) = run_batch([page], store, workers=1).outcomes
    assert (outcome.status, outcome.stage) == ("failed", "parse")
    assert outcome.reason == "HTML elements nested 50002 deep (at most 400 are read)"
