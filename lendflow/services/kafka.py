"""The local Apache Kafka broker: one KRaft node (broker + controller, no ZooKeeper) on 127.0.0.1.

The jars come from Maven Central through streaming/kafka-broker/pom.xml (no tarball from
apache.org); everything else — config, cluster id, data, libs — lives under
``settings.kafka_home``, the log in ``settings.logs_dir/kafka.log`` and the pid in
``settings.run_dir/kafka.pid``. When ``LENDFLOW_KAFKA_BOOTSTRAP`` names an external cluster
nothing here starts or stops anything.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import uuid
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from lendflow.services.base import (
    Daemon,
    ServiceError,
    ServiceStatus,
    pid_alive,
    port_is_open,
    spawn_detached,
    start_lock,
    tail,
    terminate,
    wait_until,
)
from lendflow.settings import LOCAL_HOST, REPO_ROOT, Settings

POM = REPO_ROOT / "streaming" / "kafka-broker" / "pom.xml"
MARKER = ".lendflow-complete"  # in libs/: holds the sha256 of the pom the jars came from
START_TIMEOUT = 60.0


def _libs(settings: Settings) -> Path:
    return settings.kafka_home / "libs"


def _config(settings: Settings) -> Path:
    return settings.kafka_home / "server.properties"


DAEMON = Daemon("kafka")


def _require(tool: str, why: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ServiceError(f"`{tool}` is not on PATH; {why}")
    return path


def _java() -> str:
    return _require("java", "the local Kafka broker needs a JDK 17+ (e.g. apt-get install openjdk-17-jdk-headless)")


# --- jars ------------------------------------------------------------------
def ensure_jars(settings: Settings) -> Path:
    """Copy the broker's jars into kafka_home/libs once; the libs dir.

    Skipped when the marker holds the current pom's sha256, so a warm start never calls Maven
    and a pom change (e.g. a Kafka upgrade) replaces the jars instead of mixing versions.
    """
    libs = _libs(settings)
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()
    marker = libs / MARKER
    if marker.is_file() and marker.read_text().strip() == digest:
        return libs
    mvn = _require("mvn", "it fetches the Kafka broker jars from Maven Central (apt-get install maven)")
    _java()
    shutil.rmtree(libs, ignore_errors=True)
    libs.mkdir(parents=True)
    # The local repository stays the default (~/.m2), so other homes and CI reuse the download.
    cmd = [mvn, "-B", "-q", "-f", str(POM), "dependency:copy-dependencies", f"-DoutputDirectory={libs}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        out = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise ServiceError(f"maven could not fetch the Kafka jars ({' '.join(cmd)}):\n{out}")
    marker.write_text(digest + "\n")
    return libs


# --- config and storage ----------------------------------------------------
def _write_config(settings: Settings) -> Path:
    """server.properties for one combined broker+controller; rewritten each start so it follows settings."""
    home = settings.kafka_home
    port, cport = settings.kafka_port, settings.kafka_controller_port
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        # A dynamic (KIP-853) single-voter quorum: what `kafka-storage format --standalone` expects.
        "controller.quorum.bootstrap.servers": f"{LOCAL_HOST}:{cport}",
        "listeners": f"PLAINTEXT://{LOCAL_HOST}:{port},CONTROLLER://{LOCAL_HOST}:{cport}",
        "advertised.listeners": f"PLAINTEXT://{LOCAL_HOST}:{port},CONTROLLER://{LOCAL_HOST}:{cport}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(home / "data"),
        # One node: every internal topic must live with a single replica or it is never created.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "num.partitions": str(settings.kafka_partitions),
        # Tests and the pipeline start consumers right away; don't make them wait 3 s to join.
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "true",
    }
    path = _config(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    # log4j2 with no config logs only errors; ask for INFO on stdout, which spawn_detached sends to kafka.log.
    (home / "log4j2.properties").write_text(
        "status = warn\n"
        "appender.out.type = Console\n"
        "appender.out.name = OUT\n"
        "appender.out.layout.type = PatternLayout\n"
        "appender.out.layout.pattern = [%d] %p %m (%c)%n\n"
        "rootLogger.level = INFO\n"
        "rootLogger.appenderRef.out.ref = OUT\n"
        "logger.state.name = state.change.logger\n"
        "logger.state.level = WARN\n"
        # Each start dumps the full config ~9 times (~2,000 lines): keep the log readable for tail().
        "logger.config.name = org.apache.kafka.common.config.AbstractConfig\n"
        "logger.config.level = WARN\n"
    )
    return path


def _java_cmd(settings: Settings, main: str, *args: str) -> list[str]:
    home = settings.kafka_home
    return [
        _java(),
        "-Xmx512m",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={home / 'log4j2.properties'}",
        # log4j2's own shutdown hook races Kafka's: without this the SIGTERM shutdown goes unlogged.
        "-Dlog4j2.shutdownHookEnabled=false",
        "-cp",
        str(_libs(settings) / "*"),  # the JVM expands the wildcard itself; no shell involved
        main,
        *args,
    ]


def cluster_id_from(raw: bytes) -> str:
    """A KRaft cluster id: 16 bytes as URL-safe base64 without padding (`kafka-storage random-uuid`)."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def usable_cluster_id(cluster_id: str) -> bool:
    """Kafka's own Uuid.randomUuid never returns an id that starts with '-': the storage tool's
    argument parser would take it for an option and fail with "expected one argument"."""
    return len(cluster_id) == 22 and not cluster_id.startswith("-")


def _cluster_id(settings: Settings) -> str:
    """The cluster id, made once and kept in kafka_home; an unusable one left by an older version is replaced
    (it can never have formatted the storage)."""
    path = settings.kafka_home / "cluster.id"
    if path.is_file() and usable_cluster_id(path.read_text().strip()):
        return path.read_text().strip()
    cluster_id = cluster_id_from(uuid.uuid4().bytes)
    while not usable_cluster_id(cluster_id):
        cluster_id = cluster_id_from(uuid.uuid4().bytes)
    path.write_text(cluster_id + "\n")
    return cluster_id


def _format_storage(settings: Settings, config: Path) -> None:
    """Format the KRaft metadata log once; meta.properties marks it done (saves a JVM launch)."""
    if (settings.kafka_home / "data" / "meta.properties").is_file():
        return
    cmd = _java_cmd(
        settings, "kafka.tools.StorageTool", "format", "--config", str(config),
        "--cluster-id", _cluster_id(settings), "--standalone",
    )  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ServiceError(f"formatting Kafka storage failed:\n{(proc.stdout + proc.stderr).strip()[-3000:]}")


# --- process ---------------------------------------------------------------
def _our_pid(settings: Settings) -> int | None:
    """The pid of our broker if it is alive; a recycled pid that runs something else does not count."""
    pid = DAEMON.pid(settings)
    if pid is None:
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return None
    return pid if b"kafka.Kafka" in cmdline and str(_config(settings)).encode() in cmdline else None


def _metadata_ok(bootstrap: str, timeout: float = 5.0) -> bool:
    """True when the cluster answers a metadata request: the port alone opens before it can serve."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    try:
        admin.list_topics(timeout=timeout)
        return True
    except KafkaException:
        return False


def _ready(settings: Settings, pid: int) -> bool:
    if not pid_alive(pid):
        raise ServiceError("the Kafka broker exited during startup")  # start() appends the log's tail
    return port_is_open(LOCAL_HOST, settings.kafka_port) and _metadata_ok(settings.kafka_bootstrap, 2.0)


def start(settings: Settings) -> None:
    """Start the local broker if it is not already up; no-op for an external cluster."""
    if not settings.kafka_is_local:
        return
    with start_lock(settings, "kafka"):
        _start_locked(settings)


def _start_locked(settings: Settings) -> None:
    pid = _our_pid(settings)
    if pid is None:
        if port_is_open(LOCAL_HOST, settings.kafka_port) or port_is_open(LOCAL_HOST, settings.kafka_controller_port):
            raise ServiceError(
                f"port {settings.kafka_port} (or controller port {settings.kafka_controller_port}) is taken by another "
                "process, not lendflow's Kafka; stop it or set LENDFLOW_KAFKA_PORT"
            )
        ensure_jars(settings)
        config = _write_config(settings)
        _format_storage(settings, config)
        command = _java_cmd(settings, "kafka.Kafka", str(config))
        pid = spawn_detached(command, DAEMON.log_file(settings), DAEMON.pid_file(settings))
    # Also reached when our broker was found alive: one metadata round trip proves it serves.
    try:
        wait_until(lambda: _ready(settings, pid), START_TIMEOUT, f"Kafka on {settings.kafka_bootstrap}", 0.5)
    except ServiceError as exc:
        stop(settings)  # leave nothing half-started behind
        log = DAEMON.log_file(settings)
        raise ServiceError(f"{exc}\n--- {log} ---\n{tail(log, 40)}") from exc


def stop(settings: Settings) -> None:
    """Stop our broker (SIGTERM, then SIGKILL) and drop its pid file; no-op when not running or external."""
    if not settings.kafka_is_local:
        return
    pid = _our_pid(settings)
    if pid is not None:
        terminate(pid, timeout=30.0)  # a clean shutdown flushes logs, so give it a while
        if pid_alive(pid):
            raise ServiceError(f"Kafka broker (pid {pid}) did not stop")
    DAEMON.pid_file(settings).unlink(missing_ok=True)


def status(settings: Settings) -> ServiceStatus:
    if not settings.kafka_is_local:
        ok = _metadata_ok(settings.kafka_bootstrap, 3.0)
        return ServiceStatus("kafka", ok, settings.kafka_bootstrap, "" if ok else "not reachable", external=True)
    pid = _our_pid(settings)
    if pid is None:
        return ServiceStatus("kafka", False, settings.kafka_bootstrap, "not running")
    ok = port_is_open(LOCAL_HOST, settings.kafka_port)
    return ServiceStatus(
        "kafka", ok, settings.kafka_bootstrap, f"pid {pid}" + ("" if ok else ", port not answering yet")
    )


def ensure_topic(settings: Settings, topic: str, partitions: int | None = None) -> None:
    """Create topic if it does not exist yet (replication 1: a single node); existing topics are left alone."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    if topic in admin.list_topics(timeout=10).topics:
        return
    futures = admin.create_topics([NewTopic(topic, partitions or settings.kafka_partitions, 1)], operation_timeout=30)
    try:
        futures[topic].result(timeout=30)
    except KafkaException as exc:
        if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":  # lost a race with another creator: fine
            raise ServiceError(f"could not create Kafka topic {topic!r}: {exc}") from exc
