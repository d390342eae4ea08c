"""`lendflow`: the command line over every part of the pipeline."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from lendflow import settings as config

app = typer.Typer(
    help="lendflow: land loans from files and Kafka, clean them with dbt, serve the marts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)

Services = Annotated[
    list[str] | None,
    typer.Option("--service", "-s", help="Only this service (postgres, kafka, spark, airflow, dashboard); repeatable."),
]

ROLE_HELP = (
    "Database role to land as: loader (least privilege: may only insert into raw) or owner "
    "(the warehouse's owner, for warehouses without a loader role)."
)
LANDING_ROLES = ("loader", "owner")


def _landing_role(role: str) -> str:
    if role not in LANDING_ROLES:
        _fail(f"--role must be one of {', '.join(LANDING_ROLES)}, not {role!r}")
    return role


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
    )


def _print_table(table: Table) -> None:
    """Tables go to stdout; off a terminal rich would cut long cells (DSNs) at 80 columns."""
    Console(width=None if sys.stdout.isatty() else 220).print(table)


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


@app.command()
def up(service: Services = None) -> None:
    """Start the local services (idempotent); external ones named in the environment are used as they are."""
    from lendflow.services import local
    from lendflow.services.base import ServiceError

    try:
        local.up(config.load(), service)
    except ServiceError as error:
        _fail(str(error))
    status()


@app.command()
def down(service: Services = None) -> None:
    """Stop the local services; no process of ours is left running."""
    from lendflow.services import local
    from lendflow.services.base import ServiceError

    try:
        local.down(config.load(), service)
    except ServiceError as error:
        _fail(str(error))
    console.print("local services stopped")


@app.command()
def status(
    dsn: Annotated[
        bool, typer.Option("--dsn", help='Print only the PostgreSQL DSN, password included (for psql "$(...)").')
    ] = False,
) -> None:
    """Show each service: running or not, and its address (the PostgreSQL DSN among them, password masked)."""
    from lendflow.services import local

    settings = config.load()
    if dsn:
        print(settings.pg_dsn)
        return
    table = Table(title=f"lendflow services (state in {settings.home})")
    for column in ("service", "state", "address", "detail"):
        table.add_column(column)
    for item in local.statuses(settings):
        state = "[green]running[/green]" if item.running else "[red]stopped[/red]"
        kind = " (external)" if item.external else ""
        table.add_row(item.name + kind, state, item.address, item.detail)
    _print_table(table)


@app.command()
def generate(
    rows: Annotated[int, typer.Option(help="Number of batch loans.")] = 27_030,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 42,
    out: Annotated[
        Path | None, typer.Option(help="Output folder [default: $LENDFLOW_HOME/data/sample-ROWS-seedSEED].")
    ] = None,
    stream_rows: Annotated[int, typer.Option(help="Loans in the separate stream sample (new loan ids).")] = 5_000,
) -> None:
    """Generate raw sample loans (CSV and Parquet, plus a stream sample) as DATA.md describes them."""
    from lendflow.generate import write_sample

    settings = config.load()
    out_dir = out or settings.data_dir / f"sample-{rows}-seed{seed}"
    files = write_sample(out_dir, rows=rows, seed=seed, stream_rows=stream_rows)
    console.print(f"wrote {files}")


@app.command()
def land(
    files: Annotated[
        list[Path], typer.Argument(help="CSV or Parquet files of raw loans.", exists=True, dir_okay=False)
    ],
    role: Annotated[str, typer.Option(help=ROLE_HELP)] = "loader",
) -> None:
    """Land raw files into PostgreSQL raw.loans untouched, exactly once; report read/landed/rejected.

    One transaction per file (a crash leaves nothing half-landed); a file landed before (same
    SHA-256) is skipped; malformed lines go to raw.rejected_rows with their line number and reason.
    """
    from ingestion.land import LandingError, land_file

    settings = config.load()
    for path in files:
        try:
            report = land_file(path, settings, role=None if _landing_role(role) == "owner" else role)
        except LandingError as error:
            _fail(str(error))
        console.print(report.summary())


@app.command()
def batches() -> None:
    """List the landed batch files: rows read, landed, rejected at landing, and quarantined by dbt."""
    from ingestion.batches import list_batches

    table = Table(title="landed batches (withdraw one with `lendflow withdraw SHA256`)")
    for column in ("landed at", "sha256", "batch id", "file", "read", "landed", "rejected", "quarantined"):
        table.add_column(column)
    for batch in list_batches(config.load()):
        quarantined = "-" if batch.rows_quarantined is None else f"{batch.rows_quarantined:,}"
        table.add_row(
            f"{batch.landed_at:%Y-%m-%d %H:%M:%S}",
            batch.file_sha256[:12],
            batch.batch_id,
            batch.source_file,
            f"{batch.rows_read:,}",
            f"{batch.rows_landed:,}",
            f"{batch.rows_rejected:,}",
            quarantined,
        )
    _print_table(table)


@app.command()
def withdraw(
    batch: Annotated[str, typer.Argument(help="Batch id, or the file's SHA-256 (a prefix of 8+ digits will do).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    rebuild: Annotated[
        bool, typer.Option(help="Then rebuild from what remains (Python steps, dbt build --full-refresh).")
    ] = True,
) -> None:
    """Withdraw a landed batch file, as the warehouse's owner: its rows leave raw.loans, raw.rejected_rows
    and raw.landed_files in one transaction, then everything built from them goes with a full rebuild."""
    from ingestion.batches import BatchError, find_batch
    from ingestion.batches import withdraw as withdraw_batch
    from lendflow.db import connect
    from lendflow.dbt import run_dbt
    from python_steps import run as python_steps

    settings = config.load()
    try:
        with connect(settings) as conn:
            found = find_batch(conn, batch)
        if not yes:
            typer.confirm(
                f"withdraw {found.source_file} (sha256 {found.file_sha256[:12]}, {found.rows_landed:,} rows)?",
                abort=True,
            )
        done = withdraw_batch(settings, batch)
    except BatchError as error:
        _fail(str(error))
    _say(
        f"withdrew {done.batch.source_file} (batch {done.batch.batch_id}): {done.loans_deleted:,} rows from"
        f" raw.loans, {done.rejected_deleted:,} from raw.rejected_rows"
    )
    if not rebuild:
        _say("[yellow]the next build must be a full refresh[/yellow]: lendflow dbt build --full-refresh")
        return
    python_steps.run(settings)
    run_dbt(["build", "--full-refresh"], settings)
    _say("rebuilt: the marts hold nothing of the withdrawn batch")


@app.command()
def produce(
    file: Annotated[Path, typer.Argument(help="A raw CSV or Parquet file of loans.", exists=True, dir_okay=False)],
    topic: Annotated[str | None, typer.Option(help="Kafka topic (default: $LENDFLOW_KAFKA_TOPIC).")] = None,
    rate: Annotated[float | None, typer.Option(help="Messages per second (default: flat out).")] = None,
    limit: Annotated[int | None, typer.Option(help="Send only the first N loans.")] = None,
    eof: Annotated[bool, typer.Option(help="End with the EOF message on every partition.")] = True,
) -> None:
    """Replay a file to Kafka: one JSON object per loan (the 24 raw columns), keyed by loan id, then EOF."""
    from streaming.producer import ProducerError
    from streaming.producer import produce as produce_file

    try:
        report = produce_file(file, config.load(), topic, rate=rate, limit=limit, send_eof=eof)
    except ProducerError as error:
        _fail(str(error))
    console.print(report.summary())


@app.command()
def consume(
    topic: Annotated[str | None, typer.Option(help="Kafka topic (default: $LENDFLOW_KAFKA_TOPIC).")] = None,
    group: Annotated[
        str | None,
        typer.Option(help="Consumer group; its offsets say what has landed [default: lendflow-landing-<database>]."),
    ] = None,
    follow: Annotated[bool, typer.Option("--follow", help="Keep consuming after EOF, until SIGTERM/Ctrl-C.")] = False,
    batch_size: Annotated[int, typer.Option(help="Messages per database transaction.")] = 10_000,
    idle_timeout: Annotated[
        float | None, typer.Option(help="Also stop after this many seconds without a message.")
    ] = None,
    role: Annotated[str, typer.Option(help=ROLE_HELP)] = "loader",
) -> None:
    """Land the Kafka topic into raw.loan_events untouched, exactly once; stops at EOF unless --follow.

    Stops when, after an EOF message, every assigned partition has sent EOF or been read to its
    end (lendflow's producer sends EOF to every partition; a single course-style EOF works too).
    SIGTERM or Ctrl-C stops cleanly after the current batch.
    """
    from streaming.consumer import ConsumerError
    from streaming.consumer import consume as consume_topic

    settings = config.load()
    try:
        report = consume_topic(
            settings,
            topic,
            group=group,
            follow=follow,
            batch_size=batch_size,
            idle_timeout=idle_timeout,
            dsn=settings.pg_dsn if _landing_role(role) == "owner" else settings.role_dsn(role),
        )
    except ConsumerError as error:
        _fail(str(error))
    console.print(report.summary())


# dbt's own options (`-s`, `--full-refresh`, `--vars`) are not lendflow's: pass them through.
@app.command(context_settings={"ignore_unknown_options": True})
def dbt(
    args: Annotated[
        list[str] | None,
        typer.Argument(help="Arguments for dbt, options included, e.g. `build -s fct_loans --full-refresh`."),
    ] = None,
    target: Annotated[str, typer.Option(help="dbt target: postgres or spark.")] = "postgres",
) -> None:
    """Run dbt on the project with the connection lendflow uses.

    Every argument but --target goes to dbt: `lendflow dbt build -s fct_loans --full-refresh`.

    dbt's own help: `lendflow dbt -- build --help`."""
    from lendflow.dbt import DbtError, run_dbt

    try:
        run_dbt(args or ["build"], config.load(), target)
    except DbtError as error:
        _fail(str(error))


@app.command()
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
) -> None:
    """Run the whole pipeline through the Airflow DAG lending_elt (dag.test(), in-process): services up,
    land the files and the stream, GX gates, Python steps, one task per dbt model, dbt docs; say where to look.

    Idempotent: a file or stream landed before is not landed again. --direct runs the same steps
    without Airflow.
    """
    from lendflow.services import airflow as airflow_service
    from lendflow.services import dashboard as dashboard_service

    settings = config.load()
    try:
        if direct:
            _run_direct(settings, input_file)
        else:
            _run_through_airflow(settings, input_file)
        if serve:
            dashboard_service.start(settings)
            airflow_service.start(settings)
    except Exception as error:  # the edge: turn any failure into one clear line and exit 1
        logging.getLogger(__name__).debug("pipeline failed", exc_info=True)
        _fail(f"{type(error).__name__}: {error}")
    _say("query it: psql \"$(.venv/bin/lendflow status --dsn)\" -c 'select count(*) from marts.fct_loans'")
    if serve:
        _say(f"dashboard: {dashboard_service.address(settings)}")
        _say(
            f"Airflow UI: {airflow_service.address(settings)}  (user {airflow_service.UI_USER}, "
            f"password in {airflow_service.password_file(settings)})"
        )
        _say("stop everything with `make down`")


def _say(text: str) -> None:
    """A line of the run's report; paths and URLs stay whole (no wrapping at 80 columns off a terminal)."""
    console.print(text, soft_wrap=True)


def _run_direct(settings: config.Settings, input_file: Path | None) -> None:
    from lendflow import pipeline

    result = pipeline.run(settings, input_file)
    _say(f"[green]done[/green]: {result.landing.summary()}")
    if result.stream is not None:
        _say(f"stream: {result.stream.summary()}")
    _say(f"marts.fct_loans holds {result.fct_loans_rows:,} loans")
    _say("dbt docs: .venv/bin/lendflow docs   (lineage from raw to the dashboard)")


def _run_through_airflow(settings: config.Settings, input_file: Path | None) -> None:
    from ingestion.land import LandingReport
    from orchestration.artifacts import read_json
    from orchestration.runner import GX_DATA_DOCS, run_pipeline

    summary = run_pipeline(settings, input_file)
    run_dir = summary.run_dir
    _say(
        f"[green]done[/green]: {summary.dag_id} {summary.run_id}: {len(summary.task_states)} tasks succeeded "
        f"in {summary.seconds:.0f}s"
    )
    for report in read_json(run_dir / "landing.json"):
        _say(LandingReport(**report).summary())
    stream = run_dir / "stream.json"
    if stream.is_file():
        consumed = read_json(stream)
        _say(
            f"stream: {consumed['topic']}: landed {consumed['landed']:,} new of {consumed['messages']:,} messages read"
        )
    _say(f"marts.fct_loans holds {summary.mart_rows.get('marts.fct_loans', 0):,} loans")
    _say(f"run artifacts: {run_dir}")
    _say(f"dbt docs: {run_dir / 'dbt_docs' / 'index.html'}  (served: .venv/bin/lendflow docs)")
    _say(f"GX Data Docs: {run_dir / GX_DATA_DOCS}")


@app.command("compile-manifest")
def compile_manifest(
    target: Annotated[str, typer.Option(help="dbt target: postgres or spark.")] = "postgres",
) -> None:
    """Parse the dbt project into the manifest the Airflow DAGs render from (no database needed)."""
    from lendflow.dbt import DbtError
    from orchestration.runner import compile_manifest as compile_it

    try:
        path = compile_it(config.load(), target)
    except DbtError as error:
        _fail(str(error))
    console.print(f"manifest for {target}: {path}")


@app.command("airflow-run")
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
    target = "spark" if dag_id.endswith("_spark") else "postgres"
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
        _fail(str(error))
    table = Table(title=f"{dag_id} {summary.run_id}: {summary.state} in {summary.seconds:.0f}s")
    table.add_column("task")
    table.add_column("state")
    for task_id, state in summary.task_states.items():
        colour = "green" if state == "success" else "yellow" if state == "skipped" else "red"
        table.add_row(task_id, f"[{colour}]{state}[/{colour}]")
    _print_table(table)
    for relation, rows in summary.mart_rows.items():
        console.print(f"{relation}: {rows:,} rows")
    console.print(f"artifacts: {summary.run_dir}")
    if summary.state != "success":
        _fail(f"{dag_id} failed: {', '.join(summary.failed)}")


@app.command()
def dashboard(
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 for every interface).")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port (default: $LENDFLOW_DASHBOARD_PORT, else 8050).")] = None,
    workers: Annotated[int, typer.Option(help="gunicorn worker processes.")] = 2,
    debug: Annotated[
        bool,
        typer.Option(help="Dash's debug server instead of gunicorn; refused unless LENDFLOW_DASHBOARD_ALLOW_DEBUG=1."),
    ] = False,
) -> None:
    """Serve the dashboard over the marts (gunicorn, debug off) as the read-only role; print its address."""
    from dashboard.serve import ServeOptions, serve
    from dashboard.serving_policy import DebugModeRefused

    settings = config.load()
    options = ServeOptions(host=host, port=port or settings.dashboard_port, workers=workers)

    def announce(address: str) -> None:
        # stdout, flushed: scripts and tests wait for this line.
        print(f"dashboard serving at {address}", flush=True)

    try:
        serve(settings, options, debug=debug, announce=announce)
    except DebugModeRefused as error:
        _fail(str(error))


@app.command("python-steps")
def python_steps(
    refit: Annotated[
        bool,
        typer.Option(
            "--refit/--keep",
            help="Refit everything (then run dbt with --full-refresh), or keep what is stored and only add new titles.",
        ),
    ] = True,
) -> None:
    """Run the Python steps (canonical employment titles with rapidfuzz, Yeo-Johnson lambdas with scipy)
    on everything landed, writing the python_steps.* tables dbt reads as sources. Run it before dbt."""
    from python_steps import run as steps

    report = steps.run(config.load(), refit=refit)
    console.print(f"python steps: {report.summary()}")


@app.command()
def export(
    out_dir: Annotated[
        Path, typer.Argument(help="Folder for fct_loans.{csv,parquet} and lookup_values.{csv,parquet}.")
    ],
) -> None:
    """Export the cleaned table (marts.fct_loans) and the lookup table (marts.lookup_values) to CSV and Parquet."""
    from lendflow.export import export as export_marts

    try:
        tables = export_marts(config.load(), out_dir)
    except LookupError as error:
        _fail(str(error))
    for table in tables:
        console.print(f"{table.name}: {table.rows:,} rows -> {table.csv_path}, {table.parquet_path}")


@app.command()
def docs(
    port: Annotated[int, typer.Option(help="Port to serve the site on.")] = 8081,
    serve: Annotated[bool, typer.Option(help="Serve the site after generating it (--no-serve: only generate).")] = True,
) -> None:
    """Generate the dbt docs site (lineage from the sources to the dashboard exposure) and serve it."""
    from lendflow.dbt import DbtError, run_dbt

    settings = config.load()
    try:
        run_dbt(["docs", "generate"], settings)
        console.print(f"docs generated in {config.DBT_PROJECT_DIR / 'target'}")
        if serve:
            console.print(f"serving on http://127.0.0.1:{port} (Ctrl-C stops)")
            run_dbt(["docs", "serve", "--port", str(port), "--host", "127.0.0.1", "--no-browser"], settings)
    except DbtError as error:
        _fail(str(error))


@app.command("spark-stage")
def spark_stage(
    files: Annotated[
        list[Path] | None, typer.Argument(help="CSV or Parquet files of raw loans.", exists=True, dir_okay=False)
    ] = None,
    topic: Annotated[str | None, typer.Option(help="Kafka topic to land too (default: LENDFLOW_KAFKA_TOPIC).")] = None,
    stream: Annotated[bool, typer.Option(help="Land the Kafka topic (--no-stream: files only).")] = True,
    python_steps: Annotated[
        bool, typer.Option(help="Then run the Python steps on Spark staging (the spark target's python_steps.*).")
    ] = True,
) -> None:
    """Land raw files and the Kafka topic untouched into Spark staging (raw.* Parquet tables), exactly once.

    Files go through the same reader as `lendflow land` (same rows, same text, same rejects);
    the topic through Structured Streaming with an available-now trigger and a checkpoint
    under LENDFLOW_SPARK_HOME. Then `lendflow dbt --target spark build` builds the warehouse on Spark.
    """
    from ingestion.land import LandingError
    from lendflow.services import spark as spark_service
    from spark_jobs import staging

    settings = config.load()
    spark = spark_service.session(settings)
    for path in files or []:
        try:
            console.print(staging.stage_file(spark, path, settings).summary())
        except LandingError as error:
            _fail(str(error))
    if stream:
        console.print(staging.stage_topic(spark, settings, topic).summary())
    if python_steps:
        from spark_jobs import python_steps as spark_steps

        console.print(f"python steps on Spark: {spark_steps.run(spark).summary()}")


@app.command("spark-questions")
def spark_questions(
    out: Annotated[Path | None, typer.Option(help="Also write each answer to OUT/q<N>_{sql,dataframe}.csv.")] = None,
) -> None:
    """Answer the five business questions on Spark twice (Spark SQL and DataFrame API), from marts.fct_loans
    built by `lendflow dbt --target spark build`, and check that the two answers agree row by row."""
    from lendflow.services import spark as spark_service
    from spark_jobs.questions import two_way_answers

    spark = spark_service.session(config.load(), packages=())
    disagreements = 0
    for answer in two_way_answers(spark):
        question, by_sql = answer.question, answer.by_sql
        disagreements += len(answer.differences)
        verdict = (
            "[green]SQL = DataFrame[/green]"
            if not answer.differences
            else f"[red]{len(answer.differences)} differences[/red]"
        )
        table = Table(title=f"{question.number}. {question.text} ({verdict})")
        for column in by_sql.columns:
            table.add_column(column)
        for row in by_sql.sort_values(list(question.keys)).head(60).itertuples(index=False):
            table.add_row(*(f"{v:,.4f}" if isinstance(v, float) else str(v) for v in row))
        _print_table(table)
        for problem in answer.differences:
            console.print(f"  {problem}")
        if out:
            out.mkdir(parents=True, exist_ok=True)
            by_sql.to_csv(out / f"q{question.number}_sql.csv", index=False)
            answer.by_dataframe.to_csv(out / f"q{question.number}_dataframe.csv", index=False)
    if disagreements:
        _fail(f"Spark SQL and the DataFrame API disagree ({disagreements} differences)")


@app.command("spark-export")
def spark_export(
    out_dir: Annotated[Path, typer.Argument(help="Folder for cleaned_loans.parquet and lookup_values.parquet.")],
    jdbc: Annotated[
        bool, typer.Option(help="Also load both into PostgreSQL (schema spark_exports) over JDBC.")
    ] = False,
) -> None:
    """Save the cleaned table (fct_loans + Spark ML encodings) and the encoders' lookup table to Parquet from Spark."""
    from lendflow.services import spark as spark_service
    from spark_jobs.export import export as export_from_spark

    settings = config.load()
    spark = spark_service.session(settings)
    console.print(export_from_spark(spark, settings, out_dir, jdbc=jdbc).summary())


if __name__ == "__main__":
    sys.exit(app())
