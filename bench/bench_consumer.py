"""Consumer speed: `lendflow consume` against a naive consumer and a read-only one, side by side.

    LENDFLOW_PG_DB=lendflow_bench .venv/bin/python bench/bench_consumer.py [--messages 1000000]

One topic holds the messages (the generated loans as JSON, as `lendflow produce` sends them,
then EOF on every partition); each consumer reads it from the start with a group of its own:

* read-only  confluent-kafka, batches, no database: the broker's and client's limit;
* lendflow   `streaming.consumer.consume`: COPY per batch, ON CONFLICT, offsets after commit;
* naive      one INSERT, one database COMMIT and one synchronous offset commit per message
             (the obvious exactly-once-ish loop); measured on the first --naive-messages only,
             since a million would take most of an hour.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from pathlib import Path

os.environ.setdefault("LENDFLOW_PG_DB", "lendflow_bench")

import psycopg
from confluent_kafka import Consumer, KafkaError
from rich.console import Console
from rich.table import Table

from lendflow import settings as config
from lendflow.raw_tables import ensure_raw_tables_exist
from lendflow.services import kafka, postgres
from lendflow.settings import Settings
from sample.files import write_sample
from streaming.consumer import consume
from streaming.producer import produce

console = Console()


def sample_file(settings: Settings, rows: int) -> Path:
    out = settings.data_dir / f"bench-stream-{rows}"
    path = out / "stream.csv"
    if not path.exists():
        console.print(f"generating {rows:,} stream loans into {out}")
        write_sample(out, rows=10, seed=2026, stream_rows=rows, formats=("csv",), progress=True)
    return path


def _consumer(settings: Settings) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"bench-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "queued.min.messages": 200_000,
            "fetch.max.bytes": 64 * 1024 * 1024,
        }
    )


def read_only(settings: Settings, topic: str, total: int) -> int:
    consumer = _consumer(settings)
    consumer.subscribe([topic])
    seen = 0
    try:
        while seen < total:
            for msg in consumer.consume(num_messages=10_000, timeout=1.0):
                if msg.error() is None:
                    msg.value()  # touch it, as every consumer does
                    seen += 1
    finally:
        consumer.close()
    return seen


def naive(settings: Settings, topic: str, limit: int) -> int:
    consumer = _consumer(settings)
    consumer.subscribe([topic])
    done = 0
    with psycopg.connect(settings.pg_dsn) as conn:
        try:
            while done < limit:
                msg = consumer.poll(1.0)
                if msg is None or (msg.error() is not None and msg.error().code() == KafkaError._PARTITION_EOF):
                    continue
                conn.execute(
                    "insert into raw.loan_events (topic, kafka_partition, kafka_offset, message_key, message_value,"
                    " message_timestamp) values (%s, %s, %s, %s, %s, to_timestamp(%s / 1000.0))"
                    " on conflict do nothing",
                    (
                        topic + "-naive",
                        msg.partition(),
                        msg.offset(),
                        msg.key() and msg.key().decode("utf-8", "backslashreplace"),
                        msg.value() and msg.value().decode("utf-8", "backslashreplace").replace("\x00", ""),
                        msg.timestamp()[1],
                    ),
                )
                conn.commit()
                consumer.commit(message=msg, asynchronous=False)
                done += 1
        finally:
            consumer.close()
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--naive-messages", type=int, default=20_000)
    args = parser.parse_args()

    settings = config.load()
    postgres.start(settings)
    kafka.start(settings)
    ensure_raw_tables_exist(settings)
    path = sample_file(settings, args.messages)
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    sent = produce(path, settings, topic, progress=True)
    total = sent.messages + sent.eof_markers
    console.print(sent.summary())

    results: list[tuple[str, int, float]] = []

    def measure(name: str, action) -> None:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        count = action()
        seconds = time.perf_counter() - started
        results.append((name, count, seconds))
        console.print(f"  {name:<10} {count:>10,} messages in {seconds:7.2f} s ({count / seconds:>9,.0f} msg/s)")

    measure("read-only", lambda: read_only(settings, topic, total))
    measure("lendflow", lambda: consume(settings, topic, group=f"bench-{uuid.uuid4().hex[:8]}", progress=False).landed)
    measure("naive", lambda: naive(settings, topic, args.naive_messages))
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:  # the benchmark's rows go again
        conn.execute("delete from raw.loan_events where topic in (%s, %s)", (topic, topic + "-naive"))

    rates = {name: count / seconds for name, count, seconds in results}
    table = Table(title=f"consumer, {total:,} messages on {settings.kafka_partitions} partitions")
    for column in ("consumer", "messages", "seconds", "msg/s", "lendflow's rate / this one's"):
        table.add_column(column, justify="right")
    for name, count, seconds in results:
        table.add_row(
            name, f"{count:,}", f"{seconds:.2f}", f"{rates[name]:,.0f}", f"{rates['lendflow'] / rates[name]:.2f}x"
        )
    console.print(table)
    console.print("targets: lendflow >= 30,000 msg/s and >= 20x the naive consumer")


if __name__ == "__main__":
    main()
