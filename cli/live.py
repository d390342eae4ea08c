"""The live view of a pipeline run: a line (and, on a terminal, a progress bar) per stage."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from orchestration.runner import RunSummary, TaskEvent, stage_of

ENDED = {"success", "skipped", "failed", "upstream_failed", "removed"}


@dataclass
class Stage:
    total: int
    done: int = 0
    failed: int = 0
    started: float | None = None
    closed: bool = False
    bar: TaskID | None = None
    states: dict[str, str] = field(default_factory=dict)


class LiveView:
    """Hears the run's plan and task events (orchestration.runner) and shows them to a person.

    A stage's line is printed when its last task ends; a failure is printed at once, in full.
    Bars only on a terminal, and not with --verbose (Airflow's log lines would tear them).
    """

    def __init__(self, console: Console, *, bars: bool = True) -> None:
        self.console = console
        self.stages: dict[str, Stage] = {}
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not (bars and console.is_terminal),
        )

    def __enter__(self) -> LiveView:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def plan(self, stages: dict[str, int]) -> None:
        for name, total in stages.items():
            stage = self.stages[name] = Stage(total)
            stage.bar = self.progress.add_task(name, total=total, start=False)

    def task(self, event: TaskEvent) -> None:
        name = stage_of(event.task_id)
        stage = self.stages.setdefault(name, Stage(total=1))
        if stage.started is None:
            stage.started = time.monotonic()
            if stage.bar is not None:
                self.progress.start_task(stage.bar)
        if event.state == "running":
            if stage.bar is not None:
                self.progress.update(stage.bar, description=f"{name}: {event.task_id}")
            return
        if event.error is not None:
            retried = event.state == "up_for_retry"
            verdict = "failed, will be retried" if retried else "failed"
            self.console.print(f"[red]✗ {escape(event.task_id)} {verdict}:[/red]")
            self.console.print(escape(event.error), soft_wrap=True, highlight=False)
        if event.state in ENDED:
            stage.states[event.task_id] = event.state
            stage.done = len(stage.states)
            stage.failed = sum(s == "failed" for s in stage.states.values())
            if stage.bar is not None:
                self.progress.update(stage.bar, completed=stage.done, description=name)
            if stage.done >= stage.total:
                self._close(name, stage)

    def finish(self, summary: RunSummary) -> None:
        """The stages whose every task did not end while we listened (not run, skipped upstream)."""
        for task_id, state in summary.task_states.items():
            self.stages.setdefault(stage_of(task_id), Stage(total=0)).states.setdefault(task_id, state)
        for name, stage in self.stages.items():
            if not stage.closed:
                stage.done = sum(s in {"success", "skipped"} for s in stage.states.values())
                stage.failed = sum(s not in {"success", "skipped"} for s in stage.states.values())
                self._close(name, stage)

    def _close(self, name: str, stage: Stage) -> None:
        stage.closed = True
        if stage.bar is not None:
            self.progress.remove_task(stage.bar)
        seconds = "" if stage.started is None else f" in {time.monotonic() - stage.started:.0f}s"
        mark = "[red]✗[/red]" if stage.failed else "[green]✓[/green]"
        failed = f", {stage.failed} failed or not run" if stage.failed else ""
        self.console.print(f"{mark} {name:<16} {stage.done}/{max(stage.total, stage.done)} tasks{failed}{seconds}")
