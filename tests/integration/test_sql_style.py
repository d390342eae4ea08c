"""The house style of the dbt SQL (STYLE.md), checked by sqlfluff with the dbt templater.

The templater compiles every model as dbt would, so it needs the warehouse the profile names:
the real PostgreSQL of the tests, in a fresh database, where incremental models render as
full builds (the layout of an `{% if is_incremental() %}` block is judged on that render).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lendflow.dbt import dbt_env
from lendflow.settings import DBT_PROJECT_DIR, Settings

pytestmark = pytest.mark.postgres


def test_models_and_tests_pass_sqlfluff(postgres: Settings, tmp_path: Path) -> None:
    sqlfluff = Path(sys.executable).parent / "sqlfluff"
    env = {**os.environ, **dbt_env(postgres), "DBT_TARGET_PATH": str(tmp_path / "target")}
    result = subprocess.run(
        [str(sqlfluff), "lint", "models", "tests", "--format", "json", "--processes", "2"],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    files = json.loads(result.stdout or "[]")
    assert len(files) > 30, result.stderr[-2000:]  # it really linted the project
    violations = [
        f"{entry['filepath']}:{v.get('start_line_no')} {v['code']} {v['description']}"
        for entry in files
        for v in entry["violations"]
    ]
    assert not violations, "\n".join(violations)
