"""`lendflow run` keeps Airflow's output off the terminal: orchestration.runner.output_to catches
every write to stdout and stderr, the process's own and its children's, into the run's log."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from orchestration.runner import stage_of, stage_plan

# Run in a process of its own: pytest's capture replaces sys.stdout, which a real run does not.
SCENARIO = """
import io, os, subprocess, sys
from pathlib import Path
from orchestration.runner import output_to

echo = io.StringIO() if sys.argv[2] == "echo" else None
with output_to(Path(sys.argv[1]), echo):
    print("python stdout", flush=True)
    print("python stderr", file=sys.stderr, flush=True)
    os.write(2, b"fd 2\\n")
    subprocess.run([sys.executable, "-c", "print('child process')"], check=True)
print("after")
if echo is not None:
    print(echo.getvalue(), end="")
"""
WRITTEN = "python stdout\npython stderr\nfd 2\nchild process\n"


def _scenario(log: Path, mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCENARIO, str(log), mode], capture_output=True, text=True, check=True, timeout=60
    )


def test_everything_written_goes_to_the_log_and_nothing_to_the_terminal(tmp_path: Path) -> None:
    log = tmp_path / "airflow.log"
    run = _scenario(log, "quiet")
    assert log.read_text() == WRITTEN
    assert (run.stdout, run.stderr) == ("after\n", "")


def test_verbose_echoes_the_log_live(tmp_path: Path) -> None:
    log = tmp_path / "airflow.log"
    run = _scenario(log, "echo")
    assert log.read_text() == WRITTEN
    assert run.stdout == "after\n" + WRITTEN


# A child that outlives the block holding stdout (multiprocessing's resource tracker does so
# after a run): its output stops going to the log, and the block ends at once, not when it exits.
OUTLIVED = """
import subprocess, sys, time
from pathlib import Path
from orchestration.runner import output_to

with output_to(Path(sys.argv[1])):
    print("before the child", flush=True)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(20)"])
started = time.time()
child.kill()
print(f"{started - float(sys.argv[2]):.1f}")
"""


def test_a_child_that_outlives_the_block_does_not_hold_it_open(tmp_path: Path) -> None:
    log = tmp_path / "airflow.log"
    started = time.time()
    run = subprocess.run(
        [sys.executable, "-c", OUTLIVED, str(log), str(started)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert log.read_text() == "before the child\n"
    assert float(run.stdout) < 10  # the child sleeps 20 s: the block did not wait for it


def test_the_stages_follow_the_pipeline() -> None:
    tasks = ["check_dashboard", "dbt.fct_loans.run", "dbt.fct_loans.test", "gate_marts", "gate_raw", "land_batch_files"]
    assert list(stage_plan(tasks).items()) == [
        ("land", 1),
        ("raw gate", 1),
        ("dbt models", 2),
        ("marts gate", 1),
        ("dashboard check", 1),
    ]
    assert stage_of("a_new_task") == "a_new_task"
