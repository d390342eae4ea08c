"""The Plotly Dash app over the marts: data access (data.py), charts (charts/, gathered in figures.py), layout
(layout.py, pages/), callbacks (callbacks.py), serving (serve.py)."""
