"""Benchmark: freshness of the stream path, from a message's send to its loan in the marts.

    LENDFLOW_PG_DB=lendflow_fresh .venv/bin/python bench/bench_freshness.py \
        [--rows 1000000] [--rate 200] [--seconds 300] [--via stream|dag]

The database named by LENDFLOW_PG_DB is dropped and recreated (never the default `lendflow`).
Steps: land --rows generated loans, run the Python steps and a full dbt build (the warehouse);
vacuum and analyze the database (unless --no-vacuum); on a topic of its own, start what keeps the
marts fresh and wait until it is ready:

- `--via stream` (the default): `lendflow stream`, until its first cycle;
- `--via dag`: real Airflow (`airflow standalone`: scheduler, triggerer, DAG processor, API
  server) on a home of its own under the logs folder holding only the event-driven DAG
  `lending_stream`, unpaused, until its asset watcher holds the topic and the API server answers.

Then a producer sends --rate messages/s for --seconds: new loans (the stream sample) and, one in
--update-every, a new amount for a loan already built (an amount of its own, so its arrival can be
seen). A watcher reads marts.fct_loans and marts.dash_portfolio_totals every 0.2 s. For every
message:

- fct_loans: from its send to the first read that shows its loan (with its amount);
- dashboard: from its send to the first read of dash_portfolio_totals built by the build that
  wrote the loan or a later one (its built_at after the row's dbt_updated_at, the build's start).

Prints p50 / p95 / max of both; the stream's cycles and builds, or the DAG's runs by state; events/s;
memory (RSS: of the stream process, or of Airflow's whole process tree) at 1 minute (or a fifth of
the run if shorter), at the end and its peak; and messages lost (never visible within --drain
seconds after the last send) and duplicated (fct_loans rows per loan, raw rows per offset). The
path of the runner's log is printed (Airflow's own output goes there, not to the terminal). With
`--via dag`, every Airflow process is stopped at the end and the bench checks that none is left
(exit status 1 if one is). Results also go to bench/results/freshness.json (freshness-dag.json).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pyarrow.parquet as pq
from bench_dbt import generated_sample, own_warehouse
from bench_engines import tree_rss
from confluent_kafka import Producer
from rich.console import Console
from rich.table import Table

from ingestion.land import land_file
from lendflow.dbt import run_dbt
from lendflow.services import kafka, postgres
from lendflow.services.airflow import standalone
from lendflow.settings import REPO_ROOT, Settings
from orchestration.runner import compile_manifest
from python_steps import run as python_steps
from streaming.producer import encode, producer_config

RESULTS = Path(__file__).parent / "results" / "freshness.json"
STREAM_DAG_ID = "lending_stream"
STREAM_DAG_FILE = REPO_ROOT / "orchestration" / "dags" / f"{STREAM_DAG_ID}.py"
POLL_SECONDS = 0.2
say = Console(stderr=True).print


@dataclass
class Sent:
    loan_id: int
    amount: float
    at: float  # wall clock, seconds
    in_fct: float | None = None
    stamp: datetime | None = None  # dbt_updated_at of the row that showed it: its build's start
    on_dashboard: float | None = None


@dataclass
class Watch:
    """What the watcher saw: per message, and the stream process's memory over time."""

    sent: list[Sent] = field(default_factory=list)
    memory: list[tuple[float, int]] = field(default_factory=list)  # (seconds since the first send, RSS)
    lock: threading.Lock = field(default_factory=threading.Lock)


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p95 and max (0s when there is nothing to measure)."""
    if not values:
        return 0.0, 0.0, 0.0
    if len(values) == 1:
        return values[0], values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return statistics.median(values), cuts[94], max(values)


def messages(
    new: list[dict[str, Any]], existing: list[dict[str, Any]], total: int, update_every: int
) -> Iterator[dict[str, Any]]:
    """`total` records: new loans, and every update_every-th a new amount for an existing loan."""
    new_loans, updates = iter(new), iter(existing)
    for i in range(total):
        if update_every and i % update_every == update_every - 1:
            amount = 100_000.0 + i  # above every generated amount: its arrival is unmistakable
            yield {**next(updates), "Loan Amount": amount, "Funded Amount": amount}
        else:
            yield next(new_loans)


def produce(settings: Settings, topic: str, records: Iterator[dict[str, Any]], rate: float, watch: Watch) -> None:
    producer = Producer(producer_config(settings))
    started = time.monotonic()
    for i, record in enumerate(records):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        key, value = encode(record)
        with watch.lock:
            watch.sent.append(Sent(int(record["Loan Id"]), float(record["Loan Amount"]), time.time()))
        producer.produce(topic, key=key, value=value)
        producer.poll(0)
    producer.flush(60)


def watch_marts(settings: Settings, watch: Watch, memory: Callable[[], int], done: threading.Event) -> None:
    """Every POLL_SECONDS: which sent loans fct_loans shows, when the dashboard's totals were built,
    and the memory of what runs the stream path."""
    first_send: float | None = None
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        while not done.is_set():
            now = time.time()
            with watch.lock:
                waiting = [s for s in watch.sent if s.in_fct is None]
                unseen_on_dashboard = [s for s in watch.sent if s.in_fct is not None and s.on_dashboard is None]
                first_send = first_send or (watch.sent[0].at if watch.sent else None)
            if waiting:
                rows = conn.execute(
                    "select loan_id, loan_amount, dbt_updated_at from marts.fct_loans where loan_id = any(%s)",
                    ([s.loan_id for s in waiting],),
                ).fetchall()
                found = {loan: (float(amount), stamp) for loan, amount, stamp in rows}
                for sent in waiting:
                    row = found.get(sent.loan_id)
                    if row is not None and abs(row[0] - sent.amount) < 0.005:
                        sent.in_fct, sent.stamp = now, row[1]
                        unseen_on_dashboard.append(sent)
            built = conn.execute("select built_at at time zone 'UTC' from marts.dash_portfolio_totals").fetchone()
            for sent in unseen_on_dashboard:
                if built is not None and sent.stamp is not None and built[0] > sent.stamp:
                    sent.on_dashboard = now
            if first_send is not None:
                try:
                    watch.memory.append((now - first_send, memory()))
                except psutil.NoSuchProcess:
                    return
            time.sleep(max(0.0, POLL_SECONDS - (time.time() - now)))


def memory_at(memory: list[tuple[float, int]], seconds: float) -> int:
    """The RSS read closest to `seconds` after the first send (0 when none was read)."""
    if not memory:
        return 0
    return min(memory, key=lambda point: abs(point[0] - seconds))[1]


@dataclass
class Run:
    """What runs the stream path while the bench sends: its memory now, and its counts once stopped."""

    memory: Callable[[], int]  # RSS in bytes; raises psutil.NoSuchProcess once it has gone
    log: Path
    counts: dict[str, Any] = field(default_factory=dict)


@contextmanager
def stream_process(settings: Settings, topic: str, log: Path) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, "LENDFLOW_PG_DB": settings.pg_db, "PYTHONUNBUFFERED": "1"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "stream", "--topic", topic, "--group", f"bench-{topic}"],
            env=env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            yield proc
        finally:
            proc.terminate()  # SIGTERM: it stops after the current cycle and prints its summary
            try:
                proc.wait(timeout=300)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def via_stream(settings: Settings, topic: str) -> Iterator[Run]:
    """`lendflow stream` on topic, from its first cycle on; its cycles and builds once stopped."""
    log = settings.logs_dir / f"{topic}.log"
    with stream_process(settings, topic, log) as proc:
        wait_for_text(log, r"cycle 1:", 600, proc)  # started, parsed, its first (owed) build done
        say(f"stream log: {log}")
        run = Run(partial(process_rss, proc.pid), log)
        yield run
    summary = re.findall(r"stream: (\d[\d,]*) cycles, (\d[\d,]*) builds \((\d[\d,]*) failed\)", log.read_text())
    cycles, builds, failed = (int(n.replace(",", "")) for n in summary[-1]) if summary else (0, 0, 0)
    run.counts = {"cycles": cycles, "builds": builds, "failed_builds": failed}


@contextmanager
def via_dag(settings: Settings, topic: str) -> Iterator[Run]:
    """`airflow standalone` with lending_stream alone, from the moment its watcher holds the topic;
    its DAG runs once stopped, and a check that none of its processes outlived it."""
    compile_manifest(settings, "postgres")  # the DAG renders its tasks from it
    home = settings.logs_dir / f"{topic}-airflow"
    with standalone(replace(settings, kafka_topic=topic), [STREAM_DAG_FILE], home) as airflow:
        say(f"Airflow log: {airflow.log}; waiting for its watcher on {topic}")
        airflow.wait_until_ready()
        run = Run(partial(tree_rss_of, airflow.process.pid), airflow.log)
        started = len(processes_with_home(home))  # the check below sees them while they run
        yield run
    states = Counter(state for _, state in airflow.dag_runs(STREAM_DAG_ID))
    run.counts = {"dag_runs": sum(states.values()), "dag_run_states": dict(states),
                  "airflow_processes": started, "orphans": [p.pid for p in processes_with_home(home)]}  # fmt: skip


def process_rss(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


def tree_rss_of(pid: int) -> int:
    """RSS of pid and every process under it (Airflow's components and their task processes)."""
    return tree_rss(psutil.Process(pid))


def processes_with_home(home: Path) -> list[psutil.Process]:
    """Running processes started with AIRFLOW_HOME=home: none once standalone has been stopped."""
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.environ().get("AIRFLOW_HOME") == str(home):
                found.append(process)
    return found


def wait_for_text(log: Path, pattern: str, timeout: float, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if re.search(pattern, log.read_text()):
            return
        if proc.poll() is not None:
            raise SystemExit(f"lendflow stream exited:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {pattern!r} in {log}")


def duplicates(settings: Settings, topic: str) -> tuple[int, int]:
    """(fct_loans rows beyond one per loan, raw rows beyond one per offset of the topic)."""
    with psycopg.connect(settings.pg_dsn) as conn:
        fct = conn.execute("select count(*) - count(distinct loan_id) from marts.fct_loans").fetchone()
        raw = conn.execute(
            "select count(*) - count(distinct (kafka_partition, kafka_offset)) from raw.loan_events where topic = %s",
            (topic,),
        ).fetchone()
    return (fct[0] if fct else 0), (raw[0] if raw else 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="loans in the warehouse before the stream")
    parser.add_argument("--rate", type=float, default=200.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=300.0, help="how long the producer sends")
    parser.add_argument("--update-every", type=int, default=5, help="one message in N updates a loan (0: none)")
    parser.add_argument("--drain", type=float, default=120.0, help="seconds to wait for the last messages")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--via", choices=("stream", "dag"), default="stream",
        help="what keeps the marts fresh: `lendflow stream`, or the event-driven DAG lending_stream"
        " under `airflow standalone`",
    )  # fmt: skip
    parser.add_argument(
        "--no-vacuum", action="store_true",
        help="start the stream right after the full build: autovacuum's first pass over the new"
        " million-row tables then runs during the first cycles",
    )  # fmt: skip
    args = parser.parse_args()
    settings = own_warehouse(parser)
    kafka.start(settings)
    total = int(args.rate * args.seconds)
    name = f"bench-{args.rows}-seed{args.seed}-stream{total}"
    sample = generated_sample(settings, args.rows, args.seed, total, name=name)
    postgres.recreate_database(settings)
    say(f"warehouse of {args.rows:,} loans: landing, Python steps, full dbt build")
    land_file(sample / "loans.parquet", settings)
    python_steps.run(settings)
    run_dbt(["build", "--full-refresh"], settings)
    if not args.no_vacuum:
        say("VACUUM (ANALYZE): the warehouse at rest, as after autovacuum's first pass over its new tables")
        with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
            conn.execute("vacuum (analyze)")

    new = pq.read_table(sample / "stream.parquet").to_pylist()
    existing = pq.read_table(sample / "loans.parquet").slice(0, total).to_pylist()
    topic = f"bench-freshness-{uuid.uuid4().hex[:8]}"
    kafka.ensure_topic(settings, topic)
    watch, done = Watch(), threading.Event()
    with (via_dag if args.via == "dag" else via_stream)(settings, topic) as run:
        watcher = threading.Thread(target=watch_marts, args=(settings, watch, run.memory, done), daemon=True)
        watcher.start()
        say(f"sending {total:,} messages at {args.rate:,.0f}/s")
        produce(settings, topic, messages(new, existing, total, args.update_every), args.rate, watch)
        deadline = time.monotonic() + args.drain
        while time.monotonic() < deadline and any(s.on_dashboard is None for s in watch.sent):
            time.sleep(0.5)
        done.set()
        watcher.join()

    in_fct = [s.in_fct - s.at for s in watch.sent if s.in_fct is not None]
    on_dashboard = [s.on_dashboard - s.at for s in watch.sent if s.on_dashboard is not None]
    lost = sum(s.in_fct is None for s in watch.sent)
    fct_duplicates, raw_duplicates = duplicates(settings, topic)
    early = min(60.0, args.seconds / 5)
    memory = {f"{early:.0f} s": memory_at(watch.memory, early), "end": memory_at(watch.memory, args.seconds),
              "peak": max((rss for _, rss in watch.memory), default=0)}  # fmt: skip

    runner = "the lending_stream DAG (airflow standalone)" if args.via == "dag" else "lendflow stream"
    table = Table(title=f"{runner} on {args.rows:,} loans: {total:,} messages at {args.rate:,.0f}/s")
    for column in ("measure", "p50 s", "p95 s", "max s"):
        table.add_column(column)
    for label, values in (("send -> in fct_loans", in_fct), ("send -> dashboard totals", on_dashboard)):
        table.add_row(label, *(f"{v:.1f}" for v in percentiles(values)))
    Console().print(table)
    visible = [s.in_fct for s in watch.sent if s.in_fct is not None]
    throughput = len(visible) / (max(visible) - watch.sent[0].at) if visible else 0.0
    Console().print(
        f"{describe(run.counts)}, {throughput:,.0f} events/s landed and built;"
        f" {'Airflow process tree' if args.via == 'dag' else 'stream'} memory"
        f" {', '.join(f'{k} {v / 2**20:,.0f} MiB' for k, v in memory.items())};"
        f" lost {lost:,}, duplicated {fct_duplicates + raw_duplicates:,} (log: {run.log})"
    )
    results = RESULTS.with_name(f"freshness-{args.via}.json") if args.via != "stream" else RESULTS
    results.parent.mkdir(exist_ok=True)  # git-ignored: absent in a fresh clone
    results.write_text(json.dumps({
        "via": args.via, "rows": args.rows, "rate": args.rate, "seconds": args.seconds, "messages": total,
        "update_every": args.update_every, "load_average": os.getloadavg(),
        "send_to_fct_loans": dict(zip(("p50", "p95", "max"), percentiles(in_fct), strict=True)),
        "send_to_dashboard": dict(zip(("p50", "p95", "max"), percentiles(on_dashboard), strict=True)),
        **run.counts, "events_per_second": throughput,
        "memory_rss": memory,
        "lost": lost, "duplicated": {"fct_loans": fct_duplicates, "raw": raw_duplicates},
        "measured_at": datetime.now(UTC).isoformat(),
    }, indent=2) + "\n")  # fmt: skip
    return 1 if run.counts.get("orphans") else 0


def describe(counts: dict[str, Any]) -> str:
    """The runner's own counts in words: the stream's cycles and builds, or the DAG's runs."""
    if "dag_runs" in counts:
        states = ", ".join(f"{n:,} {state}" for state, n in sorted(counts["dag_run_states"].items()))
        orphans = counts["orphans"]
        stopped = counts["airflow_processes"] - len(orphans)
        left = f"; {stopped:,} of {counts['airflow_processes']:,} Airflow processes stopped" + (
            f", left running: {orphans}" if orphans else ""
        )
        return f"DAG runs {counts['dag_runs']:,} ({states or 'none'}){left}"
    return f"cycles {counts['cycles']:,}, builds {counts['builds']:,} ({counts['failed_builds']:,} failed)"


if __name__ == "__main__":
    sys.exit(main())
