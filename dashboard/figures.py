"""The charts: pure functions from the marts' rows to Plotly figures.

Each chart is titled by the question it answers (DATA.md, "Portfolio questions"), so the
page reads as the list of questions the portfolio team asks.
"""

from __future__ import annotations

import base64
import textwrap
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from lendflow.questions import question_texts

QUESTIONS = {
    "amount_by_grade": "How is the loan amount distributed in each letter grade?",
    "income_vs_amount": "How does the loan amount relate to annual income, by loan status?",
    "loans_per_month": "How many loans were issued each month?",
    "avg_amount_by_state": "What is the average loan amount in each state, highest first?",
    "loans_by_grade": "What percentage of loans does each letter grade hold?",
}

GRADE_COLOURS = {
    "A": "#1a9850",
    "B": "#66bd63",
    "C": "#a6d96a",
    "D": "#fee08b",
    "E": "#fdae61",
    "F": "#f46d43",
    "G": "#d73027",
}
# Good news green, bad news red, waiting amber: the same colour for a status on every chart.
STATUS_COLOURS = {
    "Current": "#4575b4",
    "Fully Paid": "#1a9850",
    "In Grace Period": "#fee08b",
    "Late (16-30 days)": "#fdae61",
    "Late (31-120 days)": "#f46d43",
    "Charged Off": "#d73027",
    "Default": "#67001f",
}
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
NO_DATA = "No loans match this filter."
TITLE_WIDTH = 64  # characters per title line: a half-width chart on a laptop screen


# A small template of our own rather than "plotly_white": Plotly deep-copies the template
# into every figure and ships it to the browser, and the stock one is large enough to be
# most of a chart's build time and payload.
TEMPLATE = go.layout.Template(
    layout={
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"color": "#2a3f5f"},
        "colorway": ["#4575b4", "#1a9850", "#fdae61", "#d73027", "#74add1", "#f46d43", "#313695"],
        "hoverlabel": {"align": "left"},
        "xaxis": {"gridcolor": "#ebf0f8", "linecolor": "#ebf0f8", "zerolinecolor": "#ebf0f8", "automargin": True},
        "yaxis": {"gridcolor": "#ebf0f8", "linecolor": "#ebf0f8", "zerolinecolor": "#ebf0f8", "automargin": True},
    }
)


TEMPLATE_JSON = TEMPLATE.to_plotly_json()


def title_text(question: str, subtitle: str | None = None) -> str:
    """The question, wrapped to fit a half-width chart, then the subtitle in small type."""
    title = "<br>".join(textwrap.wrap(question, TITLE_WIDTH))
    return title if not subtitle else f"{title}<br><sup>{subtitle}</sup>"


def question_of(title: str) -> str:
    """The question back from a chart's title text (what the tests compare)."""
    return title.split("<sup>")[0].replace("<br>", " ").strip()


# Margins wide enough for what sits in them: the y axis' title and tick labels ("35,000"),
# and a legend of loan statuses on the right. The template's automargin widens a margin
# that is too narrow, but only by drawing the whole chart a second time, which was the
# largest single cost of a first load (the scatter's 2,000 points twice); margins that
# already fit make that second pass unnecessary, and automargin stays as the safety net.
MARGIN_LEFT = 76
MARGIN_RIGHT = 20
MARGIN_RIGHT_WITH_LEGEND = 190


def _layout_properties(question: str, subtitle: str | None = None, *, legend: bool = False) -> dict[str, Any]:
    """What every chart's layout shares: the question as title, template, margins, height."""
    title = title_text(question, subtitle)
    lines = title.count("<br>") + 1
    right = MARGIN_RIGHT_WITH_LEGEND if legend else MARGIN_RIGHT
    return {
        # The title sits in the top margin, which grows with the lines of a wrapped question.
        "title": {"text": title, "x": 0.01, "xanchor": "left"},
        "margin": {"l": MARGIN_LEFT, "r": right, "t": 40 + 22 * lines, "b": 50},
        "height": 420,
    }


def _layout(figure: go.Figure, question: str, subtitle: str | None = None) -> go.Figure:
    figure.update_layout(template=TEMPLATE, **_layout_properties(question, subtitle))
    return figure


def empty_figure(question: str, message: str = NO_DATA) -> go.Figure:
    """A titled chart with a message instead of data (an unknown filter value, an empty mart)."""
    figure = go.Figure()
    figure.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return _layout(figure, question)


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
    return _layout(figure, question, "box: quartiles; whiskers: 1.5 IQR; dashed: mean")


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
        **_layout_properties(question, subtitle, legend=True),
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
    return _layout(figure, question, year_label)


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
    return _layout(figure, question)


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
    return _layout(figure, question)


def bar_from_table(frame: pd.DataFrame, question: str, x: str, y: str, colour: str | None = None) -> go.Figure:
    """A titled bar chart of one mart's column against another (the business answers)."""
    if frame.empty or x not in frame or y not in frame:
        return empty_figure(question)
    if colour and colour in frame:
        figure = go.Figure()
        for value, part in frame.groupby(colour, sort=True):
            figure.add_trace(go.Bar(name=str(value), x=part[x].astype(str), y=part[y]))
        figure.update_layout(barmode="group", legend_title_text=colour.replace("_", " "))
    else:
        figure = go.Figure(go.Bar(x=frame[x].astype(str), y=frame[y], marker_color="#4575b4"))
    figure.update_xaxes(title_text=x.replace("_", " "), type="category")
    figure.update_yaxes(title_text=y.replace("_", " "), tickformat=",")
    return _layout(figure, question)


# --- the five business questions (DATA.md), answered by the rpt_ marts -----------------

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
    figure = _layout(figure, question, "defaulted loans only; income bands: low < $50k <= medium < $200k <= high")
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
    return _layout(figure, question)


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
    return _layout(figure, question, "verified = Verified or Source Verified")


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
    return _layout(figure, question, "consecutive = ordered by issue date, then loan id")


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
    figure = _layout(figure, question, "current minus previous loan amount; blank = fewer than two loans")
    figure.update_layout(height=900)
    return figure


ANSWER_FIGURES = {
    "defaults_by_emp_length_income": defaults_by_emp_length_income,
    "funding_gap_by_grade": funding_gap_by_grade,
    "verified_amount_by_state": verified_amount_by_state,
    "issue_gap_by_grade": issue_gap_by_grade,
    "amount_change_by_state_grade": amount_change_by_state_grade,
}


def landed_rows_flow(summary: dict[str, object]) -> go.Figure:
    """Data quality: where every arrived record went, one bar each; the last four add up to the first."""
    question = "Where did the landed rows go?"
    if not summary:
        return empty_figure(question, "Nothing landed yet.")

    def number(key: str) -> int:
        value = summary.get(key)
        return int(str(value)) if value is not None else 0

    rejected = number("rows_rejected")
    # Labels no longer than the longest one the figure's margin was measured for.
    steps = [
        ("arrived", number("rows_read") + number("stream_messages"), "#4575b4"),
        ("rejected at landing", rejected, "#d73027"),
        ("refused by checks", number("records_quarantined") - rejected, "#f46d43"),
        ("superseded", number("records_superseded"), "#abd9e9"),
        ("loans kept", number("loans"), "#1a9850"),
    ]
    counts = [value for _, value, _ in steps]
    figure = go.Figure(
        go.Bar(
            x=counts,
            y=[label for label, _, _ in steps],
            orientation="h",
            marker_color=[colour for _, _, colour in steps],
            text=[f"{count:,}" for count in counts],
            textposition="auto",
            hovertemplate="%{y}: %{x:,}<extra></extra>",
        )
    )
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(title_text="rows or records", tickformat=",")
    figure = _layout(
        figure,
        question,
        "arrived = rejected + refused + superseded (older records of a loan) + kept",
    )
    figure.update_layout(height=320)
    return figure


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
