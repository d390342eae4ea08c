"""docker-compose.yml's Spark cluster: its configuration files, rendered from lendflow/services/spark.py.

The stack's master, worker and Thrift server (apache/spark image) read docker/spark/conf as their
SPARK_CONF_DIR: the spark-defaults.conf of `compose_spark_defaults` (the local cluster's
settings, on the stack's host names and volume), a hive-site.xml that keeps Hive's metastore in
the stack's PostgreSQL, and a spark-env.sh that sizes the worker as the local cluster's default.
The one-shot spark-metastore-init job (docker/spark/metastore/init.sh) reads
docker/spark/metastore: where the JDBC driver comes from, and SchemaTool's connection.

Compose cannot import Python, so the files are committed; tests/unit/test_compose.py fails when
they differ from what this module renders. After a change to the settings, regenerate them:

    .venv/bin/python -m lendflow.services.spark_compose
"""

from __future__ import annotations

import shlex
from pathlib import Path

from lendflow.services.spark import (
    POSTGRES_JDBC_PACKAGE,
    POSTGRES_JDBC_SHA256,
    compose_jdbc_driver_jar,
    compose_metastore_login,
    compose_spark_defaults,
    maven_central_url,
    metastore_properties,
    schema_tool_properties,
)
from lendflow.services.spark_cluster import DAEMON_MEMORY, hadoop_xml, properties_text
from lendflow.settings import REPO_ROOT, Settings

SPARK_DIR = REPO_ROOT / "docker" / "spark"
REGENERATE = ".venv/bin/python -m lendflow.services.spark_compose"
NOTE = f"Generated from lendflow/services/spark.py by `{REGENERATE}`: do not edit."


def shell_assignments(values: dict[str, str]) -> str:
    """values as lines a shell can source (spark-env.sh, the init job's variables)."""
    return "".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items())


def compose_spark_env() -> dict[str, str]:
    """spark-env.sh: the worker offers what the local cluster's does by default; the daemons stay small."""
    return {
        "SPARK_WORKER_CORES": str(Settings.spark_worker_cores),
        "SPARK_WORKER_MEMORY": Settings.spark_worker_memory,
        "SPARK_DAEMON_MEMORY": DAEMON_MEMORY,
    }


def jdbc_driver_download() -> dict[str, str]:
    """What the init job fetches into the shared volume, and where: the driver's classpath entry."""
    return {
        "JDBC_DRIVER_URL": maven_central_url(POSTGRES_JDBC_PACKAGE),
        "JDBC_DRIVER_SHA256": POSTGRES_JDBC_SHA256,
        "JDBC_DRIVER_JAR": compose_jdbc_driver_jar(),
    }


def rendered_files() -> dict[str, str]:
    """Each file under docker/spark/ (its path there) -> its text."""
    jdbc_url, user, password = compose_metastore_login()
    comment = f"# {NOTE}\n"
    hive_site = hadoop_xml(metastore_properties(jdbc_url, user, password))
    declaration, _, body = hive_site.partition("\n")
    return {
        "conf/spark-defaults.conf": comment + properties_text(compose_spark_defaults()),
        "conf/hive-site.xml": f"{declaration}\n<!-- {NOTE} -->\n{body}",
        "conf/spark-env.sh": comment + shell_assignments(compose_spark_env()),
        "metastore/schema-tool.properties": comment + properties_text(schema_tool_properties(jdbc_url, user)),
        "metastore/jdbc-driver.env": comment + shell_assignments(jdbc_driver_download()),
    }


def write(directory: Path = SPARK_DIR) -> list[Path]:
    written = []
    for name, text in rendered_files().items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def main() -> None:
    for path in write():
        print(path.relative_to(REPO_ROOT))


if __name__ == "__main__":
    main()
