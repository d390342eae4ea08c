"""The business questions' texts: declared once in dbt's YAML, read by the dashboard and Spark."""

from __future__ import annotations

import yaml  # type: ignore[import-untyped]

from dashboard import figures
from lendflow.questions import QUESTIONS_YML, parse_questions, question_texts
from spark_jobs.questions import QUESTIONS


def test_every_question_mart_declares_its_question_in_dbt() -> None:
    models = yaml.safe_load(QUESTIONS_YML.read_text())["models"]
    marts = [model["name"] for model in models if model["name"].startswith("rpt_")]
    assert len(marts) == 5
    assert list(question_texts()) == marts
    assert all(text.endswith("?") for text in question_texts().values())


def test_the_spark_jobs_ask_dbts_questions_in_dbts_order() -> None:
    assert [question.mart for question in QUESTIONS] == list(question_texts())
    assert [question.text for question in QUESTIONS] == list(question_texts().values())


def test_the_dashboard_titles_each_answer_with_dbts_question() -> None:
    assert {f"rpt_{name}": text for name, text in figures.BUSINESS_QUESTIONS.items()} == question_texts()
    assert set(figures.ANSWER_FIGURES) == set(figures.BUSINESS_QUESTIONS)


def test_a_model_without_a_question_is_not_a_question() -> None:
    parsed = {
        "models": [
            {"name": "rpt_a", "config": {"meta": {"question": "Why?"}, "contract": {"enforced": True}}},
            {"name": "rpt_b", "config": {"contract": {"enforced": True}}},
            {"name": "rpt_c"},
        ]
    }
    assert parse_questions(parsed) == {"rpt_a": "Why?"}
