"""The local broker's KRaft cluster id: the storage tool must accept every id the project makes."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from lendflow.services.kafka import cluster_id_from, usable_cluster_id

URL_SAFE_BASE64 = re.compile(r"[A-Za-z0-9_-]{22}")


@given(st.binary(min_size=16, max_size=16))
def test_an_id_is_22_url_safe_characters(raw: bytes) -> None:
    assert URL_SAFE_BASE64.fullmatch(cluster_id_from(raw))


@given(st.binary(min_size=16, max_size=16))
def test_an_id_is_usable_unless_it_starts_with_a_dash(raw: bytes) -> None:
    cluster_id = cluster_id_from(raw)
    assert usable_cluster_id(cluster_id) == (not cluster_id.startswith("-"))


def test_a_leading_dash_is_refused() -> None:
    # 0xf8 encodes to '-' as the first base64 character.
    assert cluster_id_from(b"\xf8" + bytes(15)).startswith("-")
    assert not usable_cluster_id(cluster_id_from(b"\xf8" + bytes(15)))
    assert not usable_cluster_id("")
