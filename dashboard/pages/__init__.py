"""The dashboard's pages; each module's register() adds it to Dash Pages."""
