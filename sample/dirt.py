"""The dirt the real feed carries in its free text, injected into the sample's text columns.

People type titles and descriptions in any case, with stray spaces and dropped letters; the
warehouse must clean them, so the sample carries them. Which rows get which dirt is drawn in
sample.columns (with shares from sample.distributions); these functions only apply it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def case_variants(text: pa.Array, style: np.ndarray) -> pa.Array:
    """Apply 0 = as is, 1 = lower, 2 = UPPER, 3 = Capitalized (first letter only) per row."""
    variants = [text, pc.utf8_lower(text), pc.utf8_upper(text), pc.utf8_capitalize(text)]
    out = variants[0]
    for code in (1, 2, 3):
        out = pc.if_else(pa.array(style == code), variants[code], out)
    return out


def pad(text: pa.Array, before: np.ndarray, after: np.ndarray) -> pa.Array:
    """Add a leading and/or trailing space where the masks say so."""
    space = pa.array(np.where(before, " ", ""), pa.string())
    trail = pa.array(np.where(after, " ", ""), pa.string())
    return pc.binary_join_element_wise(space, text, trail, "")


def drop_one_letter(rng: np.random.Generator, text: pa.Array, rows: np.ndarray) -> pa.Array:
    """Typos: drop one letter at a random inner position in the selected rows."""
    if not rows.any():
        return text
    values = text.to_pylist()
    idx = np.flatnonzero(rows)
    cuts = rng.random(idx.shape[0])
    for i, c in zip(idx.tolist(), cuts.tolist(), strict=True):
        s = values[i]
        if s is not None and len(s) > 4:
            p = 1 + int(c * (len(s) - 2))
            values[i] = s[:p] + s[p + 1 :]
    return pa.array(values, pa.string())
