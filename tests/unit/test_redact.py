"""Passwords never leave a DSN that is shown (lendflow/redact.py), for any password text.

Each property builds a DSN the way a user or lendflow writes one, then checks that libpq
reads the masked string as the same connection with the password replaced by ``***``: what
remains is exactly what was there, and nothing of the password is left.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from lendflow.redact import MASK, masked_dsn

# Any printable text: letters of any script, spaces, quotes, backslashes, @ : / ? & = #.
PASSWORDS = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40)
NAMES = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)
HOSTS = st.sampled_from(["127.0.0.1", "localhost", "db.example", "postgres"])
PORTS = st.integers(1, 65535).map(str)


def without_password(dsn: str) -> dict[str, str]:
    parts = conninfo_to_dict(dsn)
    parts.pop("password", None)
    return {key: str(value) for key, value in parts.items()}


def assert_only_the_password_is_masked(dsn: str, masked: str) -> None:
    assert conninfo_to_dict(masked).get("password") == MASK
    assert without_password(masked) == without_password(dsn)


@given(user=NAMES, password=PASSWORDS, host=HOSTS, port=PORTS, dbname=NAMES)
@example(user="lendflow", password="p@ss:w/rd?a=b&c d'e", host="127.0.0.1", port="55432", dbname="lendflow")
def test_a_uri_keeps_everything_but_its_password(user: str, password: str, host: str, port: str, dbname: str) -> None:
    # As settings.py writes them: the password percent-encoded.
    dsn = f"postgresql://{user}:{quote(password, safe='')}@{host}:{port}/{dbname}"
    masked = masked_dsn(dsn)
    assert masked == f"postgresql://{user}:{MASK}@{host}:{port}/{dbname}"
    assert_only_the_password_is_masked(dsn, masked)


@given(password=PASSWORDS, dbname=NAMES)
@example(password="a@b@c", dbname="wh")  # pragma: allowlist secret
@example(password="/ :", dbname="wh")
def test_a_uri_with_a_raw_password_hides_all_of_it(password: str, dbname: str) -> None:
    # Written by hand without percent-encoding (libpq would misread it): hide it all the same.
    dsn = f"postgres://u:{password}@db.example:5433/{dbname}"
    assert masked_dsn(dsn) == f"postgres://u:{MASK}@db.example:5433/{dbname}"


def uri_with_password_parameter(password: str) -> str:
    return f"postgresql://db.example/wh?sslmode=disable&password={quote(password, safe='')}&application_name=x"


@given(password=PASSWORDS, other=PASSWORDS)
def test_a_uri_password_parameter_is_masked(password: str, other: str) -> None:
    dsn = uri_with_password_parameter(password)
    masked = masked_dsn(dsn)
    assert masked == f"postgresql://db.example/wh?sslmode=disable&password={MASK}&application_name=x"
    assert masked == masked_dsn(uri_with_password_parameter(other))
    assert_only_the_password_is_masked(dsn, masked)


@given(user=NAMES, password=PASSWORDS, host=HOSTS, port=PORTS, dbname=NAMES)
def test_a_key_value_dsn_keeps_everything_but_its_password(
    user: str, password: str, host: str, port: str, dbname: str
) -> None:
    # As psycopg writes them: quoted and escaped where the value needs it.
    dsn = make_conninfo(host=host, port=port, user=user, password=password, dbname=dbname)
    masked = masked_dsn(dsn)
    assert masked == make_conninfo(host=host, port=port, user=user, password=MASK, dbname=dbname)
    assert_only_the_password_is_masked(dsn, masked)


@pytest.mark.parametrize(
    ("dsn", "masked"),
    [
        ("host=h password=secret dbname=wh", f"host=h password={MASK} dbname=wh"),
        ("host=h password='a b' dbname=wh", f"host=h password={MASK} dbname=wh"),  # pragma: allowlist secret
        ("password = 'it\\'s' host=h", f"password = {MASK} host=h"),  # pragma: allowlist secret
        ("password=a\\ b host=h", f"password={MASK} host=h"),
        ("host=h password='never closed dbname=wh", f"host=h password={MASK}"),
        ("host=h password='ends in a backslash\\", f"host=h password={MASK}"),
        ("host=h user=o'brien", "host=h user=o'brien"),
        ("postgresql://u@h:5432/wh", "postgresql://u@h:5432/wh"),
        ("postgresql://h/wh?pass%77ord=secret", f"postgresql://h/wh?pass%77ord={MASK}"),
        ("127.0.0.1:59092", "127.0.0.1:59092"),
        ("", ""),
    ],
)
def test_hand_written_dsns(dsn: str, masked: str) -> None:
    assert masked_dsn(dsn) == masked


@given(password=PASSWORDS)
def test_hand_quoted_key_value_passwords_leave_nothing_behind(password: str) -> None:
    quoted = "'" + password.replace("\\", "\\\\").replace("'", "\\'") + "'"
    assert masked_dsn(f"host=h password={quoted} dbname=wh") == f"host=h password={MASK} dbname=wh"
