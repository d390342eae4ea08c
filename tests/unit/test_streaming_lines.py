"""The producer's records: every CSV record of a file becomes one message, a ragged one as its exact bytes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lendflow.raw_columns import RAW_COLUMNS
from streaming.consumer import is_eof
from streaming.producer import ProducerError, Ragged, exact_items, message_of, read_batches
from tests.fixtures.bad_inputs import GOOD, GOOD_VALUES, HEADER, csv_cases, row

ORDER = list(range(len(RAW_COLUMNS)))
GOOD_RECORD = dict(zip(RAW_COLUMNS, [v or None for v in GOOD_VALUES], strict=True))

# Text a CSV field can hold and the landing keeps (no NUL; surrogates are not text).
field_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)
# Unquoted text of a field: nothing that quotes, separates or ends a line.
plain_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters='\x00",\r\n'), max_size=8)


def csv_line(values: list[str]) -> bytes:
    """One record as Python's csv module writes it (quoting only what needs it), no line end."""
    out = io.StringIO()
    csv.writer(out).writerow(values)  # its line end "\r\n" makes it quote values holding either
    return out.getvalue().removesuffix("\r\n").encode("utf-8")


good_records = st.lists(field_text, min_size=24, max_size=24)
wrong_field_counts = st.lists(field_text, min_size=1, max_size=40).filter(lambda f: len(f) != 24).map(csv_line)
not_utf8 = st.sampled_from([b"\xff", b"\xc0\xaf", b"\xe2\x82", b"\xe9", b"\xed\xa0\x80"]).map(
    lambda bad: GOOD.replace(b"Teacher", b"Tea" + bad + b"cher")
)
with_nul = plain_text.map(lambda text: row((1, "a\x00" + text)))
text_after_closing_quote = plain_text.filter(bool).map(lambda text: GOOD.replace(b'"Teacher"', b'"T"' + text.encode()))
ragged_lines = st.one_of(wrong_field_counts, not_utf8, with_nul, text_after_closing_quote)
line_ends = st.sampled_from([b"\n", b"\r\n"])


@st.composite
def records(draw: st.DrawFn) -> tuple[bytes, bytes | dict[str, str | None]]:
    """(the record's bytes, what it must become): a loan's dict, or its own bytes when it is ragged."""
    if draw(st.booleans()):
        values = draw(good_records)
        return csv_line(values), {name: value or None for name, value in zip(RAW_COLUMNS, values, strict=True)}
    line = draw(ragged_lines)
    return line, line


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(records(), line_ends), max_size=12), st.booleans())
@example([((b"a,b", b"a,b"), b"\n"), ((b"EOF", b"EOF"), b"\n")], False)
@example([((b'"Y2lk,"Teacher,unfinished', b'"Y2lk,"Teacher,unfinished'), b"\r\n")], True)
def test_every_record_becomes_one_item_and_a_ragged_one_keeps_its_bytes(
    lines: list[tuple[tuple[bytes, bytes | dict[str, str | None]], bytes]], blank_lines: bool
) -> None:
    blank = b"\n" if blank_lines else b""
    block = b"".join(blank + line + end for (line, _), end in lines)
    items = exact_items(block, ORDER, first_line=2)
    assert len(items) == len(lines)  # nothing dropped, nothing split
    for item, ((_, expected), _) in zip(items, lines, strict=True):
        if isinstance(expected, bytes):
            assert isinstance(item, Ragged) and item.raw == expected and item.reason
        else:
            assert item == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=200), st.integers(2, 10**6), st.text(min_size=1, max_size=40))
@example(b"EOF", 3, "expected 24 fields, found 1")
@example(b' "EOF" ', 3, "expected 24 fields, found 1")
def test_a_ragged_record_is_sent_as_its_bytes_and_never_as_the_end_marker(raw: bytes, line: int, reason: str) -> None:
    key, value, headers = message_of(Ragged(line, raw, reason))
    assert key is None  # no loan id can be trusted in a ragged line
    assert headers is not None and dict(headers) == {
        "lendflow-ragged-line": str(line).encode(),
        "lendflow-reason": reason.encode(),
    }
    assert not is_eof(value)
    if is_eof(raw):  # the stream's own end marker: carried inside a JSON object instead
        assert json.loads(value) == {"ragged_line": raw.decode(), "line_number": line, "reason": reason}
    else:
        assert value == raw


def test_a_loan_is_sent_keyed_by_its_id_without_headers() -> None:
    key, value, headers = message_of(GOOD_RECORD)
    assert (key, headers) == (b"77", None)
    assert json.loads(value) == GOOD_RECORD


@pytest.mark.parametrize("case", [c for c in csv_cases() if c.expected is not None], ids=lambda c: c.name)
def test_the_stream_reads_as_many_records_as_the_landing(case, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Same file, same rows on both routes: read = landed + rejected there, loans + ragged here."""
    path = tmp_path / "stream.csv"
    path.write_bytes(case.content)
    items = [item for batch in read_batches(path) for item in batch]
    read, _landed, rejected = case.expected
    assert len(items) == read
    ragged = [item for item in items if isinstance(item, Ragged)]
    assert len(ragged) == rejected
    for item in ragged:
        assert item.raw in case.content
        if case.reasons:
            assert case.reasons[item.line_number] in item.reason
    loans = [item for item in items if not isinstance(item, Ragged)]
    for (row_number, column), value in (case.values or {}).items():
        assert loans[row_number - 1][column] == value


@pytest.mark.parametrize("case", [c for c in csv_cases() if c.expected is None], ids=lambda c: c.name)
def test_a_file_whose_header_is_not_the_raw_columns_is_refused(case, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "stream.csv"
    path.write_bytes(case.content)
    with pytest.raises(ProducerError, match="header"):
        list(read_batches(path))


def test_a_clean_block_and_a_dirty_block_read_alike(tmp_path: Path) -> None:
    """Arrow reads the clean file, the strict parser the dirty one: the loans are the same."""
    lines = [GOOD, row((16, " 60 months")), row((1, "a, b"))]
    clean, dirty = tmp_path / "clean.csv", tmp_path / "dirty.csv"
    clean.write_bytes(b"\n".join([HEADER, *lines]) + b"\n")
    dirty.write_bytes(b"\n".join([HEADER, *lines, b"a,b"]) + b"\n")
    read_clean = [item for batch in read_batches(clean) for item in batch]
    read_dirty = [item for batch in read_batches(dirty) for item in batch]
    assert read_dirty == [*read_clean, Ragged(5, b"a,b", "expected 24 fields, found 2")]
    assert read_clean[0] == GOOD_RECORD  # text as it is (" 36 months"), an empty field as null
