"""The sample generator: raw loan files (CSV, Parquet, a stream sample) shaped as DATA.md describes.

distributions  the shapes read off the real data (weights, rates, missing shares), as constants
columns        the column draws, in dependency order, from those shapes
dirt           the free-text dirt of the real feed (case, stray spaces, dropped letters)
table          rows in independently seeded blocks -> chunks and tables; loan ids
files          loans and stream files (CSV, Parquet), written chunk by chunk: `write_sample`
"""
