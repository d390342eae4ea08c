"""Commands on Spark: staging, the questions answered twice, the export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.output import console, fail, print_table
from lendflow import settings as config

app = typer.Typer()
PANEL = "Spark"

# Where the command runs Spark; every command of the panel takes it.
TargetOption = Annotated[
    str | None,
    typer.Option(
        "--target",
        help="spark (local mode) or spark_thrift (the cluster: `lendflow up -s spark-cluster`)"
        " [default: $LENDFLOW_SPARK_TARGET, else spark].",
    ),
]


def _settings(target: str | None) -> config.Settings:
    settings = config.load()
    if target is None:
        return settings
    if target not in config.SPARK_TARGETS:
        fail(f"--target must be one of {', '.join(config.SPARK_TARGETS)}, not {target!r}")
    return settings.on_target(target)


@app.command("spark-stage", rich_help_panel=PANEL)
def spark_stage(
    files: Annotated[
        list[Path] | None, typer.Argument(help="CSV or Parquet files of raw loans.", exists=True, dir_okay=False)
    ] = None,
    topic: Annotated[str | None, typer.Option(help="Kafka topic to land too (default: LENDFLOW_KAFKA_TOPIC).")] = None,
    stream: Annotated[bool, typer.Option(help="Land the Kafka topic (--no-stream: files only).")] = True,
    python_steps: Annotated[
        bool, typer.Option(help="Then run the Python steps on Spark staging (the Spark target's python_steps.*).")
    ] = True,
    target: TargetOption = None,
) -> None:
    """Land raw files and the Kafka topic untouched into Spark staging (raw.* Parquet tables), exactly once.

    Files go through the same reader as `lendflow land` (same rows, same text, same rejects);
    the topic through Structured Streaming with an available-now trigger and a checkpoint
    under LENDFLOW_SPARK_HOME. Then `lendflow dbt --target <target> build` builds the warehouse there.
    """
    from ingestion.land import LandingError
    from lendflow.services import spark as spark_service
    from spark_jobs import staging

    settings = _settings(target)
    spark = spark_service.session(settings)
    for path in files or []:
        try:
            console.print(staging.stage_file(spark, path, settings).summary())
        except LandingError as error:
            fail(str(error))
    if stream:
        console.print(staging.stage_topic(spark, settings, topic).summary())
    if python_steps:
        from python_steps import spark as spark_steps

        console.print(f"python steps on Spark: {spark_steps.run(spark).summary()}")


@app.command("spark-questions", rich_help_panel=PANEL)
def spark_questions(
    out: Annotated[Path | None, typer.Option(help="Also write each answer to OUT/q<N>_{sql,dataframe}.csv.")] = None,
    target: TargetOption = None,
) -> None:
    """Answer the five business questions on Spark twice (Spark SQL and DataFrame API), from marts.fct_loans
    built by `lendflow dbt --target <target> build`, and check that the two answers agree row by row."""
    from lendflow.services import spark as spark_service
    from spark_jobs.questions import two_way_answers

    spark = spark_service.session(_settings(target), packages=())
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
        print_table(table)
        for problem in answer.differences:
            console.print(f"  {problem}")
        if out:
            answer.write_csv(out)
    if disagreements:
        fail(f"Spark SQL and the DataFrame API disagree ({disagreements} differences)")


@app.command("spark-export", rich_help_panel=PANEL)
def spark_export(
    out_dir: Annotated[Path, typer.Argument(help="Folder for cleaned_loans.parquet and lookup_values.parquet.")],
    jdbc: Annotated[
        bool, typer.Option(help="Also load both into PostgreSQL (schema spark_exports) over JDBC.")
    ] = False,
    target: TargetOption = None,
) -> None:
    """Save the cleaned table (fct_loans + Spark ML encodings) and the encoders' lookup table to Parquet from Spark."""
    from lendflow.services import spark as spark_service
    from spark_jobs.export import export as export_from_spark

    settings = _settings(target)
    spark = spark_service.session(settings)
    console.print(export_from_spark(spark, settings, out_dir, jdbc=jdbc).summary())
