"""`lendflow stream`: land the topic continuously and keep the marts up to date after every batch.

One cycle:

1. land what has arrived on the topic (waiting up to the poll interval for a first message),
   exactly once (streaming.micro_batches: one transaction per batch, offsets after it);
2. if anything landed, or an earlier build is still owed: the Python steps map the batch's
   new job titles (python_steps.run.StreamSteps: nothing is refitted, and only the batch is
   read), then dbt builds the stream path (the `stream_path` selector: staging of events ->
   intermediate incrementals -> fct_loans -> the aggregate tables the marts read, with their
   data tests) in this process, with the manifest parsed once (lendflow.dbt_session);
3. every `periodic_every` builds, the periodic lane: before the build, the Python steps on
   everything landed when a batch file was landed meanwhile; after it, the
   `stream_periodic_data` selector: the models that cost a scan of every loan whatever the
   batch (tagged `periodic`) and every data test; the whole `stream_periodic` selector (the
   views and the unit tests too) the first time and whenever the project was parsed since it
   last passed.

A cycle with nothing new runs no dbt at all. The first cycle builds whatever landed: a build
owed by a process killed before it finished is owed to the next one (the events are landed and
their offsets committed, so Kafka will not deliver them again). A failed build (dbt, or the
Python steps) is reported and owed: landing goes on, and the next cycle builds again. On a
warehouse never built, the first build is the whole project (seeds and all).

SIGTERM or Ctrl-C stops the process after the current cycle.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from lendflow.db import connect
from lendflow.dbt_session import DbtOutcome, DbtSession
from lendflow.settings import Settings
from python_steps import run as python_steps
from streaming.consumer import stop_on_signals
from streaming.micro_batches import MicroBatch, MicroBatches, SentRange

log = logging.getLogger(__name__)

SELECTOR = "stream_path"
STREAM_BUILD = ("build", "--selector", SELECTOR)
WHOLE_BUILD = ("build",)
PERIODIC_BUILD = ("build", "--selector", "stream_periodic")
PERIODIC_DATA_BUILD = ("build", "--selector", "stream_periodic_data")


@dataclass(frozen=True)
class StreamOptions:
    topic: str | None = None
    group: str | None = None  # default: the warehouse's own (streaming.consumer.default_group)
    poll_interval: float = 1.0
    periodic_every: int = 20  # builds; 0: never
    max_batch: int = 100_000
    max_cycles: int | None = None
    until_idle: bool = False  # stop once everything on the topic has landed and been built

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> StreamOptions:
        defaults = cls(
            poll_interval=settings.stream_poll_interval,
            periodic_every=settings.stream_periodic_every,
            max_batch=settings.stream_max_batch,
        )
        return replace(defaults, **{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Freshness:
    """How old the landed messages were when the marts that count them were built, in seconds."""

    newest: float  # the youngest message of the build
    oldest: float  # the oldest one: the longest any message of the build waited


def freshness_at(built_at_ms: int, sent: SentRange) -> Freshness:
    """Ages at build time; never negative (a producer's clock ahead of ours is not "from the future")."""
    oldest_ms, newest_ms = sent
    return Freshness(
        newest=max(0.0, (built_at_ms - newest_ms) / 1000),
        oldest=max(0.0, (built_at_ms - oldest_ms) / 1000),
    )


def widen(owed: SentRange | None, sent: SentRange | None) -> SentRange | None:
    """The send times of the messages landed but not yet built: the union of both ranges."""
    if owed is None or sent is None:
        return owed or sent
    return (min(owed[0], sent[0]), max(owed[1], sent[1]))


def periodic_lane(parses: int, lane_passed_on_parse: int | None) -> tuple[str, ...]:
    """The whole periodic lane when the project was parsed since it last passed (or it never
    has), else its data part: views and unit tests would find what they found last time."""
    return PERIODIC_DATA_BUILD if parses == lane_passed_on_parse else PERIODIC_BUILD


def periodic_due(builds: int, every: int) -> bool:
    """After the every-th successful build, and each every builds after it."""
    return every > 0 and builds > 0 and builds % every == 0


@dataclass(frozen=True)
class CycleReport:
    number: int
    batch: MicroBatch
    land_seconds: float
    build: DbtOutcome | None = None  # None: no dbt (nothing new and nothing owed, or the Python steps failed)
    periodic: DbtOutcome | None = None  # the periodic lane, when it ran
    freshness: Freshness | None = None  # after a successful build of messages with send times
    error: str = ""  # why the build failed (dbt's failures, or the Python steps' error)
    seconds: float = 0.0

    def line(self) -> str:
        """One log line: what the cycle landed and built, and how fresh that left the marts."""
        text = f"cycle {self.number}: landed {self.batch.landed:,} of {self.batch.messages:,} messages"
        if self.error and self.build is None:
            text += ", build FAILED before dbt"
        if self.build is not None:
            verdict = "built" if self.build.success else "build FAILED"
            text += f", {verdict} {self.build.nodes} nodes in {self.build.seconds:.1f} s"
            if self.build.parsed:
                text += " (parsed the project first)"
        if self.periodic is not None:
            verdict = "passed" if self.periodic.success else "FAILED"
            text += f", periodic lane {verdict} ({self.periodic.nodes} nodes in {self.periodic.seconds:.1f} s)"
        if self.freshness is not None:
            text += f"; freshness {self.freshness.newest:.1f} s (oldest message {self.freshness.oldest:.1f} s)"
        return text + f"; cycle {self.seconds:.1f} s"


@dataclass
class StreamState:
    """What the process has done so far: what the progress view shows."""

    started: float = field(default_factory=time.monotonic)
    cycles: int = 0
    builds: int = 0  # successful ones
    failed_builds: int = 0
    messages: int = 0
    landed: int = 0
    last: CycleReport | None = None
    last_build: DbtOutcome | None = None
    last_freshness: Freshness | None = None
    last_error: str = ""
    stopped_by: str = ""
    doing: str = "starting"  # what the process is doing now, for the live view

    def events_per_second(self, now: float | None = None) -> float:
        elapsed = (time.monotonic() if now is None else now) - self.started
        return self.landed / elapsed if elapsed > 0 else 0.0

    def summary(self) -> str:
        return (
            f"{self.cycles:,} cycles, {self.builds:,} builds ({self.failed_builds:,} failed), "
            f"landed {self.landed:,} of {self.messages:,} messages; stopped by {self.stopped_by}"
        )


def warehouse_built(settings: Settings) -> bool:
    """Whether fct_loans exists: the stream path's builds need the rest of the project built once."""
    with connect(settings, role="transformer") as conn:
        return conn.execute("select to_regclass('marts.fct_loans') is not null").fetchone() == (True,)


class StreamBuilder:
    """Brings the marts up to date after a landed batch: the Python steps, then dbt in-process."""

    def __init__(self, settings: Settings, session: DbtSession, periodic_every: int) -> None:
        self._settings = settings
        self._session = session
        self._periodic_every = periodic_every
        self._steps = python_steps.StreamSteps(settings)
        self._built_once = warehouse_built(settings)
        self._lane_passed_on_parse: int | None = None  # the session's parse count when the full lane last passed

    def build(
        self, builds_before: int, message_values: Sequence[str | None] = ()
    ) -> tuple[DbtOutcome | None, DbtOutcome | None, str]:
        """(the build, the periodic lane if due, why it failed or ""); the build is None when
        the Python steps failed before it. Never raises for a failed build."""
        periodic = periodic_due(builds_before + 1, self._periodic_every)
        try:
            if not self._steps.caught_up or (periodic and self._steps.files_changed()):
                self._steps.catch_up()
            else:
                self._steps.add_batch(message_values)
        except Exception as error:  # the build must never stop landing: report it, build again next cycle
            return None, None, f"python steps failed: {' '.join(str(error).split()) or type(error).__name__}"
        build = self._session.invoke(STREAM_BUILD if self._built_once else WHOLE_BUILD)
        if not build.success:
            return build, None, build.summary()
        self._built_once = True
        if not periodic:
            return build, None, ""
        lane = self._session.invoke(periodic_lane(self._session.parses, self._lane_passed_on_parse))
        if lane.success and lane.args == PERIODIC_BUILD:
            self._lane_passed_on_parse = self._session.parses
        return build, lane, "" if lane.success else lane.summary()


def run_stream(
    settings: Settings,
    options: StreamOptions,
    *,
    on_cycle: Callable[[StreamState], None] = lambda _state: None,
    on_build: Callable[[StreamState], None] = lambda _state: None,
    stop: threading.Event | None = None,
    target_path: Path | None = None,
) -> StreamState:
    """Run cycles until stopped (signal, max_cycles, or until_idle); on_cycle hears each one
    when it ends, on_build when its build starts."""
    stop = stop or threading.Event()
    state = StreamState()
    session = DbtSession(settings, target_path=target_path or settings.home / "stream" / settings.pg_db / "target")
    builder = StreamBuilder(settings, session, options.periodic_every)
    owed = True  # the first cycle builds: see the module's docstring
    unbuilt: SentRange | None = None
    with (
        stop_on_signals(stop, "cycle"),
        MicroBatches(settings, options.topic, group=options.group, max_messages=options.max_batch) as batches,
    ):
        while not stop.is_set():
            started = time.monotonic()
            batch = batches.next(wait=options.poll_interval)
            landed_at = time.monotonic()
            state.cycles += 1
            state.messages += batch.messages
            state.landed += batch.landed
            owed = owed or batch.messages > 0
            unbuilt = widen(unbuilt, batch.sent)
            report = CycleReport(state.cycles, batch, landed_at - started)
            if owed:
                state.doing = f"building (cycle {state.cycles}, {batch.messages:,} new messages)"
                on_build(state)
                build, lane, error = builder.build(state.builds, batch.values)
                built = build is not None and build.success
                # at the end of the build that put them in the marts (the periodic lane comes after)
                fresh = freshness_at(int(build.ended_at * 1000), unbuilt) if build and built and unbuilt else None
                report = replace(report, build=build, periodic=lane, freshness=fresh, error=error)
                state.last_build = build or state.last_build
                if built:
                    owed, unbuilt = False, None
                    state.builds += 1
                    state.last_freshness = fresh or state.last_freshness
                else:
                    state.failed_builds += 1
                if error:
                    state.last_error = error
                    log.error("cycle %d: %s", state.cycles, error)
            state.last = replace(report, seconds=time.monotonic() - started)
            state.doing = "waiting for messages"
            on_cycle(state)
            if options.max_cycles is not None and state.cycles >= options.max_cycles:
                state.stopped_by = "max-cycles"
                break
            if options.until_idle and not owed and batch.messages == 0 and batches.caught_up():
                state.stopped_by = "idle"
                break
        else:
            state.stopped_by = "signal"
    log.info("stream: %s", state.summary())
    return state
