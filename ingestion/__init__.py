"""Raw files -> raw tables, untouched (PostgreSQL and Spark staging)."""
