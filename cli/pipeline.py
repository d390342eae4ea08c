"""Commands that run the whole pipeline: run (through Airflow or directly) and airflow-run."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.output import console, fail, print_table, say
from lendflow import settings as config

app = typer.Typer()
PANEL = "Pipeline"


@app.command(rich_help_panel=PANEL)
def run(
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input",
            help="A raw CSV or Parquet file, landed without the stream "
            "(default: the generated sample, plus its stream sample through Kafka).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    serve: Annotated[bool, typer.Option(help="Then serve the dashboard and the Airflow UI in the background.")] = False,
    direct: Annotated[
        bool,
        typer.Option(
            "--direct", help="Run the steps directly, without Airflow (faster: one `dbt build`, no GX gates)."
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Show Airflow's own log live too (it is always kept in the run folder)."),
    ] = False,
) -> None:
    """Run the whole pipeline through the Airflow DAG lending_elt (dag.test(), in-process): services up,
    land the files and the stream, GX gates, Python steps, one task per dbt model, dbt docs; say where to look.

    Shows a line per stage as it ends and any failure in full; Airflow's own log goes to the run
    folder's airflow.log. Idempotent: a file or stream landed before is not landed again.
    --direct runs the same steps without Airflow.
    """
    from lendflow.services import airflow as airflow_service
    from lendflow.services import dashboard as dashboard_service

    settings = config.load()
    try:
        if direct:
            _run_direct(settings, input_file)
        else:
            _run_through_airflow(settings, input_file, verbose=verbose)
        if serve:
            dashboard_service.start(settings)
            airflow_service.start(settings)
    except Exception as error:  # the edge: turn any failure into one clear line and exit 1
        logging.getLogger(__name__).debug("pipeline failed", exc_info=True)
        fail(f"{type(error).__name__}: {error}")
    say("query it: psql \"$(.venv/bin/lendflow status --dsn)\" -c 'select count(*) from marts.fct_loans'")
    if serve:
        say(f"dashboard: {dashboard_service.address(settings)}")
        say(
            f"Airflow UI: {airflow_service.address(settings)}  (user {airflow_service.UI_USER}, "
            f"password in {airflow_service.password_file(settings)})"
        )
        say("stop everything with `make down`")


def _run_direct(settings: config.Settings, input_file: Path | None) -> None:
    from orchestration import pipeline

    result = pipeline.run(settings, input_file)
    say(f"[green]done[/green]: {result.landing.summary()}")
    if result.stream is not None:
        say(f"stream: {result.stream.summary()}")
    say(f"marts.fct_loans holds {result.fct_loans_rows:,} loans")
    say("dbt docs: .venv/bin/lendflow docs   (lineage from raw to the dashboard)")


def _run_through_airflow(settings: config.Settings, input_file: Path | None, *, verbose: bool) -> None:
    from cli.live import LiveView
    from orchestration.runner import outcome_lines, run_pipeline

    # The terminal as it is now: Airflow's output is about to be sent to its log file.
    with os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1) as terminal:
        view_console = Console(file=terminal, force_terminal=console.is_terminal or None)
        with LiveView(view_console, bars=not verbose) as view:
            summary = run_pipeline(
                settings,
                input_file,
                on_plan=view.plan,
                on_task=view.task,
                capture_logs=True,
                echo=terminal if verbose else None,
            )
            view.finish(summary)
    say(
        f"[green]done[/green]: {summary.dag_id} {summary.run_id}: {len(summary.task_states)} tasks succeeded "
        f"in {summary.seconds:.0f}s"
    )
    for line in outcome_lines(summary):
        say(line)


@app.command("airflow-run", rich_help_panel=PANEL)
def airflow_run(
    dag_id: Annotated[
        str, typer.Argument(help="lending_elt, lending_elt_spark or lending_full_refresh.")
    ] = "lending_elt",
    input_file: Annotated[
        list[Path] | None,
        typer.Option("--input", help="Batch file(s) to land [default: the generated sample].", exists=True),
    ] = None,
    stream_file: Annotated[
        Path | None, typer.Option(help="Stream sample to replay [default: stream.csv beside the input].")
    ] = None,
    no_stream: Annotated[bool, typer.Option("--no-stream", help="Skip the Kafka stream steps.")] = False,
    topic: Annotated[str | None, typer.Option(help="Kafka topic [default: $LENDFLOW_KAFKA_TOPIC].")] = None,
    compile_first: Annotated[bool, typer.Option(help="Compile the dbt manifest before running.")] = True,
) -> None:
    """Run one Airflow DAG end to end in this process (`dag.test()`), then print every task's state.

    The run's artifacts (input checksums, dbt run results, GX results and Data Docs, dbt docs,
    summary.json) are in $LENDFLOW_HOME/runs/<dag_id>/<run_id>/.
    """
    from orchestration.runner import DagRunFailed, compile_manifest, run_dag

    settings = config.load()
    target = settings.spark_target if dag_id.endswith("_spark") else "postgres"
    conf: dict[str, object] = {"stream": not no_stream}
    if input_file:
        conf["input_files"] = [str(path.resolve()) for path in input_file]
    if stream_file:
        conf["stream_file"] = str(stream_file.resolve())
    if topic:
        conf["topic"] = topic
    try:
        if compile_first:
            compile_manifest(settings, target)
        summary = run_dag(settings, dag_id, conf)
    except DagRunFailed as error:
        fail(str(error))
    table = Table(title=f"{dag_id} {summary.run_id}: {summary.state} in {summary.seconds:.0f}s")
    table.add_column("task")
    table.add_column("state")
    for task_id, state in summary.task_states.items():
        colour = "green" if state == "success" else "yellow" if state == "skipped" else "red"
        table.add_row(task_id, f"[{colour}]{state}[/{colour}]")
    print_table(table)
    for relation, rows in summary.mart_rows.items():
        console.print(f"{relation}: {rows:,} rows")
    console.print(f"artifacts: {summary.run_dir}")
    if summary.state != "success":
        fail(f"{dag_id} failed: {', '.join(summary.failed)}")
