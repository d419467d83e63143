"""Audit issues found at extraction: stored with the document, read back without the source, recomputed on request."""

from __future__ import annotations

import json
import shutil

import pytest
import typer
from conftest import CORPUS, REALDOCS
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from yusuan.api.app import create_app
from yusuan.audit import cli
from yusuan.extract import extract_path
from yusuan.extract.batch import run_batch
from yusuan.store import Store
from yusuan.store.issues import AUDITS, ISSUES

FINAL_ACCOUNTS = REALDOCS / "shanghai-putuo-GovBudgetChecker" / "上海市普陀区财政局2024年度部门决算.pdf"
TEXT_BUDGET = CORPUS / "000_acf85bf0026b4684.txt"


def _audit_cli(*args: str):
    app = typer.Typer()
    cli.register(app)
    return CliRunner().invoke(app, list(args))


def _stored_rows(data, doc_id: str) -> tuple[int | None, int]:
    """(issue count recorded for the document or None when not audited at extraction, issue rows stored)."""
    with Store(data / "yusuan.duckdb", read_only=True) as store:
        audited = store.con.execute(f"SELECT issues FROM {AUDITS} WHERE doc_id = ?", [doc_id]).fetchone()
        rows = store.con.execute(f"SELECT count(*) FROM {ISSUES} WHERE doc_id = ?", [doc_id]).fetchone()[0]
    return (audited[0] if audited else None), rows


def _doc_id(store: Store, source) -> str:
    return store.con.execute("SELECT doc_id FROM documents WHERE source = ?", [str(source)]).fetchone()[0]


@pytest.fixture(scope="module")
def extracted_pdf(tmp_path_factory):
    """The 财政局 2024 决算 (a copy, so the test can take its source away) through the batch's worker into a new store."""
    folder = tmp_path_factory.mktemp("audit_store")
    source, data = folder / "final_accounts.pdf", folder / "data"
    shutil.copy(FINAL_ACCOUNTS, source)
    data.mkdir()
    with Store(data / "yusuan.duckdb") as store:
        result = run_batch([source], store, workers=1)
        assert [outcome.status for outcome in result.outcomes] == ["extracted"]
        doc_id = _doc_id(store, source)
    return source, data, doc_id


def test_batch_stores_the_issues_and_the_api_and_cli_read_them_without_the_source(extracted_pdf):
    source, data, doc_id = extracted_pdf
    audited, rows = _stored_rows(data, doc_id)
    assert audited == rows > 0
    with TestClient(create_app(data)) as client:
        stored = client.get(f"/documents/{doc_id}/issues").json()
        recomputed = client.get(f"/documents/{doc_id}/issues", params={"recompute": "true"}).json()
    assert stored["origin"] == "stored" and recomputed["origin"] == "recomputed"
    assert stored["count"] == len(stored["issues"]) == rows
    # the stored issues are the audit's issues, field for field (boxes, compared values, order)
    assert stored["issues"] == recomputed["issues"]
    # the text's 财政拨款收入支出总计 0.3 万元 against the table's 2,961.68 (a real error in this PDF)
    total = [issue for issue in stored["issues"] if issue["rule_id"] == "TT01" and issue["page"] == 21]
    assert [value["value"] for value in total[0]["values"]] == [0.3, 2961.68]
    assert total[0]["bbox"] is not None

    hidden = source.with_suffix(".gone")
    source.rename(hidden)
    try:
        with TestClient(create_app(data)) as client:
            assert client.get(f"/documents/{doc_id}/issues").json()["issues"] == stored["issues"]
            assert client.get(f"/documents/{doc_id}/issues", params={"recompute": "true"}).status_code == 404
        result = _audit_cli("--doc", doc_id, "--data", str(data), "--format", "json")
        assert result.exit_code == 0, result.output
        payload = json.loads(result.stdout)
        assert payload["origin"] == "stored" and payload["document"]["year"] == 2024
        assert payload["issues"] == stored["issues"]
        result = _audit_cli("--doc", doc_id, "--data", str(data), "--recompute")
        assert result.exit_code == 2 and "is gone" in result.output
    finally:
        hidden.rename(source)


def test_re_extraction_replaces_the_issues(extracted_pdf):
    source, data, doc_id = extracted_pdf
    before = _stored_rows(data, doc_id)
    with Store(data / "yusuan.duckdb") as store:
        run_batch([source], store, workers=1, force=True)
    assert _stored_rows(data, doc_id) == before


def test_a_store_older_than_stored_issues_is_audited_on_demand_and_migrated(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    extraction = extract_path(TEXT_BUDGET)  # extracted without the audit, as before issues were stored
    with Store(data / "yusuan.duckdb") as store:
        store.replace(extraction)
        for table in (ISSUES, AUDITS):
            store.con.execute(f"DROP TABLE {table}")
    doc_id = extraction.document.doc_id
    with TestClient(create_app(data)) as client:  # reads only: the old store is not changed
        body = client.get(f"/documents/{doc_id}/issues").json()
    assert body["origin"] == "recomputed" and body["count"] == len(body["issues"]) > 0
    result = _audit_cli("--doc", doc_id, "--data", str(data), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["issues"] == body["issues"]

    with Store(data / "yusuan.duckdb") as store:  # opened for writing: the tables are added
        run_batch([TEXT_BUDGET], store, workers=0, force=True)
    assert _stored_rows(data, doc_id) == (len(body["issues"]), len(body["issues"]))


def test_a_failing_audit_keeps_the_extraction(tmp_path, monkeypatch):
    import yusuan.audit
    from yusuan.extract import worker

    def broken(doc, extraction):
        raise ZeroDivisionError("division by zero")

    def out_of_time(doc, extraction):
        worker._alarm(None, None)  # what SIGALRM does when the time-out comes during the audit

    data = tmp_path / "data"
    data.mkdir()
    reference = extract_path(TEXT_BUDGET)
    for fake, reason in ((broken, "ZeroDivisionError: division by zero"), (out_of_time, "timed out")):
        monkeypatch.setattr(yusuan.audit, "audit_document", fake)
        with Store(data / "yusuan.duckdb") as store:
            result = run_batch([TEXT_BUDGET], store, workers=0, timeout=600, force=True)
            (outcome,) = result.outcomes
            assert outcome.status == "extracted" and outcome.records == len(reference.records) > 0
            assert f"audit at extraction failed ({reason}): issues not stored, audited on demand" in outcome.warnings
            assert store.counts() == {kind: len(reference.by_kind(kind)) for kind in store.counts()}
            doc_id = _doc_id(store, TEXT_BUDGET)
        assert _stored_rows(data, doc_id) == (None, 0)
    monkeypatch.undo()
    with TestClient(create_app(data)) as client:
        assert client.get(f"/documents/{doc_id}/issues").json()["origin"] == "recomputed"
