"""Run the DAGs from the command line: compile the manifest, run a DAG in-process, summarise it.

`run_dag` uses `dag.test()`: one DAG run in this process, no scheduler, the real tasks against
the real services. Afterwards it reads every task's final state from Airflow's metadata DB and
writes the run's summary.json (the tasks themselves cannot: in Airflow 3 they have no DB access).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lendflow.services import airflow as airflow_service
from lendflow.settings import Settings

log = logging.getLogger(__name__)


class DagRunFailed(RuntimeError):
    """The DAG run did not succeed; the summary names the failed tasks."""


@dataclass
class RunSummary:
    dag_id: str
    run_id: str
    state: str
    run_dir: Path
    seconds: float
    task_states: dict[str, str] = field(default_factory=dict)
    # task_id -> [start, end] in seconds since the epoch (None when the task never ran)
    task_times: dict[str, list[float | None]] = field(default_factory=dict)
    mart_rows: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        return sorted(t for t, s in self.task_states.items() if s not in {"success", "skipped"})

    def as_dict(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "state": self.state,
            "run_dir": str(self.run_dir),
            "seconds": round(self.seconds, 2),
            "task_states": self.task_states,
            "failed_tasks": self.failed,
            "mart_rows": self.mart_rows,
            "task_times": self.task_times,
        }


def compile_manifest(settings: Settings, target: str = "postgres") -> Path:
    """`dbt parse` into the manifest folder the DAGs render from (no warehouse connection needed)."""
    from lendflow.dbt import run_dbt
    from orchestration.manifest import manifest_dir, manifest_path

    out = manifest_dir(settings, target)
    out.mkdir(parents=True, exist_ok=True)
    run_dbt(["parse", "--target-path", str(out), "--quiet"], settings, target)
    return manifest_path(settings, target)


def load_dagbag(settings: Settings) -> Any:
    """Every DAG of the project, parsed the way Airflow's processor parses them."""
    airflow_service.activate(settings)
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(airflow_service.DAGS_FOLDER))


def _epoch(moment: Any) -> float | None:
    return None if moment is None else float(moment.timestamp())


def span(summary: dict[str, Any], prefix: str | tuple[str, ...]) -> float:
    """Seconds from the first start to the last end of the tasks whose id starts with prefix (or one of them)."""
    times = [t for task, t in summary["task_times"].items() if task.startswith(prefix) and None not in t]
    if not times:
        return 0.0
    return max(end for _, end in times) - min(start for start, _ in times)


def run_dag(settings: Settings, dag_id: str, conf: dict[str, Any] | None = None) -> RunSummary:
    """One real run of dag_id in this process; its summary (also written to the run folder)."""
    airflow_service.activate(settings)
    airflow_service.ensure_db(settings)
    from orchestration.artifacts import read_json, run_folder, write_json
    from orchestration.manifest import mart_relations
    from orchestration.steps import mart_row_counts, spark_row_counts

    bag = load_dagbag(settings)
    dag = bag.get_dag(dag_id)
    if dag is None:
        raise DagRunFailed(f"no DAG {dag_id!r} (known: {sorted(bag.dag_ids)}); import errors: {bag.import_errors}")
    if bag.import_errors:
        log.warning("other DAG files do not import: %s", bag.import_errors)
    started = time.monotonic()
    dag_run = dag.test(run_conf=conf or {})
    seconds = time.monotonic() - started

    from airflow.utils.session import create_session

    with create_session() as session:
        instances = dag_run.get_task_instances(session=session)
        states = {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in instances}
        times = {ti.task_id: [_epoch(ti.start_date), _epoch(ti.end_date)] for ti in instances}
        state = str(getattr(dag_run.state, "value", dag_run.state))
    run_dir = run_folder(settings, dag_id, dag_run.run_id)
    summary = RunSummary(
        dag_id, dag_run.run_id, state, run_dir, seconds, dict(sorted(states.items())), dict(sorted(times.items()))
    )
    manifest_file = run_dir / "manifest.json"
    target = read_json(run_dir / "run.json").get("target") if (run_dir / "run.json").is_file() else None
    if state == "success" and manifest_file.is_file():
        relations = mart_relations(read_json(manifest_file))
        summary.mart_rows = (
            spark_row_counts(settings, relations) if target == "spark" else mart_row_counts(settings, relations)
        )
    write_json(run_dir / "summary.json", summary.as_dict())
    return summary


PIPELINE_DAG = "lending_elt"
GX_DATA_DOCS = Path("gx") / "uncommitted" / "data_docs" / "local_site" / "index.html"


def run_pipeline(settings: Settings, input_file: Path | None = None) -> RunSummary:
    """The whole pipeline through the `lending_elt` DAG: what `lendflow run` (and `make run`) do.

    Default input: the generated sample (the same one `lendflow run --direct` lands) and its stream
    sample through Kafka; with input_file, that file only (no stream), as in the direct path.
    Compiles the postgres manifest the DAG renders from (the spark one too when missing, so every
    DAG file of the folder imports). Raises DagRunFailed when the run did not succeed.
    """
    from orchestration.manifest import manifest_path

    compile_manifest(settings, "postgres")
    if not manifest_path(settings, "spark").is_file():
        compile_manifest(settings, "spark")
    conf: dict[str, Any] = {"stream": input_file is None}
    if input_file is not None:
        conf["input_files"] = [str(Path(input_file).resolve())]
    summary = run_dag(settings, PIPELINE_DAG, conf)
    if summary.state != "success":
        raise DagRunFailed(
            f"{PIPELINE_DAG} {summary.run_id} {summary.state}; failed tasks: {', '.join(summary.failed)}; "
            f"see {summary.run_dir} and the task logs under {settings.airflow_home / 'logs'}"
        )
    return summary
