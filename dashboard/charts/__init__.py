"""The charts: pure functions from the marts' rows to Plotly figures, one module per page
(portfolio, answers, quality), all in one look (theme).

Each chart is titled by the question it answers (DATA.md, "Portfolio questions"), so a
page reads as the list of questions the portfolio team asks.
"""
