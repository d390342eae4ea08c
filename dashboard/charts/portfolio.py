"""The portfolio page's charts ("/"): the loans as they stand, filterable by state and year."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.theme import (
    GRADE_COLOURS,
    STATUS_COLOURS,
    TEMPLATE_JSON,
    empty_figure,
    layout_properties,
    themed,
)

QUESTIONS = {
    "amount_by_grade": "How is the loan amount distributed in each letter grade?",
    "income_vs_amount": "How does the loan amount relate to annual income, by loan status?",
    "loans_per_month": "How many loans were issued each month?",
    "avg_amount_by_state": "What is the average loan amount in each state, highest first?",
    "loans_by_grade": "What percentage of loans does each letter grade hold?",
}


MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def amount_by_grade(stats: pd.DataFrame) -> go.Figure:
    """Question 1: one box per letter grade, drawn from precomputed quartiles and fences."""
    question = QUESTIONS["amount_by_grade"]
    if stats.empty:
        return empty_figure(question)
    figure = go.Figure()
    for row in stats.sort_values("letter_grade").itertuples(index=False):
        figure.add_trace(
            go.Box(
                name=str(row.letter_grade),
                x=[str(row.letter_grade)],
                q1=[row.q1_loan_amount],
                median=[row.median_loan_amount],
                q3=[row.q3_loan_amount],
                lowerfence=[row.lower_fence],
                upperfence=[row.upper_fence],
                mean=[row.mean_loan_amount],
                boxmean=True,
                marker_color=GRADE_COLOURS.get(str(row.letter_grade)),
                hovertemplate=f"grade {row.letter_grade}: {int(row.loans):,} loans<extra></extra>",
            )
        )
    figure.update_layout(showlegend=False)
    figure.update_xaxes(title_text="letter grade")
    figure.update_yaxes(title_text="loan amount ($)", tickformat=",")
    return themed(figure, question, "box: quartiles; whiskers: 1.5 IQR; dashed: mean")


def typed_array(values: pd.Series) -> dict[str, str]:
    """Numbers as plotly.js's typed-array spec (little-endian float64, base64): a few
    characters per point and no per-number JSON encoding, the form Plotly itself sends."""
    array = np.ascontiguousarray(values.to_numpy(dtype="<f8"))
    return {"dtype": "f8", "bdata": base64.b64encode(array.tobytes()).decode("ascii")}


def income_vs_amount(sample: pd.DataFrame, scope_label: str) -> dict[str, Any]:
    """Question 2: a scatter of the bounded sample, one trace (colour) per loan status.

    Built as the plain figure dict plotly.js reads, not with graph_objects: for thousands of
    points Plotly's validation costs several times the query behind the chart, and this
    chart is redrawn on every state choice. (The tests check the dict against Plotly's schema.)
    """
    question = QUESTIONS["income_vs_amount"]
    if sample.empty:
        return dict(empty_figure(question).to_plotly_json())
    population = int(sample["loans_in_scope"].iloc[0])
    ordered = [s for s in STATUS_COLOURS if s in set(sample["loan_status"])]
    others = sorted(set(sample["loan_status"].dropna()) - set(ordered))
    traces = []
    for status in ordered + others:
        points = sample[sample["loan_status"] == status]
        traces.append(
            {
                # SVG, not WebGL: the sample is bounded (a few thousand points), and SVG draws
                # the same in every browser, GPU or not.
                "type": "scatter",
                "mode": "markers",
                "name": status,
                "x": typed_array(points["annual_inc"]),
                "y": typed_array(points["loan_amount"]),
                "marker": {"size": 5, "opacity": 0.6, "color": STATUS_COLOURS.get(status)},
                "hovertemplate": "income $%{x:,.0f}<br>amount $%{y:,.0f}<extra>" + status + "</extra>",
            }
        )
    subtitle = f"{scope_label}: a deterministic sample of {len(sample):,} of {population:,} loans"
    layout = {
        **layout_properties(question, subtitle, legend=True),
        "template": TEMPLATE_JSON,
        # Incomes run from a few hundred dollars to millions: a log axis keeps the bulk readable.
        "xaxis": {"title": {"text": "annual income ($, log scale)"}, "type": "log"},
        "yaxis": {"title": {"text": "loan amount ($)"}, "tickformat": ","},
        "legend": {"title": {"text": "loan status"}},
    }
    return {"data": traces, "layout": layout}


def loans_per_month(months: pd.DataFrame, year_label: str) -> go.Figure:
    """Question 3: bars of loans issued per month (a year's twelve months, or every month)."""
    question = QUESTIONS["loans_per_month"]
    if months.empty:
        return empty_figure(question)
    months = months.sort_values("month_start")
    single_year = months["issue_year"].nunique() == 1
    x = [MONTH_NAMES[m - 1] for m in months["issue_month"]] if single_year else months["month_start"]
    figure = go.Figure(
        go.Bar(
            x=x,
            y=months["loans"],
            customdata=months[["total_loan_amount"]],
            marker_color="#4575b4",
            hovertemplate="%{x}: %{y:,} loans, $%{customdata[0]:,.0f}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="month of issue")
    figure.update_yaxes(title_text="loans issued", tickformat=",")
    return themed(figure, question, year_label)


def avg_amount_by_state(states: pd.DataFrame) -> go.Figure:
    """Question 4: a bar per state, highest average first.

    A bar chart rather than a choropleth: Plotly's US map needs its outline file from a CDN,
    which an offline server (and a locked-down browser) cannot fetch.
    """
    question = QUESTIONS["avg_amount_by_state"]
    if states.empty:
        return empty_figure(question)
    ordered = states.sort_values(["avg_loan_amount", "addr_state"], ascending=[False, True])
    figure = go.Figure(
        go.Bar(
            x=ordered["addr_state"],
            y=ordered["avg_loan_amount"],
            customdata=ordered[["state_name", "loans"]],
            marker_color="#4575b4",
            hovertemplate="%{customdata[0]}: $%{y:,.0f} on average over %{customdata[1]:,} loans<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="state", categoryorder="array", categoryarray=list(ordered["addr_state"]))
    figure.update_yaxes(title_text="average loan amount ($)", tickformat=",")
    return themed(figure, question)


def loans_by_grade(grades: pd.DataFrame) -> go.Figure:
    """Question 5: the percentage of loans per letter grade, labelled on the bars."""
    question = QUESTIONS["loans_by_grade"]
    if grades.empty:
        return empty_figure(question)
    ordered = grades.sort_values("letter_grade")
    figure = go.Figure(
        go.Bar(
            x=ordered["letter_grade"],
            y=ordered["pct_of_loans"],
            text=[f"{pct:.1f}%" for pct in ordered["pct_of_loans"]],
            textposition="outside",
            customdata=ordered[["loans"]],
            marker_color=[GRADE_COLOURS.get(g, "#4575b4") for g in ordered["letter_grade"]],
            hovertemplate="grade %{x}: %{y:.1f}% (%{customdata[0]:,} loans)<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="letter grade")
    figure.update_yaxes(title_text="% of loans", ticksuffix="%", rangemode="tozero")
    return themed(figure, question)
