"""One folder of artifacts per DAG run, so a run can be inspected and reproduced.

    <runs_dir>/<dag_id>/<run_id>/
        run.json            what ran: DAG, run id, target, input files with size and SHA-256
        manifest.json       the dbt manifest the DAG was rendered from
        landing.json        per input file: rows read / landed / rejected
        stream.json         the stream consumption report (when the stream step ran)
        dbt/<task_id>/      run_results.json of every dbt task
        gx/                 Great Expectations: suites, results/<gate>.json, Data Docs site
        dbt_docs/           `dbt docs generate`: index.html, manifest.json, catalog.json
        summary.json        every task's final state (written by `lendflow airflow-run`)

Tasks hand each other files in this folder, never in-memory data.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from lendflow import settings as config
from lendflow.settings import Settings


def run_folder(settings: Settings, dag_id: str, run_id: str) -> Path:
    """The folder of one run; run ids carry ':' and '+', which some tools mishandle in paths."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", run_id)
    return settings.runs_dir / dag_id / safe


def write_json(path: Path, payload: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def describe_inputs(paths: list[Path]) -> list[dict[str, Any]]:
    from ingestion.land import file_sha256  # pyarrow and numpy: not at DAG parse time

    return [{"path": str(path), "bytes": path.stat().st_size, "sha256": file_sha256(path)} for path in paths]


def keep_dbt_artifacts(project_dir: str, context: Any = None, **_: Any) -> None:
    """Cosmos callback: copy a dbt task's run_results.json from its temporary project into the run folder."""
    if context is None:
        return
    task_id = context["ti"].task_id
    folder = run_folder(config.load(), context["dag"].dag_id, context["run_id"]) / "dbt" / task_id
    source = Path(project_dir) / "target" / "run_results.json"
    if source.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, folder / "run_results.json")


def dbt_results(run_dir: Path) -> dict[str, str]:
    """Status of every dbt node the run executed, by unique_id, from the kept run_results files."""
    statuses: dict[str, str] = {}
    for path in sorted((run_dir / "dbt").glob("*/run_results.json")):
        for result in read_json(path).get("results", []):
            statuses[result["unique_id"]] = result["status"]
    return statuses
