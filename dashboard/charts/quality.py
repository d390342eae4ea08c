"""The quality page's charts ("/quality"): where the landed rows went."""

from __future__ import annotations

import plotly.graph_objects as go

from dashboard.charts.theme import (
    empty_figure,
    themed,
)


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
    figure = themed(
        figure,
        question,
        "arrived = rejected + refused + superseded (older records of a loan) + kept",
    )
    figure.update_layout(height=320)
    return figure
