"""Airflow DAG `dashboard_cache_refresh`: scheduled on the marts' assets, which Cosmos emits
as each dbt model builds; when they have all been rebuilt, move the dashboard onto the new data."""

from datetime import datetime

from airflow.sdk import DAG, Asset, task

from lendflow import settings as config
from orchestration.config import DEFAULT_ARGS
from orchestration.manifest import mart_asset_uris, read_manifest

_settings = config.load()

with DAG(
    dag_id="dashboard_cache_refresh",
    schedule=[Asset(uri) for uri in mart_asset_uris(_settings, read_manifest(_settings, "postgres"))],
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["lendflow", "dashboard"],
    doc_md=__doc__,
) as dag:

    @task
    def refresh_dashboard_cache() -> dict[str, object]:
        from orchestration import steps

        return steps.refresh_dashboard_cache(config.load())

    refresh_dashboard_cache()
