"""The sample generator: raw loan files (CSV, Parquet, a stream sample) shaped as DATA.md describes."""
