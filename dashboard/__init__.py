"""The Dash app over the marts."""
