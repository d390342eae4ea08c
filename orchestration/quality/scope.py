"""What a run brought in: its batches, as the gates select them (pure functions, no I/O).

A gate judges the run's own batches, never the warehouse's history: raw.loans only grows
(the loader may only insert), so a gate reading all of it would fail every run after one
dirty file, for good. A run's batches are the files it landed (a file landed before is
skipped and brings no rows) and the stream messages it landed, by partition and offset.
Both come from the run folder's reports (landing.json, stream.json).

The SQL written here is plain enough for PostgreSQL and Spark SQL alike, and every value
put into it is checked against the shape it must have (a UUID, a SHA-256, a topic name):
nothing else reaches the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Kafka topic names are letters, digits, '.', '_' and '-' (and no '/', which record_ref uses).
_SHAPES = {
    "batch id": re.compile(r"[0-9a-fA-F-]{36}"),
    "sha256": re.compile(r"[0-9a-f]{64}"),
    "topic": re.compile(r"[A-Za-z0-9._-]{1,249}"),
}
NOTHING = "1 = 0"  # a predicate no row meets: the run brought nothing of this kind
STREAM_BATCH = "stream"  # the run's stream messages are judged as one batch
REJECTED_AT_LANDING = "rejected_at_landing"  # the reason counted for a file's unreadable lines


@dataclass(frozen=True)
class LandedFile:
    batch_id: str
    file_sha256: str
    source_file: str
    rows_rejected: int = 0


@dataclass(frozen=True)
class OffsetRange:
    """Offsets of one partition landed by the run: after < offset <= up_to."""

    partition: int
    after: int
    up_to: int


@dataclass(frozen=True)
class StreamWindow:
    topic: str
    ranges: tuple[OffsetRange, ...] = ()


@dataclass(frozen=True)
class RunBatches:
    files: tuple[LandedFile, ...] = ()
    stream: StreamWindow | None = None

    @property
    def names(self) -> dict[str, str]:
        """A readable name per batch key (file_sha256 or STREAM_BATCH), for messages."""
        found = {f.file_sha256: f.source_file for f in self.files}
        if self.stream is not None:
            found[STREAM_BATCH] = f"stream {self.stream.topic}"
        return found


def _literal(value: str, shape: str) -> str:
    if not _SHAPES[shape].fullmatch(value):
        raise ValueError(f"not a {shape}: {value!r}")
    return f"'{value}'"


def run_batches(landing: Iterable[Mapping[str, Any]], stream: Mapping[str, Any] | None) -> RunBatches:
    """The run's batches from its landing reports and its stream report (None: no stream step)."""
    files = tuple(
        LandedFile(str(r["batch_id"]), str(r["file_sha256"]), str(r["source_file"]), int(r.get("rows_rejected", 0)))
        for r in landing
        if not r.get("skipped")
    )
    window = None
    if stream is not None and stream.get("topic"):
        ranges = tuple(
            OffsetRange(int(partition), int(after), int(up_to))
            for partition, (after, up_to) in sorted((stream.get("landed_offsets") or {}).items())
            if int(up_to) > int(after)
        )
        window = StreamWindow(str(stream["topic"]), ranges)
    return RunBatches(files, window)


def landed_offset_ranges(before: Mapping[int, int], after: Mapping[int, int]) -> dict[str, list[int]]:
    """Per partition, the offsets landed between two looks at the highest landed offset.

    A partition nothing had landed from starts after -1. Keys are text: they go to JSON.
    """
    return {str(p): [before.get(p, -1), up_to] for p, up_to in sorted(after.items()) if up_to > before.get(p, -1)}


def in_list(column: str, values: Iterable[str], shape: str) -> str:
    literals = sorted({_literal(value, shape) for value in values})
    return f"{column} in ({', '.join(literals)})" if literals else NOTHING


def offsets_predicate(window: StreamWindow | None, topic: str, partition: str, offset: str) -> str:
    """Rows of the window, given the SQL expressions of their topic, partition and offset."""
    if window is None or not window.ranges:
        return NOTHING
    ranges = " or ".join(
        f"({partition} = {r.partition} and {offset} > {r.after} and {offset} <= {r.up_to})" for r in window.ranges
    )
    return f"({topic} = {_literal(window.topic, 'topic')} and ({ranges}))"


def raw_loans_where(batches: RunBatches) -> str:
    return in_list("_batch_id", (f.batch_id for f in batches.files), "batch id")


def loan_events_where(batches: RunBatches) -> str:
    return offsets_predicate(batches.stream, "topic", "kafka_partition", "kafka_offset")


def validated_records_where(batches: RunBatches) -> str:
    """The run's records in intermediate.int_loan_records_validated.

    A stream record's record_ref is 'kafka:<topic>/<partition>/<offset>'; topics hold no '/'.
    The casts sit inside a CASE on that prefix: PostgreSQL may evaluate a WHERE clause's terms
    in any order, and a file's record_ref cast to a number would raise.
    """
    files = in_list("file_sha256", (f.file_sha256 for f in batches.files), "sha256")

    def part(expression: str) -> str:
        return f"case when record_ref like 'kafka:%' then {expression} end"

    stream = offsets_predicate(
        batches.stream,
        part("split_part(substring(record_ref, 7), '/', 1)"),
        part("cast(split_part(record_ref, '/', 2) as int)"),
        part("cast(split_part(record_ref, '/', 3) as bigint)"),
    )
    return f"(record_source = 'batch' and {files}) or (record_source = 'stream' and {stream})"


def quarantine_counts_query(batches: RunBatches, relation: str = "intermediate.int_loan_records_validated") -> str:
    """Records per (batch, quarantine_reason) of the run: a batch is a file_sha256 or STREAM_BATCH."""
    return (
        f"select case when record_source = 'stream' then '{STREAM_BATCH}' else file_sha256 end as batch,"
        f" quarantine_reason, count(*) as records from {relation} where {validated_records_where(batches)}"
        " group by 1, 2"
    )


@dataclass(frozen=True)
class BatchQuarantine:
    batch: str  # the file or the stream, by name
    records: int
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def quarantined(self) -> int:
        return sum(self.reasons.values())

    @property
    def share(self) -> float:
        return self.quarantined / self.records if self.records else 0.0

    def top_reasons(self, n: int = 3) -> str:
        ranked = sorted(self.reasons.items(), key=lambda item: (-item[1], item[0]))[:n]
        return ", ".join(f"{reason} ({count:,})" for reason, count in ranked) or "none"


def batch_quarantines(batches: RunBatches, counts: Iterable[tuple[str, str | None, int]]) -> list[BatchQuarantine]:
    """Each batch of the run with its records and quarantine reasons, from the counts query's rows.

    A file's lines that landing rejected (unreadable as a record) count as quarantined too:
    they are records of the batch that reach no mart either.
    """
    records: dict[str, int] = {}
    reasons: dict[str, dict[str, int]] = {}
    for f in batches.files:
        records[f.file_sha256] = f.rows_rejected
        reasons[f.file_sha256] = {REJECTED_AT_LANDING: f.rows_rejected} if f.rows_rejected else {}
    for batch, reason, count in counts:
        records[batch] = records.get(batch, 0) + int(count)
        if reason is not None:
            found = reasons.setdefault(batch, {})
            found[reason] = found.get(reason, 0) + int(count)
    names = batches.names
    return [
        BatchQuarantine(names.get(batch, batch), records[batch], reasons.get(batch, {}))
        for batch in sorted(records, key=lambda b: names.get(b, b))
    ]
