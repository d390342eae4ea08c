"""The charts of every page, importable from one place (the modules live in dashboard/charts/:
theme, portfolio, answers, quality), and warm_up, which builds one of each kind.
"""

from __future__ import annotations

import pandas as pd

from dashboard.charts.answers import (
    ANSWER_FIGURES,
    BUSINESS_QUESTIONS,
    amount_change_by_state_grade,
    defaults_by_emp_length_income,
    emp_length_order,
    funding_gap_by_grade,
    issue_gap_by_grade,
    verified_amount_by_state,
)
from dashboard.charts.portfolio import (
    MONTH_NAMES,
    QUESTIONS,
    amount_by_grade,
    avg_amount_by_state,
    income_vs_amount,
    loans_by_grade,
    loans_per_month,
)
from dashboard.charts.quality import landed_rows_flow
from dashboard.charts.theme import empty_figure, question_of, title_text

__all__ = [
    "ANSWER_FIGURES",
    "BUSINESS_QUESTIONS",
    "MONTH_NAMES",
    "QUESTIONS",
    "amount_by_grade",
    "amount_change_by_state_grade",
    "avg_amount_by_state",
    "defaults_by_emp_length_income",
    "emp_length_order",
    "empty_figure",
    "funding_gap_by_grade",
    "income_vs_amount",
    "issue_gap_by_grade",
    "landed_rows_flow",
    "loans_by_grade",
    "loans_per_month",
    "question_of",
    "title_text",
    "verified_amount_by_state",
    "warm_up",
]


def warm_up() -> None:
    """Build one chart of each kind from made-up rows, and throw them away.

    Plotly imports its validators on first use (over half a second); done once in the
    gunicorn master, before it forks, no user's first request pays for it.
    """
    empty_figure("warm-up")
    grades = pd.DataFrame({"letter_grade": ["A"], "loans": [1], "pct_of_loans": [100.0]})
    loans_by_grade(grades)
    amount_by_grade(
        grades.assign(
            mean_loan_amount=1.0,
            q1_loan_amount=1.0,
            median_loan_amount=1.0,
            q3_loan_amount=1.0,
            lower_fence=1.0,
            upper_fence=1.0,
        )
    )
    sample = pd.DataFrame(
        {"annual_inc": [1.0], "loan_amount": [1.0], "loan_status": ["Current"], "loans_in_scope": [1]}
    )
    income_vs_amount(sample, "warm-up")
    amount_change_by_state_grade(
        pd.DataFrame({"addr_state": ["CA"], "letter_grade": ["A"], "avg_amount_change": [1.0]})
    )
    defaults_by_emp_length_income(
        pd.DataFrame(
            {
                "emp_length": ["1 year"],
                "income_band": ["low"],
                "avg_loan_amount": [1.0],
                "avg_int_rate": [0.1],
                "defaulted_loans": [1],
            }
        )
    )
