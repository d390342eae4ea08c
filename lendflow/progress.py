"""Progress bars for long work: shown on a terminal, silent in logs and CI."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)


@contextmanager
def row_progress(
    description: str, total: int | None = None, *, enabled: bool = True
) -> Iterator[Callable[[int], None]]:
    """Yield an advance(n) callback; draws rows and rows/s only when stderr is a terminal."""
    if not (enabled and sys.stderr.isatty()):
        yield lambda _n: None
        return
    columns = [
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[progress.data.speed]{task.fields[rate]}"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task(description, total=total, rate="")
        pending = 0

        def advance(n: int) -> None:
            # Refreshing per row would cost more than the COPY itself; batch the updates.
            nonlocal pending
            pending += n
            if pending >= 10_000:
                progress.advance(task, pending)
                speed = progress.tasks[0].speed or 0
                progress.update(task, rate=f"{speed:,.0f} rows/s")
                pending = 0

        yield advance
        progress.advance(task, pending)
