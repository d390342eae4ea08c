"""The dashboard's charts, built from small frames shaped like the marts' rows."""

from __future__ import annotations

import base64
import datetime as dt

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard import figures
from dashboard.figures import BUSINESS_QUESTIONS, QUESTIONS, question_of


def _title(figure: object) -> str:
    return str(_validated(figure).layout.title.text)


def _validated(figure: object) -> go.Figure:
    """A figure built as a plain dict, checked against Plotly's schema (raises if invalid)."""
    return figure if isinstance(figure, go.Figure) else go.Figure(figure)


def _numbers(values: object) -> list[float]:
    """Numbers of a trace, sent as a list or as plotly.js's typed-array spec (base64 float64)."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)  # type: ignore[call-overload]


def _grade_stats() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "letter_grade": ["B", "A"],
            "loans": [10, 20],
            "mean_loan_amount": [12_000.0, 9_000.0],
            "min_loan_amount": [1_000.0, 1_000.0],
            "q1_loan_amount": [6_000.0, 5_000.0],
            "median_loan_amount": [11_000.0, 8_000.0],
            "q3_loan_amount": [18_000.0, 12_000.0],
            "max_loan_amount": [40_000.0, 30_000.0],
            "lower_fence": [1_000.0, 1_000.0],
            "upper_fence": [35_000.0, 22_000.0],
        }
    )


def test_box_per_grade_in_letter_order_from_precomputed_statistics() -> None:
    figure = figures.amount_by_grade(_grade_stats())
    assert question_of(_title(figure)) == QUESTIONS["amount_by_grade"]
    assert [trace.name for trace in figure.data] == ["A", "B"]
    box_a = figure.data[0]
    assert (box_a.q1[0], box_a.median[0], box_a.q3[0]) == (5_000.0, 8_000.0, 12_000.0)
    assert (box_a.lowerfence[0], box_a.upperfence[0]) == (1_000.0, 22_000.0)


def test_scatter_one_trace_per_status_and_says_how_much_it_sampled() -> None:
    sample = pd.DataFrame(
        {
            "loan_id": [1, 2, 3],
            "addr_state": ["CA"] * 3,
            "annual_inc": [50_000.0, 80_000.0, 120_000.0],
            "loan_amount": [5_000.0, 10_000.0, 20_000.0],
            "loan_status": ["Charged Off", "Current", "Current"],
            "loans_in_scope": [1_234] * 3,
        }
    )
    figure = _validated(figures.income_vs_amount(sample, "California"))
    # Legend in the fixed status order, whatever order the rows came in.
    assert [trace.name for trace in figure.data] == ["Current", "Charged Off"]
    assert sum(len(_numbers(trace.x)) for trace in figure.data) == 3
    assert _numbers(figure.data[0].x) == [80_000.0, 120_000.0]
    assert _numbers(figure.data[1].y) == [5_000.0]
    assert figure.layout.xaxis.type == "log"
    assert question_of(_title(figure)) == QUESTIONS["income_vs_amount"]
    assert "California: a deterministic sample of 3 of 1,234 loans" in _title(figure)


def test_monthly_bars_name_the_months_of_a_single_year() -> None:
    months = pd.DataFrame(
        {
            "issue_year": [2019] * 12,
            "issue_month": list(range(1, 13)),
            "month_start": pd.date_range("2019-01-01", periods=12, freq="MS"),
            "loans": list(range(12)),
            "total_loan_amount": [1.0] * 12,
        }
    )
    figure = figures.loans_per_month(months, "Loans issued in 2019")
    assert list(figure.data[0].x) == list(figures.MONTH_NAMES)
    assert list(figure.data[0].y) == list(range(12))
    assert "Loans issued in 2019" in _title(figure)


def test_states_highest_average_first() -> None:
    states = pd.DataFrame(
        {
            "addr_state": ["CA", "NY", "TX"],
            "state_name": ["California", "New York", "Texas"],
            "loans": [3, 2, 1],
            "avg_loan_amount": [10.0, 30.0, 20.0],
            "amount_rank": [3, 1, 2],
        }
    )
    figure = figures.avg_amount_by_state(states)
    assert list(figure.data[0].x) == ["NY", "TX", "CA"]
    assert list(figure.data[0].y) == [30.0, 20.0, 10.0]
    assert question_of(_title(figure)) == QUESTIONS["avg_amount_by_state"]


def test_grade_percentages_are_labelled() -> None:
    grades = pd.DataFrame({"letter_grade": ["B", "A"], "loans": [1, 3], "pct_of_loans": [25.0, 75.0]})
    figure = figures.loans_by_grade(grades)
    assert list(figure.data[0].x) == ["A", "B"]
    assert list(figure.data[0].text) == ["75.0%", "25.0%"]


@pytest.mark.parametrize(
    ("build", "question"),
    [
        (figures.amount_by_grade, QUESTIONS["amount_by_grade"]),
        (lambda frame: figures.income_vs_amount(frame, "All states"), QUESTIONS["income_vs_amount"]),
        (lambda frame: figures.loans_per_month(frame, "All years"), QUESTIONS["loans_per_month"]),
        (figures.avg_amount_by_state, QUESTIONS["avg_amount_by_state"]),
        (figures.loans_by_grade, QUESTIONS["loans_by_grade"]),
        *[(figures.ANSWER_FIGURES[name], question) for name, question in BUSINESS_QUESTIONS.items()],
    ],
)
def test_no_rows_still_draws_a_titled_chart_with_a_message(build: object, question: str) -> None:
    figure = _validated(build(pd.DataFrame()))  # type: ignore[operator]
    assert question_of(_title(figure)) == question
    assert len(figure.data) == 0
    assert figure.layout.annotations[0].text


def test_long_questions_wrap_and_unwrap_to_the_same_words() -> None:
    question = BUSINESS_QUESTIONS["amount_change_by_state_grade"]
    title = figures.title_text(question, "a subtitle")
    assert "<br>" in title.split("<sup>")[0]
    assert question_of(title) == question


def test_employment_lengths_sort_by_years() -> None:
    values = ["10+ years", "2 years", "< 1 year", "unknown", "1 year"]
    assert sorted(values, key=figures.emp_length_order) == ["< 1 year", "1 year", "2 years", "10+ years", "unknown"]


def test_defaults_answer_has_amount_and_rate_per_band() -> None:
    frame = pd.DataFrame(
        {
            "emp_length": ["1 year", "< 1 year", "1 year"],
            "income_band": ["low", "low", "high"],
            "defaulted_loans": [3, 2, 1],
            "avg_loan_amount": [1_000.0, 2_000.0, 3_000.0],
            "avg_int_rate": [0.1, 0.2, 0.3],
        }
    )
    figure = figures.defaults_by_emp_length_income(frame)
    low_amount, low_rate = (trace for trace in figure.data if trace.legendgroup == "low")
    assert list(low_amount.x) == ["< 1 year", "1 year"]
    assert list(low_amount.y) == [2_000.0, 1_000.0]
    assert [round(v, 6) for v in low_rate.y] == [20.0, 10.0]


def test_a_mart_missing_a_column_is_explained_not_crashed_on() -> None:
    figure = figures.issue_gap_by_grade(pd.DataFrame({"letter_grade": ["A"]}))
    assert "avg_gap_days" in figure.layout.annotations[0].text


def test_rows_flow_reconciles_every_record_of_both_sources() -> None:
    summary = {
        "rows_read": 10,
        "rows_landed": 9,
        "rows_rejected": 1,
        "stream_messages": 5,
        "records_quarantined": 3,  # the rejected line and two refused records
        "records_superseded": 4,
        "loans": 8,
        "built_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    }
    arrived, rejected, refused, superseded, kept = figures.landed_rows_flow(summary).data[0].x
    assert (arrived, rejected, refused, superseded, kept) == (15, 1, 2, 4, 8)
    assert arrived == rejected + refused + superseded + kept
