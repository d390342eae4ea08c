"""The business questions, in the words dbt declares them: each question mart's
``config.meta.question`` in dbt_project/models/marts/questions/_questions__models.yml.

The dashboard titles its charts with these texts and the Spark jobs print them, so the
warehouse's docs, the dashboard and the Spark comparison say the same words. They are read
from the YAML itself rather than from a compiled manifest, as lendflow.warehouse_rules reads
dbt_project.yml: the dashboard and the CLI then start without a `dbt parse` before them.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from lendflow.settings import DBT_PROJECT_DIR

QUESTIONS_YML = DBT_PROJECT_DIR / "models" / "marts" / "questions" / "_questions__models.yml"


def parse_questions(models_yml: dict[str, Any]) -> dict[str, str]:
    """mart name -> its question, in the file's order, from a parsed models YAML."""
    return {
        model["name"]: str(model["config"]["meta"]["question"])
        for model in models_yml.get("models", [])
        if "question" in ((model.get("config") or {}).get("meta") or {})
    }


@cache
def question_texts(path: Path = QUESTIONS_YML) -> dict[str, str]:
    """mart name (e.g. 'rpt_funding_gap_by_grade') -> the question it answers."""
    with path.open() as handle:
        return parse_questions(yaml.safe_load(handle))
