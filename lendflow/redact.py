"""Passwords out of connection strings before they reach a terminal or a log.

Both of libpq's spellings are covered: URIs (``postgresql://user:secret@host/db``, and a
``password=`` query parameter) and key=value strings (``host=h password=secret``, also
quoted: ``password='...'``). Everything but the password stays as it was written, so the
masked string still tells which server, port, database and user are meant.

Where a string is malformed (an unencoded ``@`` in a URI's password, an unterminated quote)
the rule errs towards hiding more: the userinfo of a URI runs to its last ``@``, a quoted
value to the end of the string.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"

_URI_PREFIXES = ("postgresql://", "postgres://")

# One key=value pair of a libpq conninfo string: a value is single-quoted (backslash escapes
# inside, possibly unterminated) or runs to the next unescaped whitespace.
_KEY_VALUE = re.compile(
    r"(?P<key>[^\s=]+)(?P<equals>\s*=\s*)(?P<value>'(?:\\.|[^'\\])*(?:'|\\?\Z)|(?:\\.|[^\s\\])*\\?)",
    re.S,
)


def masked_dsn(dsn: str) -> str:
    """`dsn` with its password replaced by ``***``; anything else is returned unchanged."""
    if dsn.startswith(_URI_PREFIXES):
        return _masked_uri(dsn)
    return _KEY_VALUE.sub(_masked_pair, dsn)


def _masked_pair(match: re.Match[str]) -> str:
    if match["key"] != "password":
        return match[0]
    return f"{match['key']}{match['equals']}{MASK}"


def _masked_uri(uri: str) -> str:
    scheme, _, rest = uri.partition("://")
    userinfo, at, location = rest.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        rest = f"{user}:{MASK}@{location}"
    path, question, query = rest.partition("?")
    if question:
        query = "&".join(_masked_parameter(parameter) for parameter in query.split("&"))
    return f"{scheme}://{path}{question}{query}"


def _masked_parameter(parameter: str) -> str:
    """One ``key=value`` of a URI's query; libpq percent-decodes the key too."""
    key, equals, _ = parameter.partition("=")
    return f"{key}={MASK}" if equals and unquote(key) == "password" else parameter
