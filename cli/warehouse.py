"""Commands over the warehouse: dbt, the Python steps, exports, docs, the manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.output import console, fail
from lendflow import settings as config

app = typer.Typer()
TARGET_HELP = "dbt target: postgres, spark (local mode) or spark_thrift (a cluster's Thrift server)."
PANEL = "Warehouse"


# dbt's own options (`-s`, `--full-refresh`, `--vars`) are not lendflow's: pass them through.
@app.command(context_settings={"ignore_unknown_options": True}, rich_help_panel=PANEL)
def dbt(
    args: Annotated[
        list[str] | None,
        typer.Argument(help="Arguments for dbt, options included, e.g. `build -s fct_loans --full-refresh`."),
    ] = None,
    target: Annotated[str, typer.Option(help=TARGET_HELP)] = "postgres",
) -> None:
    """Run dbt on the project with the connection lendflow uses.

    Every argument but --target goes to dbt: `lendflow dbt build -s fct_loans --full-refresh`.

    dbt's own help: `lendflow dbt -- build --help`."""
    from lendflow.dbt import DbtError, run_dbt

    try:
        run_dbt(args or ["build"], config.load(), target)
    except DbtError as error:
        fail(str(error))


@app.command("python-steps", rich_help_panel=PANEL)
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


@app.command(rich_help_panel=PANEL)
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
        fail(str(error))
    for table in tables:
        console.print(f"{table.name}: {table.rows:,} rows -> {table.csv_path}, {table.parquet_path}")


@app.command(rich_help_panel=PANEL)
def docs(
    port: Annotated[int, typer.Option(help="Port to serve the site on.")] = 8081,
    serve: Annotated[bool, typer.Option(help="Serve the site after generating it (--no-serve: only generate).")] = True,
) -> None:
    """Generate the dbt docs site (lineage from the sources to the dashboard exposure) and serve it."""
    from lendflow.dbt import DbtError, dbt_target_path, run_dbt

    settings = config.load()
    try:
        run_dbt(["docs", "generate"], settings)
        console.print(f"docs generated in {dbt_target_path(settings)}")
        if serve:
            console.print(f"serving on http://127.0.0.1:{port} (Ctrl-C stops)")
            run_dbt(["docs", "serve", "--port", str(port), "--host", "127.0.0.1", "--no-browser"], settings)
    except DbtError as error:
        fail(str(error))


@app.command("compile-manifest", rich_help_panel=PANEL)
def compile_manifest(
    target: Annotated[str, typer.Option(help=TARGET_HELP)] = "postgres",
) -> None:
    """Parse the dbt project into the manifest the Airflow DAGs render from (no database needed)."""
    from lendflow.dbt import DbtError
    from orchestration.runner import compile_manifest as compile_it

    try:
        path = compile_it(config.load(), target)
    except DbtError as error:
        fail(str(error))
    console.print(f"manifest for {target}: {path}")
