"""dbt in-process for long-lived callers: the project is parsed once and its manifest reused.

Each `dbt` command line starts Python, imports dbt and parses the project before it runs a
single node: seconds of fixed cost, which a process that builds every few seconds
(`lendflow stream`) cannot pay per build. A DbtSession runs dbt through its programmatic
runner (``dbtRunner``) and hands every invocation the manifest it parsed, parsing again only
when a file of the project changed (a fingerprint of the files' paths, sizes and mtimes).

dbt reads its connection from the environment (profiles/profiles.yml's ``env_var`` calls):
the session puts ``dbt_env()`` into this process's environment, so a process holds one
session, for one warehouse and target.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lendflow.dbt import DbtError, dbt_env
from lendflow.settings import DBT_PROJECT_DIR, PROFILES_DIR, Settings

log = logging.getLogger(__name__)

# dbt's own output and installed packages: they change with every run, the project does not.
_NOT_PROJECT = frozenset({"target", "logs", "dbt_packages"})
# Node statuses that mean "this node did not do its job" (a skipped node's upstream failed).
_FAILED = frozenset({"error", "fail", "runtime error", "skipped"})

FileStat = tuple[str, int, int]  # (path relative to the project, size, mtime in ns)


# --- pure helpers ----------------------------------------------------------
def fingerprint(files: Iterable[FileStat]) -> str:
    """One digest for the project's files: any file added, removed, resized or touched changes it."""
    digest = hashlib.sha256()
    for path, size, mtime_ns in sorted(files):
        digest.update(f"{path}\0{size}\0{mtime_ns}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class NodeFailure:
    node: str
    status: str
    message: str

    def __str__(self) -> str:
        return f"{self.node} {self.status}: {' '.join(self.message.split())}"


@dataclass(frozen=True)
class DbtOutcome:
    """What one invocation did: its nodes, the ones that failed and why, how long it took."""

    args: tuple[str, ...]
    success: bool
    nodes: int = 0
    failures: tuple[NodeFailure, ...] = ()
    error: str = ""  # dbt could not run at all (a compilation error, no connection)
    seconds: float = 0.0
    parsed: bool = False  # this invocation parsed the project first
    ended_at: float = 0.0  # wall clock (epoch seconds) when dbt returned

    def summary(self) -> str:
        verdict = "ok" if self.success else "FAILED"
        text = f"dbt {' '.join(self.args)}: {verdict}, {self.nodes} nodes in {self.seconds:.1f} s"
        problems = [str(failure) for failure in self.failures] + ([self.error] if self.error else [])
        return text + "".join(f"\n  {problem}" for problem in problems)


def failures_of(results: Iterable[Any]) -> tuple[NodeFailure, ...]:
    """The nodes of a dbt RunExecutionResult's results that failed, errored or were skipped."""
    return tuple(
        NodeFailure(result.node.name, str(result.status), result.message or "")
        for result in results
        if str(result.status) in _FAILED
    )


# --- the edges ---------------------------------------------------------------
def project_files(project_dir: Path = DBT_PROJECT_DIR) -> list[FileStat]:
    """Every file of the dbt project that parsing reads (dbt's output folders left out)."""
    found: list[FileStat] = []
    for directory, subdirs, names in os.walk(project_dir):
        subdirs[:] = [d for d in subdirs if d not in _NOT_PROJECT and not d.startswith(".")]
        for name in names:
            path = Path(directory) / name
            try:
                stat = path.stat()
            except FileNotFoundError:  # removed while we looked: the next look sees it gone
                continue
            found.append((str(path.relative_to(project_dir)), stat.st_size, stat.st_mtime_ns))
    return found


class DbtSession:
    """Runs dbt commands in this process against one warehouse, reusing the parsed manifest.

    target_path: where dbt writes its artifacts (default: the project's target/). A long-lived
    process should have its own, so a `dbt` command run beside it does not overwrite them.
    quiet: dbt prints only errors (its full log still goes to DBT_LOG_PATH).
    project_dir: the dbt project (another than lendflow's only in tests).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        target: str = "postgres",
        target_path: Path | None = None,
        quiet: bool = True,
        project_dir: Path = DBT_PROJECT_DIR,
    ) -> None:
        from dbt.cli.main import dbtRunner  # dbt takes seconds to import: only callers that run it pay

        self._runner_class = dbtRunner
        self._project_dir = project_dir
        self._common = ["--project-dir", str(project_dir), "--profiles-dir", str(PROFILES_DIR)]
        if target_path is not None:
            self._common += ["--target-path", str(target_path)]
        if quiet:
            self._common.append("--quiet")
        os.environ.update(dbt_env(settings, target))
        self._manifest: Any = None
        self._fingerprint = ""
        self.parses = 0

    def invoke(self, args: Sequence[str]) -> DbtOutcome:
        """Run `dbt <args>` (parsing first if the project changed); never raises for a dbt failure."""
        started = time.monotonic()
        parsed = False
        try:
            parsed = self._ensure_parsed()
        except DbtError as error:
            return DbtOutcome(
                tuple(args), False, error=str(error), seconds=time.monotonic() - started, parsed=True,
                ended_at=time.time(),
            )  # fmt: skip
        # A copy per invocation: dbt marks the nodes it compiles (ephemeral CTEs injected, and so
        # on), and a manifest reused as it was left fails the next run (a snapshot reading an
        # ephemeral model: "relation __dbt__cte__... does not exist").
        result = self._runner_class(manifest=copy.deepcopy(self._manifest)).invoke([*args, *self._common])
        results = list(getattr(result.result, "results", None) or [])
        return DbtOutcome(
            tuple(args),
            bool(result.success),
            nodes=len(results),
            failures=failures_of(results),
            error=_describe(result.exception) if result.exception else "",
            seconds=time.monotonic() - started,
            parsed=parsed,
            ended_at=time.time(),
        )

    def _ensure_parsed(self) -> bool:
        """Parse when there is no manifest or the project's files changed; whether it parsed."""
        current = fingerprint(project_files(self._project_dir))
        if self._manifest is not None and current == self._fingerprint:
            return False
        self._manifest = None  # a failed parse leaves none: the next invocation tries again
        result = self._runner_class().invoke(["parse", *self._common])
        if not result.success or result.result is None:
            raise DbtError(f"dbt parse failed: {_describe(result.exception) if result.exception else 'see its log'}")
        self._manifest, self._fingerprint = result.result, current
        self.parses += 1
        log.info("dbt: parsed the project (%d nodes)", len(self._manifest.nodes))
        return True


def _describe(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
