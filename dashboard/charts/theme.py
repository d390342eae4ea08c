"""The look every chart shares: colours, the template, margins, and the question as title."""

from __future__ import annotations

import textwrap
from typing import Any

import plotly.graph_objects as go

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


def layout_properties(question: str, subtitle: str | None = None, *, legend: bool = False) -> dict[str, Any]:
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


def themed(figure: go.Figure, question: str, subtitle: str | None = None) -> go.Figure:
    figure.update_layout(template=TEMPLATE, **layout_properties(question, subtitle))
    return figure


def empty_figure(question: str, message: str = NO_DATA) -> go.Figure:
    """A titled chart with a message instead of data (an unknown filter value, an empty mart)."""
    figure = go.Figure()
    figure.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return themed(figure, question)
