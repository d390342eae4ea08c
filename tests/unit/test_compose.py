"""Static checks of docker-compose.yml, the Dockerfile and .env.example (no Docker engine here).

The compose file must parse, validate against the Compose Specification's JSON schema
(tests/fixtures/compose-spec.json, see its $comment), and agree with the rest of the
project: the services and ports lendflow/settings.py names, the variables
profiles/profiles.yml reads, the DBT_PG_* lendflow/dbt.py derives, the roles of
lendflow/services/roles.py. Values are interpolated the way `docker compose config` does,
from .env.example with its empty secrets filled in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema
import pytest
import yaml
from psycopg.conninfo import conninfo_to_dict

from lendflow import settings as config
from lendflow.dbt import dbt_env
from lendflow.settings import REPO_ROOT, ROLES

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
# Publishes what the stack keeps inside by default (`-f docker-compose.yml -f` this one).
EXPOSE_FILE = REPO_ROOT / "docker-compose.expose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
SCHEMA_FILE = REPO_ROOT / "tests" / "fixtures" / "compose-spec.json"

STACK = {
    "postgres",
    "warehouse-init",
    "kafka",
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "dashboard",
    "pgadmin",
    "spark-metastore-init",
    "spark-master",
    "spark-worker",
    "spark-thrift",
}
ONE_SHOT = {"warehouse-init", "airflow-init", "spark-metastore-init"}
AIRFLOW = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}
OFFICIAL_IMAGES = {
    "postgres": "postgres:",
    "kafka": "apache/kafka:",
    "pgadmin": "dpage/pgadmin4:",
    "spark-metastore-init": "apache/spark:",
    "spark-master": "apache/spark:",
    "spark-worker": "apache/spark:",
    "spark-thrift": "apache/spark:",
}
SPARK = {"spark-master", "spark-worker", "spark-thrift"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|_KEY$|EMAIL$|ADMIN_USER$")
# Neither asks who connects: the containers reach them by name, the host only when asked.
UNAUTHENTICATED = {"kafka", "spark-thrift"}
LOCALHOST = "127.0.0.1"
ALL_INTERFACES = "0.0.0.0"  # what Docker binds a published port to when no address is given


# --- interpolation, as compose does it --------------------------------------------------
class MissingVariable(ValueError):
    pass


_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $VAR and $$."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["plain"]
        op, arg = match["op"], match["arg"] or ""
        value = env.get(name)
        unset_or_empty = not value
        if op in (":-", "-"):
            use_default = unset_or_empty if op == ":-" else value is None
            return arg if use_default else str(value)
        missing = unset_or_empty if op == ":?" else value is None
        if op in (":?", "?") and missing:
            raise MissingVariable(f"{name}: {arg}")
        return value or ""

    return _VARIABLE.sub(replace, text)


def referenced_variables(node: Any) -> set[str]:
    """Every variable the values of the compose file read ($$ escapes and comments aside)."""
    if isinstance(node, str):
        return {match["braced"] or match["plain"] for match in _VARIABLE.finditer(node) if not match["escaped"]}
    if isinstance(node, dict):
        return set().union(*(referenced_variables(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(referenced_variables(value) for value in node))
    return set()


def interpolated(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {key: interpolated(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolated(value, env) for value in node]
    return node


def merged(base: Any, override: Any) -> Any:
    """`docker compose -f base -f override`: mappings merge key by key, sequences (ports) add up."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {key: merged(base[key], value) if key in base else value for key, value in override.items()} | {
            key: value for key, value in base.items() if key not in override
        }
    if isinstance(base, list) and isinstance(override, list):
        return base + override
    return override


def read_env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def filled(env: Mapping[str, str]) -> dict[str, str]:
    """.env as a user fills it in: every empty secret gets a value (distinct, to trace it)."""
    return {name: value or f"filled-{name.lower()}" for name, value in env.items()}


# --- fixtures -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def raw_expose() -> dict[str, Any]:
    return yaml.safe_load(EXPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any], env_example: dict[str, str]) -> dict[str, Any]:
    return interpolated(raw, filled(env_example))


@pytest.fixture(scope="module")
def defaults_only(raw: dict[str, Any], env_example: dict[str, str]) -> dict[str, Any]:
    """Interpolated with the secrets alone: what compose's own defaults are."""
    secrets_only = {name: value for name, value in filled(env_example).items() if SECRET_NAME.search(name)}
    return interpolated(raw, secrets_only)


@pytest.fixture(scope="module")
def exposed_defaults(raw: dict[str, Any], raw_expose: dict[str, Any], env_example: dict[str, str]) -> dict[str, Any]:
    """The stack with docker-compose.expose.yml, on compose's own defaults."""
    secrets_only = {name: value for name, value in filled(env_example).items() if SECRET_NAME.search(name)}
    return interpolated(merged(raw, raw_expose), secrets_only)


@pytest.fixture()
def default_settings(monkeypatch: pytest.MonkeyPatch) -> config.Settings:
    import os

    for name in list(os.environ):
        if name.startswith("LENDFLOW_"):
            monkeypatch.delenv(name)
    return config.load()


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


class Binding(NamedTuple):
    host_ip: str
    published: str | None  # None: a port Docker picks
    target: str


def port_binding(entry: str | int | Mapping[str, Any]) -> Binding:
    """One entry of `ports:`, in the short syntax ([HOST:][PUBLISHED:]TARGET[/PROTOCOL], an
    IPv6 host in brackets) or the long one (target, published, host_ip)."""
    if isinstance(entry, Mapping):
        published = entry.get("published")
        host = str(entry.get("host_ip", ALL_INTERFACES))
        return Binding(host, None if published is None else str(published), str(entry["target"]))
    text = str(entry).split("/", 1)[0]
    host = ALL_INTERFACES
    if text.startswith("["):
        host, _, text = text[1:].partition("]:")
        published, _, target = text.rpartition(":")
        return Binding(host, published or None, target)
    parts = text.rsplit(":", 2)
    if len(parts) == 3:
        host = parts.pop(0)
    target = parts.pop()
    return Binding(host, parts[0] if parts else None, target)


def port_bindings(service: Mapping[str, Any]) -> list[Binding]:
    return [port_binding(entry) for entry in service.get("ports", [])]


def published(service: Mapping[str, Any], container_port: int) -> int:
    for binding in port_bindings(service):
        if int(binding.target) == container_port and binding.published:
            return int(binding.published)
    raise AssertionError(f"container port {container_port} is not published")


# --- it parses and validates ------------------------------------------------------------------
def compose_validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    # The schema names draft 2019-09 by a URI jsonschema does not know ("http://...#"): say it.
    return jsonschema.Draft201909Validator(schema)


def test_the_compose_file_validates_against_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    compose_validator(schema).validate(compose)


def test_the_stack_with_its_expose_file_validates_too(exposed_defaults: dict[str, Any]) -> None:
    compose_validator(json.loads(SCHEMA_FILE.read_text())).validate(exposed_defaults)
    assert set(exposed_defaults["services"]) == STACK


def test_the_schema_check_can_fail(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    broken = json.loads(json.dumps(compose))
    broken["services"]["postgres"]["healthcheck"]["intervall"] = "5s"
    with pytest.raises(jsonschema.ValidationError):
        compose_validator(schema).validate(broken)


def test_the_whole_stack_is_there(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == STACK


def test_official_images_pinned_to_a_version(compose: dict[str, Any]) -> None:
    for name, prefix in OFFICIAL_IMAGES.items():
        image = compose["services"][name]["image"]
        assert image.startswith(prefix), (name, image)
        tag = image.split(":", 1)[1]
        assert tag and tag != "latest" and tag[0].isdigit(), (name, image)
    for name in STACK - set(OFFICIAL_IMAGES):
        assert compose["services"][name]["build"]["dockerfile"] == "Dockerfile", name


def test_spark_cluster_runs_the_version_of_pyspark_in_the_lock(compose: dict[str, Any]) -> None:
    pinned = re.search(r"^pyspark==(\S+)$", (REPO_ROOT / "requirements.lock").read_text(), re.M)
    assert pinned
    for name in SPARK | {"spark-metastore-init"}:
        assert compose["services"][name]["image"] == f"apache/spark:{pinned[1]}"


def test_health_checks_and_dependencies_on_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        if name in ONE_SHOT:
            assert service["restart"] == "no", name
        else:
            assert service["healthcheck"]["test"], name
        for dependency, condition in service.get("depends_on", {}).items():
            wanted = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            assert condition == {"condition": wanted}, (name, dependency)
    assert {"warehouse-init", "airflow-init"} <= set(services["airflow-scheduler"]["depends_on"])
    assert "warehouse-init" in services["dashboard"]["depends_on"]


def test_state_lives_in_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    used = set()
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith(("./", "/")):
                used.add(source)
            else:
                assert (REPO_ROOT / source).exists(), volume
    assert used == declared
    for name in ("postgres", "kafka", "pgadmin"):
        assert compose["services"][name]["volumes"], name


# --- it agrees with settings.py and profiles.yml ---------------------------------------
def test_published_ports_are_the_local_stacks(
    defaults_only: dict[str, Any],
    exposed_defaults: dict[str, Any],
    default_settings: config.Settings,
    env_example: dict[str, str],
) -> None:
    exposed = exposed_defaults
    services = defaults_only["services"]
    assert published(services["postgres"], 5432) == default_settings.pg_port
    assert published(exposed["services"]["kafka"], 19092) == default_settings.kafka_port
    assert published(services["dashboard"], 8050) == default_settings.dashboard_port
    assert published(services["airflow-apiserver"], 8080) == default_settings.airflow_port
    # .env.example shows the same defaults compose and settings.py have.
    assert env_example["LENDFLOW_PG_PORT"] == str(default_settings.pg_port)
    assert env_example["LENDFLOW_KAFKA_PORT"] == str(default_settings.kafka_port)
    assert env_example["LENDFLOW_DASHBOARD_PORT"] == str(default_settings.dashboard_port)
    assert env_example["LENDFLOW_AIRFLOW_PORT"] == str(default_settings.airflow_port)
    assert env_example["LENDFLOW_PG_DB"] == default_settings.pg_db
    assert env_example["LENDFLOW_KAFKA_TOPIC"] == default_settings.kafka_topic
    assert env_example["LENDFLOW_KAFKA_PARTITIONS"] == str(default_settings.kafka_partitions)
    # The host listener is advertised on the port it is published on.
    kafka_env = environment(services["kafka"])
    assert f"HOST://localhost:{default_settings.kafka_port}" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]


def settings_variables() -> set[str]:
    source = (REPO_ROOT / "lendflow" / "settings.py").read_text()
    names = set(re.findall(r'"(LENDFLOW_[A-Z_]+)"', source))
    return names | {f"LENDFLOW_{role.upper()}_DSN" for role in ROLES}


def profile_variables(targets: tuple[str, ...] | None = None) -> dict[str, bool]:
    """Each variable profiles.yml reads (for the given targets: all) -> whether it has a default."""
    profile = yaml.safe_load((REPO_ROOT / "profiles" / "profiles.yml").read_text())["lendflow"]
    outputs = profile["outputs"]
    text = profile["target"] + json.dumps([outputs[name] for name in targets or tuple(outputs)])
    found: dict[str, bool] = {}
    for name, rest in re.findall(r"env_var\('([A-Z_]+)'(\s*,|\s*\))", text):
        found[name] = found.get(name, False) or rest.strip() == ","
    return found


def test_every_lendflow_variable_in_compose_is_one_settings_reads(compose: dict[str, Any]) -> None:
    known = settings_variables()
    for name, service in compose["services"].items():
        unknown = {key for key in environment(service) if key.startswith("LENDFLOW_")} - known
        assert not unknown, (name, unknown)


def test_every_dbt_variable_in_compose_is_one_the_profiles_read(compose: dict[str, Any]) -> None:
    known = set(profile_variables())
    for name, service in compose["services"].items():
        unknown = {key for key in environment(service) if key.startswith("DBT_")} - known
        assert not unknown, (name, unknown)


def test_airflow_runs_dbt_with_everything_the_profiles_need(compose: dict[str, Any]) -> None:
    # The stack's dbt targets: its PostgreSQL and its Spark cluster's Thrift server (the
    # in-process spark target runs only where lendflow sets its variables).
    variables = profile_variables(("postgres", "spark_thrift"))
    required = {name for name, has_default in variables.items() if not has_default}
    assert {"DBT_PG_PASSWORD", "DBT_SPARK_THRIFT_CONF"} <= required
    for name in AIRFLOW:
        assert required <= set(environment(compose["services"][name])), name


def test_compose_spark_session_settings_are_the_ones_lendflow_derives(compose: dict[str, Any]) -> None:
    # The answers depend on these settings; compose cannot import them, so it holds a copy.
    env = environment(compose["services"]["airflow-scheduler"])
    assert json.loads(env["DBT_SPARK_THRIFT_CONF"]) == json.loads(dbt_env(config.load())["DBT_SPARK_THRIFT_CONF"])


def test_compose_dbt_variables_match_what_lendflow_derives(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `lendflow dbt` in a container derives DBT_PG_* from LENDFLOW_PG_DSN; Cosmos reads the
    # DBT_PG_* compose sets. Both must name the same connection.
    env = environment(compose["services"]["airflow-scheduler"])
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    derived = dbt_env(config.load())
    for key in ("DBT_PG_HOST", "DBT_PG_PORT", "DBT_PG_USER", "DBT_PG_PASSWORD", "DBT_PG_DBNAME"):
        assert env[key] == derived[key], key
    # Least privilege: dbt builds as the transformer, never as the warehouse's owner.
    assert derived["DBT_PG_USER"] == "lendflow_transformer"


def test_connections_name_services_of_the_stack(compose: dict[str, Any]) -> None:
    services = compose["services"]
    postgres_env = environment(services["postgres"])
    for name, service in services.items():
        env = environment(service)
        for key, value in env.items():
            if key.startswith("LENDFLOW_") and key.endswith("_DSN"):
                parts = conninfo_to_dict(value)
                assert (parts["host"], parts["port"]) == ("postgres", "5432"), (name, key)
                assert parts["dbname"] == postgres_env["POSTGRES_DB"], (name, key)
        if "LENDFLOW_PG_DSN" in env:
            assert conninfo_to_dict(env["LENDFLOW_PG_DSN"])["user"] == postgres_env["POSTGRES_USER"]
            assert conninfo_to_dict(env["LENDFLOW_PG_DSN"])["password"] == postgres_env["POSTGRES_PASSWORD"]
        if "LENDFLOW_KAFKA_BOOTSTRAP" in env:
            host, port = env["LENDFLOW_KAFKA_BOOTSTRAP"].split(":")
            assert (
                host in services
                and f"PLAINTEXT://{host}:{port}" in environment(services[host])["KAFKA_ADVERTISED_LISTENERS"]
            )
        if "DBT_SPARK_HOST" in env:
            thrift = services[env["DBT_SPARK_HOST"]]
            assert f"hive.server2.thrift.port={env['DBT_SPARK_PORT']}" in thrift["command"]
        if "AIRFLOW__CORE__EXECUTION_API_SERVER_URL" in env:
            assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"


def test_airflow_in_compose_is_laid_out_as_the_local_one(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lendflow.services.airflow import DAGS_FOLDER

    image_env = dict(re.findall(r"(LENDFLOW_HOME|AIRFLOW_HOME)=(\S+)", (REPO_ROOT / "Dockerfile").read_text()))
    monkeypatch.setenv("LENDFLOW_HOME", image_env["LENDFLOW_HOME"])
    in_image = config.load()
    assert image_env["AIRFLOW_HOME"] == str(in_image.airflow_home)
    for name in AIRFLOW | {"airflow-init"}:
        service = compose["services"][name]
        env = environment(service)
        assert env["AIRFLOW_HOME"] == str(in_image.airflow_home), name
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/app/" + str(DAGS_FOLDER.relative_to(REPO_ROOT)), name
        assert f"lendflow-state:{in_image.home}" in service["volumes"], name


def test_airflow_in_compose_configures_cosmos_as_the_local_one(
    compose: dict[str, Any], default_settings: config.Settings
) -> None:
    from lendflow.services.airflow import airflow_env

    local = {k: v for k, v in airflow_env(default_settings).items() if k.startswith("AIRFLOW__COSMOS__")}
    local.pop("AIRFLOW__COSMOS__CACHE_DIR")  # a path of the local checkout
    assert "AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY" in local
    for name in AIRFLOW:
        env = environment(compose["services"][name])
        assert {k: env.get(k) for k in local} == local, name


def test_postgres_in_compose_runs_with_the_local_servers_options(compose: dict[str, Any]) -> None:
    """The same server settings (JIT off, memory, WAL) on both, so builds behave alike."""
    from lendflow.services.postgres import SHARED_SERVER_OPTIONS

    command = compose["services"]["postgres"]["command"]
    assert command[0] == "postgres"
    options = dict(pair.split("=", 1) for flag, pair in zip(command[1::2], command[2::2], strict=True) if flag == "-c")
    assert options == SHARED_SERVER_OPTIONS


def test_role_dsns_name_the_roles_the_bootstrap_creates(compose: dict[str, Any]) -> None:
    env = environment(compose["services"]["warehouse-init"])
    for role in ROLES:
        assert conninfo_to_dict(env[f"LENDFLOW_{role.upper()}_DSN"])["user"] == f"lendflow_{role}"


# --- the Spark cluster: the local cluster's configuration -------------------------------------
def test_compose_spark_files_are_the_ones_lendflow_renders() -> None:
    # Compose cannot import lendflow/services/spark.py, so the stack's Spark configuration is
    # committed as rendered; a change to the settings must come with the files.
    from lendflow.services.spark_compose import REGENERATE, SPARK_DIR, rendered_files

    rendered = rendered_files()
    for name, text in rendered.items():
        path = SPARK_DIR / name
        committed = path.read_text() if path.is_file() else None
        assert committed == text, f"{path.relative_to(REPO_ROOT)} is stale: regenerate it with `{REGENERATE}`"
    conf_files = {path.name for path in (SPARK_DIR / "conf").iterdir()}
    assert conf_files == {name.removeprefix("conf/") for name in rendered if name.startswith("conf/")}


def spark_conf_dir_mount(service: Mapping[str, Any]) -> str:
    """The repository folder a Spark service reads as its SPARK_CONF_DIR."""
    conf_dir = environment(service)["SPARK_CONF_DIR"]
    (source,) = [v.split(":")[0] for v in service.get("volumes", []) if v.split(":")[1] == conf_dir]
    return source


def test_spark_services_read_the_rendered_configuration_only(compose: dict[str, Any]) -> None:
    from lendflow.services.spark import COMPOSE_MASTER_URL, COMPOSE_WORK_DIR, compose_spark_defaults

    services = compose["services"]
    for name in SPARK:
        service = services[name]
        assert spark_conf_dir_mount(service) == "./docker/spark/conf", name
        # Every Spark setting comes from spark-defaults.conf, none from a command line.
        assert not [arg for arg in service["command"] if arg in ("--conf", "-c") or arg.startswith("spark.")], name
    assert compose_spark_defaults()["spark.master"] == COMPOSE_MASTER_URL
    host, port = COMPOSE_MASTER_URL.removeprefix("spark://").split(":")
    assert host in services
    master = services["spark-master"]["command"]
    assert master[master.index("--host") + 1] == host and master[master.index("--port") + 1] == port
    assert COMPOSE_MASTER_URL in services["spark-worker"]["command"]
    # The warehouse, and the JDBC driver the init job fetches, in one volume: the Thrift server
    # (the driver) and the worker's executors read and write the same folder.
    defaults = compose_spark_defaults()
    for key in ("spark.sql.warehouse.dir", "spark.driver.extraClassPath"):
        assert defaults[key].startswith(COMPOSE_WORK_DIR + "/"), key
    for name in ("spark-worker", "spark-thrift", "spark-metastore-init"):
        assert f"spark-data:{COMPOSE_WORK_DIR}" in services[name]["volumes"], name


def test_compose_worker_is_sized_as_the_local_clusters_default(default_settings: config.Settings) -> None:
    from lendflow.services.spark import compose_spark_defaults
    from lendflow.services.spark_compose import compose_spark_env

    env = compose_spark_env()
    assert env["SPARK_WORKER_CORES"] == str(default_settings.spark_worker_cores)
    assert env["SPARK_WORKER_MEMORY"] == default_settings.spark_worker_memory
    assert compose_spark_defaults()["spark.cores.max"] == str(default_settings.spark_worker_cores // 2)


def test_the_metastore_is_a_database_of_the_stacks_postgres_made_before_thrift(compose: dict[str, Any]) -> None:
    from lendflow.services.spark import COMPOSE_METASTORE_PASSWORD_VARIABLE, compose_metastore_login

    services = compose["services"]
    jdbc_url, user, password = compose_metastore_login()
    host_port, _, database = jdbc_url.removeprefix("jdbc:postgresql://").partition("/")
    assert host_port == "postgres:5432" and user == database
    # The postgres image's init script creates that database and role, with the password that
    # the Thrift server (hive-site.xml) and the schema job read from the same variable.
    initdb = (REPO_ROOT / "docker" / "postgres" / "initdb.d" / "20-spark-metastore.sh").read_text()
    assert f"create database {database} owner {user}" in initdb
    assert f"role {user} with login" in initdb
    assert COMPOSE_METASTORE_PASSWORD_VARIABLE == "SPARK_METASTORE_PASSWORD"
    assert password == "${env.SPARK_METASTORE_PASSWORD}"  # Hadoop's syntax for an environment variable
    secret = environment(services["postgres"])[COMPOSE_METASTORE_PASSWORD_VARIABLE]
    for name in ("spark-thrift", "spark-metastore-init"):
        assert environment(services[name])[COMPOSE_METASTORE_PASSWORD_VARIABLE] == secret, name
    init = services["spark-metastore-init"]
    assert {v.split(":")[0] for v in init["volumes"]} >= {"./docker/spark/metastore"}
    assert init["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert "spark-metastore-init" in services["spark-thrift"]["depends_on"]


# --- exposure: what listens on the host ---------------------------------------------------------
@pytest.mark.parametrize(
    ("entry", "binding"),
    [
        ("8080:80", Binding(ALL_INTERFACES, "8080", "80")),
        ("80", Binding(ALL_INTERFACES, None, "80")),
        ("127.0.0.1:8080:80/udp", Binding(LOCALHOST, "8080", "80")),
        ("[::1]:8080:80", Binding("::1", "8080", "80")),
        ("::1:8080:80", Binding("::1", "8080", "80")),
        ("0.0.0.0:9000-9001:9000-9001", Binding(ALL_INTERFACES, "9000-9001", "9000-9001")),
        ({"target": 80, "published": "8080"}, Binding(ALL_INTERFACES, "8080", "80")),
        ({"target": 80, "published": 8080, "host_ip": LOCALHOST}, Binding(LOCALHOST, "8080", "80")),
        ({"target": 80}, Binding(ALL_INTERFACES, None, "80")),
    ],
)
def test_port_entries_are_read_in_both_syntaxes(entry: str | dict[str, Any], binding: Binding) -> None:
    assert port_binding(entry) == binding


def test_every_published_port_listens_on_localhost_only_by_default(
    defaults_only: dict[str, Any], compose: dict[str, Any], exposed_defaults: dict[str, Any]
) -> None:
    for stack in (defaults_only, compose, exposed_defaults):
        wider = [
            (name, binding)
            for name, service in stack["services"].items()
            for binding in port_bindings(service)
            if binding.host_ip != LOCALHOST
        ]
        assert wider == []
    published_services = {name for name, service in defaults_only["services"].items() if service.get("ports")}
    assert published_services == {"postgres", "airflow-apiserver", "dashboard", "pgadmin", "spark-master"}


def test_kafka_and_the_thrift_server_are_published_only_when_asked(
    defaults_only: dict[str, Any], exposed_defaults: dict[str, Any], default_settings: config.Settings
) -> None:
    for name in UNAUTHENTICATED:
        assert not defaults_only["services"][name].get("ports"), name
    exposed = exposed_defaults["services"]
    assert port_bindings(exposed["kafka"]) == [Binding(LOCALHOST, str(default_settings.kafka_port), "19092")]
    assert port_bindings(exposed["spark-thrift"]) == [Binding(LOCALHOST, "10000", "10000")]
    # The expose file adds ports and nothing else.
    assert {name: set(service) for name, service in yaml.safe_load(EXPOSE_FILE.read_text())["services"].items()} == {
        name: {"ports"} for name in UNAUTHENTICATED
    }


def test_the_bind_address_is_one_setting_for_every_port(
    raw: dict[str, Any], raw_expose: dict[str, Any], env_example: dict[str, str]
) -> None:
    assert env_example["LENDFLOW_BIND_ADDRESS"] == LOCALHOST
    opened = interpolated(merged(raw, raw_expose), filled(env_example) | {"LENDFLOW_BIND_ADDRESS": ALL_INTERFACES})
    hosts = {b.host_ip for service in opened["services"].values() for b in port_bindings(service)}
    assert hosts == {ALL_INTERFACES}


# --- secrets and least privilege ----------------------------------------------------------------
def test_secrets_have_no_defaults_and_must_be_set(raw: dict[str, Any], env_example: dict[str, str]) -> None:
    text = COMPOSE_FILE.read_text() + EXPOSE_FILE.read_text()
    used = referenced_variables(raw) | referenced_variables(yaml.safe_load(EXPOSE_FILE.read_text()))
    assert used == set(env_example), "every variable compose reads is in .env.example, and no other"
    secrets = {name for name in used if SECRET_NAME.search(name)}
    assert {"LENDFLOW_PG_PASSWORD", "AIRFLOW_ADMIN_PASSWORD", "PGADMIN_PASSWORD", "PGADMIN_EMAIL"} <= secrets
    for name in secrets:
        assert env_example[name] == "", f".env.example must leave {name} empty"
        for use in re.findall(r"\$\{" + name + r"([^}]*)\}", text):
            assert use.startswith(":?"), f"${{{name}{use}}} must be required (${{{name}:?...}})"
    # With the example as it is (secrets empty), compose refuses to start.
    with pytest.raises(MissingVariable):
        interpolated(raw, env_example)


def test_no_default_logins_for_airflow_and_pgadmin(compose: dict[str, Any], env_example: dict[str, str]) -> None:
    values = filled(env_example)
    for name in AIRFLOW | {"airflow-init"}:
        env = environment(compose["services"][name])
        assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == f"{values['AIRFLOW_ADMIN_USER']}:admin"
        assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] == "False"
        assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"].startswith(env["AIRFLOW_HOME"] + "/")
    pgadmin = environment(compose["services"]["pgadmin"])
    assert pgadmin["PGADMIN_DEFAULT_EMAIL"] == values["PGADMIN_EMAIL"]
    assert pgadmin["PGADMIN_DEFAULT_PASSWORD"] == values["PGADMIN_PASSWORD"]
    assert pgadmin["PGADMIN_CONFIG_SERVER_MODE"] == "True"
    assert "admin:admin" not in COMPOSE_FILE.read_text()


def test_dashboard_and_pgadmin_hold_the_readers_credentials_only(
    compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    values = filled(env_example)
    stronger = [values[f"LENDFLOW_{name}_PASSWORD"] for name in ("PG", "LOADER", "TRANSFORMER")]
    stronger += [values["AIRFLOW_DB_PASSWORD"], values["AIRFLOW_ADMIN_PASSWORD"]]
    for name in ("dashboard", "pgadmin"):
        blob = json.dumps(compose["services"][name])
        assert not [secret for secret in stronger if secret in blob], name
        assert values["LENDFLOW_READER_PASSWORD"] in blob, name
    dashboard = environment(compose["services"]["dashboard"])
    assert conninfo_to_dict(dashboard["LENDFLOW_READER_DSN"])["user"] == "lendflow_reader"
    command = compose["services"]["dashboard"]["command"]
    assert command[0] == "gunicorn" and "debug" not in " ".join(command).lower()
    module, _, attribute = command[-1].partition(":")
    wsgi = (REPO_ROOT / (module.replace(".", "/") + ".py")).read_text()
    assert re.search(rf"^{attribute} = ", wsgi, re.M), f"{command[-1]} names no WSGI app"
    assert "0.0.0.0:8050" in command  # all interfaces of the container, on the port compose publishes
    servers = json.loads((REPO_ROOT / "docker" / "pgadmin" / "servers.json").read_text())["Servers"]
    assert [server["Username"] for server in servers.values()] == ["lendflow_reader"]
    assert all(server["Host"] == "postgres" for server in servers.values())


# --- the project's image --------------------------------------------------------------------
def test_dockerfile_pinned_non_root_and_installs_the_lock() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text()
    base = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert len(base) == 1 and re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base[0]), base
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0"), users
    assert re.search(r"uv pip install .*-r requirements\.lock", text)
    makefile_uv = re.search(r"^UV_VERSION\s*:=\s*(\S+)", (REPO_ROOT / "Makefile").read_text(), re.M)
    assert makefile_uv and f"ARG UV_VERSION={makefile_uv[1]}" in text
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".lendflow", ".git"} <= set(ignored)
