"""Shared fixtures: real services, and a test database of its own.

Tests use the project's local services (started here if needed, idempotently) but a
separate database, so `make test` never touches the data of `make run`.

`make test` runs the suite on two pytest-xdist workers (`-n 2 --dist loadfile`): each worker
has a database of its own (`lendflow_test_gw0`, ...), a file runs whole on one worker (its
module fixtures are built once), and the files that use Spark run together on one worker,
first: two Spark JVMs side by side on two cores slow each other down more than they gain.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import Phase
from hypothesis import settings as hypothesis_settings

TEST_DB = "lendflow_test"
os.environ.setdefault("LENDFLOW_PG_DB", TEST_DB)
# One database per xdist worker (PYTEST_XDIST_WORKER: gw0, gw1, ...), as tests drop and create
# theirs; a worker inherits the name the controller set above and adds its own.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["LENDFLOW_PG_DB"] = f"{os.environ['LENDFLOW_PG_DB']}_{os.environ['PYTEST_XDIST_WORKER']}"

# The test files that start Spark: one lane, on one worker, scheduled first (the longest).
SPARK_LANE = frozenset(
    {
        "tests/integration/test_cluster_warehouse.py",
        "tests/integration/test_incremental_marts.py",
        "tests/integration/test_spark.py",
        "tests/integration/test_spark_cluster.py",
    }
)

# Ports of the servers a test starts in a home of its own. Below 32768, outside the ports Linux
# hands to outgoing connections (32768-60999): at 55532 a client socket of the suite once held
# the port and the faults test's PostgreSQL could not bind it (CI). A broker also takes port + 1.
OWN_PG_PORT = 25532
OWN_BROKER_PORT = 29292
OWN_CYCLED_BROKER_PORT = 29192

from lendflow import settings as config  # noqa: E402  (the environment must be set first)
from lendflow.services import airflow as _airflow  # noqa: E402
from lendflow.settings import Settings  # noqa: E402

# Airflow reads its settings once, when first imported: point it at lendflow's before any test does.
_airflow.activate(config.load())


@pytest.fixture(scope="session")
def settings() -> Settings:
    return config.load()


@pytest.fixture(scope="session")
def postgres(settings: Settings) -> Iterator[Settings]:
    """The real PostgreSQL server, with a freshly created test database."""
    from lendflow.services import postgres as pg

    pg.start(settings)
    yield recreate_database(settings)


def recreate_database(settings: Settings) -> Settings:
    """Drop and create settings' database, with the schemas and grants `lendflow up` gives."""
    from lendflow.services import postgres as pg

    pg.recreate_database(settings)
    return settings


@pytest.fixture(scope="session")
def own_database(postgres: Settings) -> Callable[[str], Settings]:
    """A fresh database of its own, `<test db>_<suffix>`, for tests whose counts must see only their data."""
    return lambda suffix: recreate_database(dataclasses.replace(postgres, pg_db=f"{postgres.pg_db}_{suffix}"))


def only_as(settings: Settings, *roles: str) -> Settings:
    """settings that can log in only as `roles`: the owner's DSN carries a wrong password, so a
    step that quietly used the owner instead fails to connect (proof it needs only those roles)."""
    wrong = secrets.token_urlsafe(12)  # not the owner's: a fresh random one
    owner_locked_out = psycopg.conninfo.make_conninfo(settings.pg_dsn, password=wrong)
    return dataclasses.replace(
        settings,
        pg_dsn_override=owner_locked_out,
        role_dsn_overrides={role: settings.role_dsn(role) for role in roles},
    )


@pytest.fixture(scope="session")
def kafka(settings: Settings) -> Settings:
    from lendflow.services import kafka as broker

    broker.start(settings)
    return settings


@pytest.fixture(scope="session")
def local_cluster(postgres: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The local Spark cluster (`lendflow up -s spark-cluster`): master, worker, Thrift server, in a
    home of its own on free ports, its metastore in the test server; settings that send Spark
    work to it (spark_target spark_thrift). Stopped at the end of the session."""
    from lendflow.services import spark_cluster
    from lendflow.services.base import free_port

    home = tmp_path_factory.mktemp("cluster_home")
    # Spark's Ivy cache is shared by every home: the JDBC driver is not fetched again. On a fresh
    # clone nothing has made it yet, and a cluster cannot fetch into a link to nowhere.
    postgres.spark_packages_dir.mkdir(parents=True, exist_ok=True)
    (home / "spark-packages").symlink_to(postgres.spark_packages_dir, target_is_directory=True)
    settings = dataclasses.replace(
        postgres,
        home=home,
        # The running server and broker: external to this home, so nothing here starts another.
        pg_dsn_override=postgres.pg_dsn,
        kafka_bootstrap_override=postgres.kafka_bootstrap,
        spark_home_override=home / "spark",
        spark_master_port=free_port(),
        spark_master_ui_port=free_port(pairs=True),
        spark_thrift_host=config.LOCAL_HOST,
        spark_thrift_port=free_port(),
        spark_target="spark_thrift",
    )
    spark_cluster.drop_metastore(settings)  # a fresh catalog: an earlier session's tables point at deleted folders
    try:
        spark_cluster.start(settings)
        yield settings
    finally:
        spark_cluster.stop(settings)


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated sample of 2,000 loans (CSV and Parquet) shared by the integration tests."""
    from sample.files import write_sample

    out = tmp_path_factory.mktemp("sample")
    write_sample(out, rows=2_000, seed=7, stream_rows=500, progress=False)
    return out


@pytest.fixture(scope="session")
def dbt_manifest(settings: Settings) -> Path:
    """The dbt manifest the Airflow DAGs render from, compiled from the project as it is now."""
    from orchestration.runner import compile_manifest

    return compile_manifest(settings, "postgres")


def _test_file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The Spark lane first (a stable sort: each file keeps its order), and every test that
    needs Spark in it, so no Spark JVM ever runs beside the lane's."""
    strays = sorted({_test_file(i.nodeid) for i in items if i.get_closest_marker("spark")} - SPARK_LANE)
    if strays:
        raise pytest.UsageError(f"tests marked spark outside conftest.SPARK_LANE: {', '.join(strays)}")
    items.sort(key=lambda item: _test_file(item.nodeid) not in SPARK_LANE)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """--dist loadfile, with the Spark lane's files as one unit of work (see the module's docstring)."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SparkLaneScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = _test_file(nodeid)
            return "spark lane" if file in SPARK_LANE else file

    return SparkLaneScheduling(config, log)


# Property-based tests draw from a fixed seed unless asked otherwise, so a CI run repeats
# exactly: HYPOTHESIS_PROFILE=explore draws new examples (and keeps failures in .hypothesis/).
# No shrinking in "ci": an example of the dirty-data test is a dbt build (~15 s), and shrinking
# runs hundreds; the failing example is printed whole.
hypothesis_settings.register_profile(
    "ci", derandomize=True, database=None, print_blob=True, phases=[Phase.explicit, Phase.reuse, Phase.generate]
)
hypothesis_settings.register_profile("explore", derandomize=False, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
