"""The in-process dbt session's pure parts: when the project counts as changed, what failed."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

from lendflow.dbt_session import failures_of, fingerprint, project_files


def _project(root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "models" / "a.sql").write_text("select 1")
    (root / "dbt_project.yml").write_text("name: x")
    return root


def test_the_fingerprint_ignores_order_but_not_a_size_or_mtime() -> None:
    files = [("models/a.sql", 8, 100), ("dbt_project.yml", 7, 200)]
    assert fingerprint(files) == fingerprint(list(reversed(files)))
    assert fingerprint(files) != fingerprint([("models/a.sql", 9, 100), ("dbt_project.yml", 7, 200)])
    assert fingerprint(files) != fingerprint([("models/a.sql", 8, 101), ("dbt_project.yml", 7, 200)])
    assert fingerprint(files) != fingerprint(files[:1])


def test_a_touched_added_or_removed_file_changes_the_project_but_dbts_output_does_not(tmp_path: Path) -> None:
    project = _project(tmp_path)
    before = fingerprint(project_files(project))
    (project / "target").mkdir()
    (project / "target" / "manifest.json").write_text("{}")
    (project / "logs").mkdir()
    (project / "logs" / "dbt.log").write_text("ran")
    assert fingerprint(project_files(project)) == before

    model = project / "models" / "a.sql"
    stat = model.stat()
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    touched = fingerprint(project_files(project))
    assert touched != before

    (project / "models" / "b.sql").write_text("select 2")
    added = fingerprint(project_files(project))
    assert added != touched
    (project / "models" / "b.sql").unlink()
    assert fingerprint(project_files(project)) == touched


def test_failures_are_the_nodes_that_errored_failed_or_were_skipped() -> None:
    def result(name: str, status: str, message: str | None) -> SimpleNamespace:
        return SimpleNamespace(node=SimpleNamespace(name=name), status=status, message=message)

    results = [
        result("fct_loans", "success", "MERGE 3"),
        result("unique_fct_loans_loan_id", "pass", None),
        result("not_null_fct_loans_loan_id", "fail", "Got 2 results,\n configured to fail if != 0"),
        result("dash_portfolio_totals", "error", "relation does not exist"),
        result("rpt_funding_gap_by_grade", "skipped", None),
    ]
    failures = failures_of(results)
    assert [(f.node, f.status) for f in failures] == [
        ("not_null_fct_loans_loan_id", "fail"),
        ("dash_portfolio_totals", "error"),
        ("rpt_funding_gap_by_grade", "skipped"),
    ]
    assert str(failures[0]) == "not_null_fct_loans_loan_id fail: Got 2 results, configured to fail if != 0"
