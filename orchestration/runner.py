"""Run the DAGs from the command line: compile the manifest, run a DAG in-process, summarise it.

`run_dag` uses `dag.test()`: one DAG run in this process, no scheduler, the real tasks against
the real services. Afterwards it reads every task's final state from Airflow's metadata DB and
writes the run's summary.json (the tasks themselves cannot: in Airflow 3 they have no DB access).

While it runs, an Airflow listener reports each task as it starts and ends (`on_task`), and
with `capture_logs` everything the run writes to stdout and stderr (Airflow's, Cosmos's and
dbt's logs, and those of their subprocesses) goes to the run folder's airflow.log instead of
the terminal, so a person can follow the run in a few lines.
"""

from __future__ import annotations

import logging
import os
import select
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from lendflow.services import airflow as airflow_service
from lendflow.settings import SPARK_TARGETS, Settings

PARTIAL_PARSE_FILE = "partial_parse.msgpack"

log = logging.getLogger(__name__)


class DagRunFailed(RuntimeError):
    """The DAG run did not succeed; the summary names the failed tasks."""


AIRFLOW_LOG = "airflow.log"

# The stages a person follows, by task id (the lending_elt family of DAGs); first match wins.
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("prepare", ("prepare_run",)),
    ("land", ("land_batch_files",)),
    ("stream", ("replay_stream", "consume_stream")),
    ("raw gate", ("gate_raw",)),
    ("python steps", ("python_steps",)),
    ("dbt models", ("dbt.", "dbt_unit_tests")),
    ("marts gate", ("gate_marts",)),
    ("docs", ("dbt_docs",)),
    ("dashboard check", ("check_dashboard",)),
)


def stage_of(task_id: str) -> str:
    """The stage a task belongs to; a task of no known stage is its own stage."""
    return next((name for name, prefixes in STAGES if task_id.startswith(prefixes)), task_id)


def stage_plan(task_ids: list[str]) -> dict[str, int]:
    """Stage -> how many tasks it holds, stages in pipeline order."""
    plan: dict[str, int] = {}
    for task_id in sorted(task_ids, key=lambda t: ([n for n, _ in STAGES] + [t]).index(stage_of(t))):
        plan[stage_of(task_id)] = plan.get(stage_of(task_id), 0) + 1
    return plan


@dataclass(frozen=True)
class TaskEvent:
    """A task started ("running"), ended ("success", "failed", "skipped"), or will be retried ("up_for_retry")."""

    task_id: str
    state: str
    error: str | None = None  # the failure in full: the exception with its traceback


TaskListener = Callable[[TaskEvent], None]
PlanListener = Callable[[dict[str, int]], None]


def _error_text(error: str | BaseException | None) -> str | None:
    if error is None or isinstance(error, str):
        return error
    return "".join(traceback.format_exception(error)).rstrip()


def listen(on_task: TaskListener) -> Callable[[], None]:
    """Hear Airflow's task-instance listener hooks (airflow.listeners) as TaskEvents; returns the undo.

    dag.test() runs each task in this process, so the task runner calls these hooks here.
    """
    from airflow.listeners import hookimpl
    from airflow.sdk.listener import get_listener_manager

    class Hooks:
        @hookimpl
        def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None:
            on_task(TaskEvent(task_instance.task_id, "running"))

        @hookimpl
        def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
            on_task(TaskEvent(task_instance.task_id, "success"))

        @hookimpl
        def on_task_instance_skipped(self, previous_state: Any, task_instance: Any) -> None:
            on_task(TaskEvent(task_instance.task_id, "skipped"))

        @hookimpl
        def on_task_instance_failed(self, previous_state: Any, task_instance: Any, error: Any) -> None:
            # Called for a failure that will be retried too: the state says which.
            state = str(getattr(task_instance.state, "value", task_instance.state) or "failed")
            on_task(TaskEvent(task_instance.task_id, state, _error_text(error)))

    hooks = Hooks()
    manager = get_listener_manager()
    manager.add_listener(hooks)
    return lambda: manager.pm.unregister(hooks)


QUIET_SECONDS = 0.2


@contextmanager
def output_to(log_file: Path, echo: TextIO | None = None) -> Iterator[None]:
    """Everything written to this process's stdout and stderr goes to log_file (and to echo, if given).

    At the file-descriptor level, so the output of Airflow's logging, of dbt and of child
    processes is caught too. Streams opened on the original descriptors before entering (a
    live view on the terminal) keep writing to the terminal.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    read_end, write_end = os.pipe()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    # A child started meanwhile may outlive the run holding the pipe's write end (multiprocessing's
    # resource tracker does, until this process exits): the pump cannot wait for the end of the
    # pipe, so once told to stop it reads what is there and stops at the first quiet moment.
    stopping = threading.Event()

    def pump() -> None:
        with open(log_file, "ab") as sink, os.fdopen(read_end, "rb", buffering=0) as source:
            while True:
                if not select.select([source], [], [], QUIET_SECONDS)[0]:
                    if stopping.is_set():
                        return
                    continue
                chunk = source.read(65536)
                if not chunk:
                    return
                sink.write(chunk)
                sink.flush()
                if echo is not None:
                    echo.write(chunk.decode(errors="replace"))
                    echo.flush()

    pumping = threading.Thread(target=pump, name="airflow-log", daemon=True)
    pumping.start()
    sys.stdout.flush()
    sys.stderr.flush()
    for fd in saved:
        os.dup2(write_end, fd)
    os.close(write_end)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, original in saved.items():
            os.dup2(original, fd)
            os.close(original)
        stopping.set()
        pumping.join(timeout=30)


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
    airflow_log: Path | None = None  # Airflow's own output, when it was kept off the terminal

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
    """`dbt parse` into the manifest folder the DAGs render from (no warehouse connection needed).

    dbt writes into a folder of this call's own; each file then replaces the published one in a
    single rename, so a DAG parsed meanwhile (by a scheduler, or beside another process compiling
    the same target) never reads half a manifest."""
    from lendflow.dbt import run_dbt
    from orchestration.manifest import manifest_dir, manifest_path

    out = manifest_dir(settings, target)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{target}-") as scratch:
        work = Path(scratch)
        if (out / PARTIAL_PARSE_FILE).is_file():  # dbt reparses only what changed since
            shutil.copy2(out / PARTIAL_PARSE_FILE, work / PARTIAL_PARSE_FILE)
        run_dbt(["parse", "--target-path", str(work), "--quiet"], settings, target)
        for written in work.iterdir():
            if written.is_file():
                os.replace(written, out / written.name)
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


def pending_log(settings: Settings, dag_id: str) -> Path:
    """Where a run's Airflow output goes until its run id, and so its folder, is known."""
    return settings.runs_dir / dag_id / f".{AIRFLOW_LOG}.{os.getpid()}"


def run_dag(
    settings: Settings,
    dag_id: str,
    conf: dict[str, Any] | None = None,
    *,
    on_plan: PlanListener | None = None,
    on_task: TaskListener | None = None,
    capture_logs: bool = False,
    echo: TextIO | None = None,
) -> RunSummary:
    """One real run of dag_id in this process; its summary (also written to the run folder).

    on_plan hears the stages and their task counts before the run, on_task every task event.
    capture_logs: Airflow's output goes to <run folder>/airflow.log (and to echo, if given).
    """
    log_file = pending_log(settings, dag_id) if capture_logs else None
    with output_to(log_file, echo) if log_file else _nothing():
        summary = _run_dag(settings, dag_id, conf or {}, on_plan, on_task)
    if log_file is not None:
        summary.airflow_log = log_file.replace(summary.run_dir / AIRFLOW_LOG)
    return summary


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _run_dag(
    settings: Settings,
    dag_id: str,
    conf: dict[str, Any],
    on_plan: PlanListener | None,
    on_task: TaskListener | None,
) -> RunSummary:
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
    if on_plan is not None:
        on_plan(stage_plan(list(dag.task_dict)))
    unlisten = listen(on_task) if on_task is not None else None
    started = time.monotonic()
    try:
        dag_run = dag.test(run_conf=conf)
    finally:
        if unlisten is not None:
            unlisten()
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
            spark_row_counts(settings.on_target(target), relations)
            if target in SPARK_TARGETS
            else mart_row_counts(settings, relations)
        )
    write_json(run_dir / "summary.json", summary.as_dict())
    return summary


PIPELINE_DAG = "lending_elt"
GX_DATA_DOCS = Path("gx") / "uncommitted" / "data_docs" / "local_site" / "index.html"


def run_pipeline(
    settings: Settings,
    input_file: Path | None = None,
    *,
    on_plan: PlanListener | None = None,
    on_task: TaskListener | None = None,
    capture_logs: bool = False,
    echo: TextIO | None = None,
) -> RunSummary:
    """The whole pipeline through the `lending_elt` DAG: what `lendflow run` (and `make run`) do.

    Default input: the generated sample (the same one `lendflow run --direct` lands) and its stream
    sample through Kafka; with input_file, that file only (no stream), as in the direct path.
    Compiles the postgres manifest the DAG renders from (lending_elt_spark's too when missing, so every
    DAG file of the folder imports). Raises DagRunFailed when the run did not succeed. The other
    arguments are run_dag's.
    """
    from orchestration.manifest import manifest_path

    compile_manifest(settings, "postgres")
    if not manifest_path(settings, settings.spark_target).is_file():
        compile_manifest(settings, settings.spark_target)
    conf: dict[str, Any] = {"stream": input_file is None}
    if input_file is not None:
        conf["input_files"] = [str(Path(input_file).resolve())]
    summary = run_dag(
        settings, PIPELINE_DAG, conf, on_plan=on_plan, on_task=on_task, capture_logs=capture_logs, echo=echo
    )
    if summary.state != "success":
        logs = summary.airflow_log or settings.airflow_home / "logs"
        raise DagRunFailed(
            f"{PIPELINE_DAG} {summary.run_id} {summary.state}; failed tasks: {', '.join(summary.failed)}; "
            f"see {summary.run_dir} and Airflow's log {logs}"
        )
    return summary


def outcome_lines(summary: RunSummary) -> list[str]:
    """What a pipeline run landed and built, read from its artifacts: the lines `lendflow run` closes with."""
    from ingestion.land import LandingReport
    from orchestration.artifacts import read_json

    run_dir = summary.run_dir
    lines = [LandingReport(**report).summary() for report in read_json(run_dir / "landing.json")]
    stream = run_dir / "stream.json"
    if stream.is_file():
        consumed = read_json(stream)
        lines.append(
            f"stream: {consumed['topic']}: landed {consumed['landed']:,} new of {consumed['messages']:,} messages read"
        )
    lines.append(f"marts.fct_loans holds {summary.mart_rows.get('marts.fct_loans', 0):,} loans")
    lines.append(f"run artifacts: {run_dir}")
    if summary.airflow_log is not None:
        lines.append(f"Airflow's log: {summary.airflow_log}")
    lines.append(f"dbt docs: {run_dir / 'dbt_docs' / 'index.html'}  (served: .venv/bin/lendflow docs)")
    lines.append(f"GX Data Docs: {run_dir / GX_DATA_DOCS}")
    return lines
