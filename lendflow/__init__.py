"""lendflow: a dbt-centric ELT warehouse for consumer-lending data."""
