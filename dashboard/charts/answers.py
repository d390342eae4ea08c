"""The answers page's charts ("/answers"): the five business questions (DATA.md), each from
its rpt_ mart, titled with the question in dbt's words (lendflow.questions).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.theme import (
    GRADE_COLOURS,
    empty_figure,
    themed,
)
from lendflow.questions import question_texts

# Their texts are dbt's (lendflow.questions): answer name -> question, the mart being rpt_<name>.
BUSINESS_QUESTIONS = {mart.removeprefix("rpt_"): text for mart, text in question_texts().items()}
INCOME_BANDS = ("low", "medium", "high")
BAND_COLOURS = {"low": "#fdae61", "medium": "#74add1", "high": "#313695"}


def emp_length_order(value: object) -> tuple[int, str]:
    """'< 1 year' < '1 year' < ... < '10+ years'; anything else (e.g. 'unknown') last."""
    text = str(value)
    if text.startswith("<"):
        return (0, text)
    digits = "".join(ch for ch in text if ch.isdigit())
    return (int(digits) + 1, text) if digits else (99, text)


def _missing(frame: pd.DataFrame, question: str, *columns: str) -> go.Figure | None:
    """An explanatory empty chart if the mart lacks rows or a column this chart needs."""
    if frame.empty:
        return empty_figure(question, "This mart has no rows yet.")
    absent = [c for c in columns if c not in frame.columns]
    return empty_figure(question, f"The mart lacks column(s): {', '.join(absent)}") if absent else None


def defaults_by_emp_length_income(frame: pd.DataFrame) -> go.Figure:
    """Business question 1: two rows of grouped bars (amount, rate), one colour per income band."""
    from plotly.subplots import make_subplots

    question = BUSINESS_QUESTIONS["defaults_by_emp_length_income"]
    needed = ("emp_length", "income_band", "avg_loan_amount", "avg_int_rate", "defaulted_loans")
    if (problem := _missing(frame, question, *needed)) is not None:
        return problem
    lengths = sorted(frame["emp_length"].dropna().unique(), key=emp_length_order)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    bands = [b for b in INCOME_BANDS if b in set(frame["income_band"])]
    for band in bands:
        part = frame[frame["income_band"] == band].set_index("emp_length").reindex(lengths)
        common = {"name": f"{band} income", "x": lengths, "marker_color": BAND_COLOURS.get(band), "legendgroup": band}
        figure.add_trace(
            go.Bar(
                y=part["avg_loan_amount"],
                customdata=part[["defaulted_loans"]],
                hovertemplate="%{x}: $%{y:,.0f} over %{customdata[0]:,} defaulted loans<extra>" + band + "</extra>",
                **common,
            ),
            row=1,
            col=1,
        )
        figure.add_trace(
            go.Bar(
                y=100 * part["avg_int_rate"],
                showlegend=False,
                hovertemplate="%{x}: %{y:.2f}%<extra>" + band + "</extra>",
                **common,
            ),
            row=2,
            col=1,
        )
    figure.update_layout(barmode="group", legend_title_text="income band", height=520)
    figure.update_yaxes(title_text="avg loan amount ($)", tickformat=",", row=1, col=1)
    figure.update_yaxes(title_text="avg interest rate", ticksuffix="%", row=2, col=1)
    figure.update_xaxes(title_text="employment length", type="category", row=2, col=1)
    figure = themed(figure, question, "defaulted loans only; income bands: low < $50k <= medium < $200k <= high")
    figure.update_layout(height=520)
    return figure


def funding_gap_by_grade(frame: pd.DataFrame) -> go.Figure:
    """Business question 2: average funding gap per letter grade, in the mart's rank order."""
    question = BUSINESS_QUESTIONS["funding_gap_by_grade"]
    if (problem := _missing(frame, question, "letter_grade", "avg_funding_gap")) is not None:
        return problem
    ordered = frame.sort_values("gap_rank") if "gap_rank" in frame else frame
    figure = go.Figure(
        go.Bar(
            x=ordered["letter_grade"],
            y=ordered["avg_funding_gap"],
            marker_color=[GRADE_COLOURS.get(g, "#4575b4") for g in ordered["letter_grade"]],
            text=[f"${gap:,.2f}" for gap in ordered["avg_funding_gap"]],
            textposition="outside",
            hovertemplate="grade %{x}: $%{y:,.2f}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="letter grade (largest gap first)", type="category")
    figure.update_yaxes(title_text="avg loan - funded amount ($)", tickformat=",")
    return themed(figure, question)


def verified_amount_by_state(frame: pd.DataFrame) -> go.Figure:
    """Business question 3: total amount per state, verified next to not verified."""
    question = BUSINESS_QUESTIONS["verified_amount_by_state"]
    needed = ("addr_state", "verified_loan_amount", "not_verified_loan_amount")
    if (problem := _missing(frame, question, *needed)) is not None:
        return problem
    ordered = frame.assign(total=frame["verified_loan_amount"] + frame["not_verified_loan_amount"]).sort_values(
        ["total", "addr_state"], ascending=[False, True]
    )
    figure = go.Figure(
        [
            go.Bar(name="verified", x=ordered["addr_state"], y=ordered["verified_loan_amount"], marker_color="#1a9850"),
            go.Bar(
                name="not verified",
                x=ordered["addr_state"],
                y=ordered["not_verified_loan_amount"],
                marker_color="#d73027",
            ),
        ]
    )
    figure.update_layout(barmode="group", legend_title_text="verification")
    figure.update_xaxes(title_text="state (largest total first)", type="category")
    figure.update_yaxes(title_text="total loan amount ($)", tickformat=",")
    return themed(figure, question, "verified = Verified or Source Verified")


def issue_gap_by_grade(frame: pd.DataFrame) -> go.Figure:
    """Business question 4: average days between consecutive loans per letter grade."""
    question = BUSINESS_QUESTIONS["issue_gap_by_grade"]
    if (problem := _missing(frame, question, "letter_grade", "avg_gap_days")) is not None:
        return problem
    ordered = frame.sort_values("letter_grade")
    figure = go.Figure(
        go.Bar(
            x=ordered["letter_grade"],
            y=ordered["avg_gap_days"],
            marker_color=[GRADE_COLOURS.get(g, "#4575b4") for g in ordered["letter_grade"]],
            hovertemplate="grade %{x}: %{y:.2f} days<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="letter grade", type="category")
    figure.update_yaxes(title_text="avg gap (days)")
    return themed(figure, question, "consecutive = ordered by issue date, then loan id")


def amount_change_by_state_grade(frame: pd.DataFrame) -> go.Figure:
    """Business question 5: a state x grade heatmap of the average amount change, red = down."""
    question = BUSINESS_QUESTIONS["amount_change_by_state_grade"]
    if (problem := _missing(frame, question, "addr_state", "letter_grade", "avg_amount_change")) is not None:
        return problem
    grid = frame.pivot_table(index="addr_state", columns="letter_grade", values="avg_amount_change", aggfunc="first")
    grid = grid.sort_index(ascending=False)
    figure = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=list(grid.columns),
            y=list(grid.index),
            colorscale="RdBu",
            zmid=0,
            colorbar={"title": {"text": "$"}},
            hovertemplate="%{y}, grade %{x}: %{z:,.0f} $<extra></extra>",
            hoverongaps=False,
        )
    )
    figure.update_xaxes(title_text="letter grade", type="category")
    figure.update_yaxes(title_text="state", type="category", dtick=1, tickfont={"size": 9})
    figure = themed(figure, question, "current minus previous loan amount; blank = fewer than two loans")
    figure.update_layout(height=900)
    return figure


ANSWER_FIGURES = {
    "defaults_by_emp_length_income": defaults_by_emp_length_income,
    "funding_gap_by_grade": funding_gap_by_grade,
    "verified_amount_by_state": verified_amount_by_state,
    "issue_gap_by_grade": issue_gap_by_grade,
    "amount_change_by_state_grade": amount_change_by_state_grade,
}
