"""Pure parts of landing and streaming: record boundaries, block scans, lineage, message text, the stop rule."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pyarrow as pa
import pytest

from ingestion.land import (
    OVERSIZE_REASON,
    VALUE_LIMIT,
    Record,
    Reject,
    last_record_end,
    numbered_lines,
    parse_block_fast,
    parse_lines,
    plain_lines,
    record_blocks,
    scan_block,
    suspect_lines,
)
from lendflow.raw_columns import RAW_COLUMNS
from streaming.consumer import EndTracker, as_text, copy_rows, is_eof
from streaming.producer import encode
from tests.fixtures.bad_inputs import GOOD, row

NAMES = list(RAW_COLUMNS)
ORDER = list(range(24))


@pytest.mark.parametrize(
    ("data", "end"),
    [
        (b"a,b\nc,d\n", 8),
        (b"a,b\nc,d", 4),
        (b'a,"b\nc",d\ne', 10),  # the first newline is inside quotes
        (b'a,"b\nc', 0),  # no record ends here yet
        (b'"x""y"\n"z', 7),
        (b"", 0),
    ],
)
def test_last_record_end_respects_quotes(data: bytes, end: int) -> None:
    assert last_record_end(data) == end


def test_record_blocks_cut_only_between_records() -> None:
    records = [b'1,"two\nlines",3\n', b"4,5,6\n", b'7,"8,""x""",9\n'] * 50
    data = b"".join(records)
    blocks = list(record_blocks(io.BytesIO(data), block_bytes=37))
    assert b"".join(blocks) == data
    for block in blocks:
        assert block.count(b'"') % 2 == 0 and block.endswith(b"\n")


@pytest.mark.parametrize(
    ("block", "exact", "multiline"),
    [
        (b'a,"b",c\n', False, False),
        (b'a,"x""y",c\n', False, False),
        (b'a,"multi\nline",c\n', False, True),
        (b'"ab"c,d\n', True, False),  # Arrow would quietly read `abc`
        (b'a,b"c,d\n', True, True),
        (b"a,\x00,b\n", True, False),
        # COPY would read these `Teacher`; the csv module keeps `Teacher""` and ` "Teacher"`, refuses `""Teacher`.
        (b'a,Teacher"",c\n', True, False),
        (b'a,""Teacher,c\n', True, False),
        (b'a, "Teacher",c\n', True, False),
        (b'"x""y","",""""\r\n"a,b"', False, False),  # escaped quotes, empty values, CRLF, no last newline
    ],
)
def test_scan_block_routes_doubtful_blocks_to_the_exact_path(block: bytes, exact: bool, multiline: bool) -> None:
    scan = scan_block(block)
    assert (scan.needs_exact_path, scan.newlines_in_values) == (exact, multiline)


def test_fast_parse_keeps_text_untouched() -> None:
    block = row((1, " padded "), (16, " 36 months"), (23, 'say "hi", twice')) + b"\n" + GOOD + b"\n"
    parsed = parse_block_fast(block, NAMES)
    assert parsed is not None
    table, _scan = parsed
    first = table.slice(0, 1).to_pylist()[0]
    assert (first["Emp Title"], first["Term"], first["Description"]) == (" padded ", " 36 months", 'say "hi", twice')
    assert first["Annual Inc Joint"] is None  # an empty field is NULL


@pytest.mark.parametrize(
    "block",
    [GOOD + b"\na,b\n", GOOD.replace(b"Teacher", b"Teach\xe9r") + b"\n", b"\n".join([GOOD, GOOD + b",x"]) + b"\n"],
)
def test_fast_parse_declines_what_it_cannot_vouch_for(block: bytes) -> None:
    assert parse_block_fast(block, NAMES) is None


def test_exact_path_numbers_lines_and_rows() -> None:
    lines = io.StringIO((GOOD + b"\n\na,b\n" + GOOD + b"\n").decode(), newline="")
    items = list(parse_lines(lines, ORDER, first_line=10, first_row=5))
    assert [type(i) for i in items] == [Record, Reject, Record]
    assert [i.row_number for i in items if isinstance(i, Record)] == [5, 7]
    reject = items[1]
    assert isinstance(reject, Reject) and reject.line_number == 12 and reject.reason == "expected 24 fields, found 2"


def test_numbered_lines_appends_to_the_original_bytes() -> None:
    block = GOOD + b"\n" + GOOD + b"\n"
    lines = plain_lines(block, scan_block(block))
    assert lines == [GOOD, GOOD]
    assert numbered_lines(lines, first_row=41) == GOOD + b",41\n" + GOOD + b",42\n"


@pytest.mark.parametrize(
    "block",
    [GOOD + b"\r\n", GOOD + b"\n\n" + GOOD + b"\n", b'a,"two\nlines"\n', b"\n" + GOOD + b"\n"],
)
def test_plain_lines_only_when_lines_are_records(block: bytes) -> None:
    assert plain_lines(block, scan_block(block)) is None


HUGE = b"x" * (VALUE_LIMIT + 1)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (row((1, "a, b")), None),  # 24 commas, one inside quotes: 24 fields, nothing suspect
        (b"a,b,c", "expected 24 fields, found 3"),
        (GOOD + b",extra", "expected 24 fields, found 25"),
        # 23 commas, as in a good line, but one of them inside quotes: 23 fields.
        (row((1, "a,b")).replace(b'"RENT",', b"", 1), "expected 24 fields, found 23"),
        (GOOD.replace(b"Teacher", b"Teach\xe9r"), "not valid UTF-8"),
        (GOOD.replace(b"Teacher", b"Tea\x00cher"), "NUL"),
        (GOOD.replace(b'"Teacher"', b'"Teach"er'), "malformed CSV"),
        (GOOD.replace(b"Teacher", HUGE), OVERSIZE_REASON),
        (b"\\.", "expected 24 fields, found 1"),  # COPY's end-of-data marker
    ],
)
def test_suspect_lines_finds_each_line_copy_could_refuse_or_misread(bad: bytes, reason: str | None) -> None:
    """In a block of good lines, exactly the bad one is sent to the exact path, which rejects it."""
    lines = [GOOD, row((23, 'say "hi", twice')), bad, GOOD, row((1, ""), quote_all=False)]
    block = b"\n".join(lines) + b"\n"
    scan = scan_block(block)
    assert plain_lines(block, scan) == lines
    assert suspect_lines(block, lines, scan) == ([] if reason is None else [2])
    items = list(parse_lines([bad.decode("utf-8", "surrogateescape") + "\n"], ORDER, first_line=9, first_row=8))
    if reason is None:
        assert [type(i) for i in items] == [Record]
    else:
        assert len(items) == 1 and isinstance(items[0], Reject) and reason in items[0].reason


@pytest.mark.parametrize("last_newline", [b"\n", b""])
def test_suspect_lines_of_a_clean_block_is_empty(last_newline: bytes) -> None:
    lines = [GOOD, row((1, "a, b"), (23, 'x""y')), row((5, ""), quote_all=False)] * 3
    block = b"\n".join(lines) + last_newline
    assert suspect_lines(block, lines, scan_block(block)) == []


def test_a_huge_value_rejects_its_record_on_the_exact_path() -> None:
    items = list(parse_lines([GOOD.replace(b"Teacher", HUGE).decode() + "\n", GOOD.decode() + "\n"], ORDER))
    assert [type(i) for i in items] == [Reject, Record]
    assert isinstance(items[0], Reject) and items[0].reason == OVERSIZE_REASON
    assert [i.row_number for i in items if isinstance(i, Record)] == [2]


# --- streaming ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "text", "raw"),
    [
        (None, None, None),
        (b"plain", "plain", None),
        (b"caf\xc3\xa9", "café", None),
        (b"caf\xe9", "caf\\xe9", b"caf\xe9"),
        (b"a\x00b", "a\\x00b", b"a\x00b"),
    ],
)
def test_as_text_keeps_the_exact_bytes_when_text_cannot(
    data: bytes | None, text: str | None, raw: bytes | None
) -> None:
    assert as_text(data) == (text, raw)


@pytest.mark.parametrize(
    ("value", "eof"), [(b"EOF", True), (b'"EOF"', True), (b"EOF\n", True), (b"EOFX", False), (None, False)]
)
def test_is_eof(value: bytes | None, eof: bool) -> None:
    assert is_eof(value) is eof


def test_end_tracker_stops_when_every_partition_is_done() -> None:
    tracker = EndTracker(assigned={0, 1, 2})
    tracker.reached_end(1)
    assert not tracker.done()  # no EOF yet: an idle topic is not the end of a run
    tracker.saw_message(0, b"EOF")
    assert not tracker.done()  # partition 2 may still hold data
    tracker.reached_end(2)
    assert tracker.done()  # a course-style single EOF, the others read to their end
    tracker.saw_message(2, b"{}")
    assert not tracker.done()  # new data on 2: not at its end any more


def test_end_tracker_is_caught_up_when_every_partition_is_read_to_its_end() -> None:
    tracker = EndTracker()
    assert not tracker.caught_up()  # nothing assigned yet: the group has not answered
    tracker.assign({0, 1})
    tracker.reached_end(0)
    assert not tracker.caught_up()
    tracker.reached_end(1)
    assert tracker.caught_up() and not tracker.done()  # caught up, though no EOF says the run ended
    assert tracker.stop_reason(caught_up_is_enough=True) == "caught-up"
    assert tracker.stop_reason(caught_up_is_enough=False) is None  # a replayed run waits for its EOF
    tracker.saw_message(0, b"EOF")
    assert tracker.stop_reason(caught_up_is_enough=True) == "eof"  # an EOF seen names the reason
    tracker.saw_message(1, b"{}")
    assert not tracker.caught_up()
    assert tracker.stop_reason(caught_up_is_enough=True) is None


def test_end_tracker_with_eof_on_every_partition() -> None:
    tracker = EndTracker(assigned={0, 1})
    tracker.saw_message(0, b"EOF")
    tracker.saw_message(1, b"EOF")
    assert tracker.done()


def _message(value: bytes | None, key: bytes | None = b"k", ts: tuple[int, int] = (1, 1_700_000_000_000)) -> object:
    return SimpleNamespace(
        topic=lambda: "t", partition=lambda: 2, offset=lambda: 7, key=lambda: key, value=lambda: value,
        timestamp=lambda: ts,
    )  # fmt: skip


def test_copy_rows_escapes_for_copy_text_format() -> None:
    rows = copy_rows([_message(b"a\tb\\c\nd"), _message(b"\xff", key=None, ts=(0, -1))])  # type: ignore[list-item]
    assert rows == (
        b"t\t2\t7\tk\t\\N\ta\\tb\\\\c\\nd\t\\N\t2023-11-14T22:13:20+00:00\nt\t2\t7\t\\N\t\\N\t\\\\xff\t\\\\xff\t\\N\n"
    )


def test_encode_keys_by_loan_id_and_keeps_values() -> None:
    key, value = encode({"Loan Id": 77, "Term": " 36 months", "Annual Inc Joint": None})
    assert key == b"77"
    assert value == b'{"Loan Id": 77, "Term": " 36 months", "Annual Inc Joint": null}'


def test_producer_sends_parquet_nan_as_null(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    from sample.table import generate_table
    from streaming.producer import read_batches

    table = generate_table(3, seed=1)
    rates = table.column("Int Rate").to_pylist()
    table = table.set_column(table.schema.get_field_index("Int Rate"), "Int Rate", pa.array([float("nan"), *rates[1:]]))
    pq.write_table(table, tmp_path / "s.parquet")
    records = [r for batch in read_batches(tmp_path / "s.parquet") for r in batch]
    assert records[0]["Int Rate"] is None
    assert encode(records[0])[1].count(b"NaN") == 0
